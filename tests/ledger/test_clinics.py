"""Multi-clinic offices: the selected clinics make tasks, and every task and list shows its clinic."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
from rules.builders import AS_OF, TZ, World, at, day
from odexport import COLUMNS, mini_practice, write_export, write_table

from pms_bridge.config import ConfigError, load_config
from pms_bridge.pipeline import run_sync
from pms_bridge.rules import Snapshot, evaluate
from pms_bridge.rules.clinics import UnknownClinic, resolve_clinics
from pms_bridge.sinks.files import CSV_COLUMNS

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "src/pms_bridge/sinks/tasks.schema.json").read_text())
KNOWN = {"3": {"MAIN", "Main Street"}, "4": {"Oak Grove"}}


@pytest.mark.parametrize(("selection", "ids"), [
    (["main"], {"3"}), (["Main Street"], {"3"}), (["oak grove", 3], {"3", "4"}), ([4], {"4"}), (["4"], {"4"}),
    ([0], {"0"}),
])
def test_clinics_are_selected_by_name_or_number(selection: list, ids: set[str]) -> None:
    assert resolve_clinics(selection, KNOWN).ids == ids


def test_a_clinic_that_is_not_in_the_data_is_an_error_naming_the_known_ones() -> None:
    with pytest.raises(UnknownClinic) as err:
        resolve_clinics(["Main St", 9, "MAIN"], KNOWN)
    message = str(err.value)
    assert message.startswith("practice.clinics: 'Main St', 9 matches no clinic")
    assert "3 (MAIN, Main Street); 4 (Oak Grove)" in message


def _world() -> tuple[World, dict[str, str]]:
    """New patients without registration (FRM001) at clinics 3 and 4, one with no clinic of its own."""
    w = World()
    main = w.patient(new=True, clinic_id="3", clinic="MAIN")
    oak = w.patient(new=True, clinic_id="4", clinic="OAK")
    visiting = w.patient(new=True, clinic_id="4", clinic="OAK")  # an OAK patient seen at MAIN
    unassigned = w.patient(new=True)
    for pat in (main, oak, unassigned):
        w.appointment(pat, at(3), clinic_id=pat.clinic_id, clinic=pat.clinic)
    w.appointment(visiting, at(4), clinic_id="3", clinic="MAIN")
    return w, {"main": main.source_id, "oak": oak.source_id, "visiting": visiting.source_id,
               "unassigned": unassigned.source_id}


@pytest.mark.parametrize(("selection", "expected"), [
    (None, {"main", "oak", "visiting", "unassigned"}),
    (["MAIN"], {"main", "visiting"}),  # an appointment's clinic decides, not the patient's
    ([4], {"oak"}),
    (["oak", 0], {"oak", "unassigned"}),
])
def test_unselected_clinics_make_no_findings(selection: list | None, expected: set[str]) -> None:
    w, ids = _world()
    found = {f.patient_id for f in evaluate(Snapshot.build(w.records, TZ, selection), AS_OF, select=["FRM001"])}
    assert found == {ids[name] for name in expected}


def test_a_finding_without_an_appointment_goes_by_the_patients_clinic() -> None:
    w = World()
    for clinic in ("3", "4"):
        pat = w.patient(new=True, first_contact=day(-5), clinic_id=clinic, clinic=f"C{clinic}")
        w.referral(pat, day(-5))
    snapshot = Snapshot.build(w.records, TZ, ["C4"])
    found = evaluate(snapshot, AS_OF, select=["REF001"])
    assert [snapshot.clinic_name_of(f.patient_id, f.appointment_id) for f in found] == ["C4"]


# -- the whole run: CSV exports of a two-clinic office -------------------------------------------


def _two_clinic_export(folder: Path, raw: bool = False) -> Path:
    """Patient 100 (MAIN, clinic 3) lacks a health history; patient 101 (Oak Grove, clinic 4) has three findings.

    ``raw``: stored numbers and ISO dates only, as the fake Open Dental holds its tables.
    """
    tables = mini_practice()
    if raw:
        tables["patient"][1]["PatStatus"] = "0"
        tables["appointment"][1].update(AptStatus="1", AptDateTime="2026-03-04 14:30:00")
        tables["procedurelog"][1]["ProcStatus"] = "1"
    tables["sheet"] = [s for s in tables["sheet"] if s["SheetNum"] != "1"]
    for row, clinic in zip(tables["appointment"], ("3", "4")):
        row["ClinicNum"] = clinic
    for row, clinic in zip(tables["patient"], ("3", "4")):
        row["ClinicNum"] = clinic
    folder.mkdir(parents=True)
    for table in ("appointment", "patient"):
        write_table(folder, table, tables.pop(table), columns=[*COLUMNS[table], "ClinicNum"])
    write_export(folder, tables)
    write_table(folder, "clinic", [{"ClinicNum": "3", "Description": "Main Street", "Abbr": "MAIN"},
                                   {"ClinicNum": "4", "Description": "Oak Grove", "Abbr": ""}],
                columns=["ClinicNum", "Description", "Abbr"])
    return folder


def _config(tmp: Path, export: Path, clinics: str = "") -> Path:
    path = tmp / "practice.toml"
    path.write_text(
        f'[practice]\nname = "Two Clinics Dental"\ntimezone = "America/Chicago"\n{clinics}\n'
        f'[source]\nconnector = "csv"\nmapping = "opendental"\npath = "{export.as_posix()}"\n'
        '[store]\npath = "state.sqlite"\n'
        '[[sinks]]\ntype = "json"\npath = "out/tasks.json"\n[[sinks]]\ntype = "csv"\npath = "out/tasks.csv"\n'
        '[[sinks]]\ntype = "html"\npath = "out/tasks.html"\n',
        encoding="utf-8",
    )
    return path


def _outputs(tmp: Path) -> tuple[list[dict], list[dict[str, str]], str]:
    out = tmp / "out"
    tasks = json.loads((out / "tasks.json").read_text(encoding="utf-8"))
    rows = list(csv.DictReader(io.StringIO((out / "tasks.csv").read_text(encoding="utf-8"))))
    return tasks, rows, (out / "tasks.html").read_text(encoding="utf-8")


def test_tasks_carry_their_clinic_in_json_csv_and_html(tmp_path: Path) -> None:
    report = run_sync(load_config(_config(tmp_path, _two_clinic_export(tmp_path / "exports"))), AS_OF, check=True)
    assert report.status == "ok"
    tasks, rows, html = _outputs(tmp_path)
    jsonschema.validate(tasks, SCHEMA)
    assert {(t["patient_id"], t["clinic"]) for t in tasks} == {("100", "MAIN"), ("101", "Oak Grove")}
    assert len(tasks) == 5 and {r["key"]: r["clinic"] for r in rows} == {t["key"]: t["clinic"] for t in tasks}
    assert html.count('data-testid="clinic"') == 5 and ">Oak Grove</span>" in html


def test_a_selected_clinic_alone_makes_tasks(tmp_path: Path) -> None:
    export = _two_clinic_export(tmp_path / "exports")
    report = run_sync(load_config(_config(tmp_path, export, 'clinics = ["Main Street"]')), AS_OF, check=True)
    assert [(f.rule, f.patient_id) for f in report.checks.findings] == [("FRM002", "100")]
    tasks, _, html = _outputs(tmp_path)
    assert [(t["rule"], t["clinic"]) for t in tasks] == [("FRM002", "MAIN")]
    assert 'data-testid="clinic"' not in html  # one clinic on the list: nothing to tell apart


def test_a_clinic_the_data_does_not_hold_stops_the_run(tmp_path: Path) -> None:
    export = _two_clinic_export(tmp_path / "exports")
    with pytest.raises(ConfigError, match=r"practice.clinics: 'Elm Street' matches no clinic.*4 \(Oak Grove\)"):
        run_sync(load_config(_config(tmp_path, export, 'clinics = ["Elm Street"]')), AS_OF, check=True)


def test_a_single_clinic_office_looks_as_before(tmp_path: Path) -> None:
    export = write_export(tmp_path / "exports", mini_practice())
    run_sync(load_config(_config(tmp_path, export)), AS_OF, check=True)
    tasks, rows, html = _outputs(tmp_path)
    assert tasks and all(t["clinic"] is None for t in tasks)
    assert list(rows[0]) == CSV_COLUMNS
    assert 'data-testid="clinic"' not in html


@pytest.mark.parametrize("route", ["resources", "query"])
def test_the_api_routes_read_clinics_too(route: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fakes.opendental import FakeOpenDental

    export = _two_clinic_export(tmp_path / "exports", raw=True)
    write_table(export, "eform", [], columns=["EFormNum", "FormType", "PatNum", "DateTimeShown", "Description",
                                              "DateTEdited", "EFormDefNum", "Status"])
    write_table(export, "mount", [], columns=["MountNum", "PatNum", "DocCategory", "DateCreated", "Description"])
    config = tmp_path / "api.toml"
    config.write_text(
        '[practice]\nname = "Two Clinics Dental"\ntimezone = "America/Chicago"\nclinics = ["main street"]\n'
        f'[source]\nconnector = "opendental-api"\nmode = "service"\nread_route = "{route}"\n'
        'developer_key_env = "OD_DEV"\ncustomer_key_env = "OD_CUST"\n[store]\npath = "api.sqlite"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("OD_DEV", "dev-key")
    monkeypatch.setenv("OD_CUST", "cust-key")
    fake = FakeOpenDental.from_export(export, base_url="http://localhost:30223/api/v1")
    with fake.mock():
        report = run_sync(load_config(config), AS_OF, check=True)
    assert report.status == "ok", [(r.resource, r.error) for r in report.failed]
    assert [(f.rule, f.patient_id) for f in report.checks.findings] == [("FRM002", "100")]
    assert report.tasks is not None and report.tasks.open_tasks == 1
