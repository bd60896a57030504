"""The sample practice's form, outside-film and specialty cases on every read route: table exports,
the API's resources route and its query route (against the fake Open Dental)."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fakes.opendental import FakeOpenDental

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.connectors.api_client import RetryPolicy
from pms_bridge.pipeline import fanout, run_sync
from pms_bridge.pipeline.report import SyncReport
from pms_bridge.sample import generate_practice
from pms_bridge.store import Store

CHICAGO = ZoneInfo("America/Chicago")


def _rows(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / f"{table}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("routes") / "exports"
    generate_practice(folder, as_of=DEMO_AS_OF, seed=7, patients=150)
    return folder


@pytest.fixture(scope="module")
def cases(export: Path) -> dict[str, str]:
    """Who is who in the sample: ids read from its tables and planted.json."""
    planted = json.loads((export / "planted.json").read_text(encoding="utf-8"))
    (eform,) = _rows(export, "eform")
    (outside,) = [p for p in _rows(export, "procedurelog") if p["ProcStatus"] == "4"]  # EO
    endo_def = next(d["DefNum"] for d in _rows(export, "definition") if d["ItemName"] == "Endodontics")
    return {
        "hipaa": next(p["patient_id"] for p in planted if p["rule"] == "FRM001" and "HIPAA" in p["what"]),
        "eform_patient": eform["PatNum"],
        "eform_id": f"eform-{eform['EFormNum']}",
        "outside_films": outside["PatNum"],
        "endodontist": next(p["ProvNum"] for p in _rows(export, "provider") if p["Specialty"] == endo_def),
    }


def _config(tmp: Path, route: str, export: Path) -> Path:
    source = (
        f'connector = "csv"\nmapping = "opendental"\npath = "{export.as_posix()}"\n' if route == "csv" else
        f'connector = "opendental-api"\nmode = "cloud"\nread_route = "{route}"\n'
        'developer_key_env = "OD_DEV"\ncustomer_key_env = "OD_CUST"\n'
    )
    path = tmp / f"{route}.toml"
    path.write_text(f'[practice]\nname = "Route Dental"\ntimezone = "America/Chicago"\n[source]\n{source}'
                    f'[store]\npath = "{route}.sqlite"\n', encoding="utf-8")
    return path


class _Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _run(tmp: Path, route: str, export: Path, monkeypatch: pytest.MonkeyPatch,
         fake: FakeOpenDental | None = None) -> tuple[SyncReport, dict]:
    config = load_config(_config(tmp, route, export))
    if route == "csv":
        report = run_sync(config, DEMO_AS_OF, check=True)
    else:
        monkeypatch.setenv("OD_DEV", "dev-key")
        monkeypatch.setenv("OD_CUST", "cust-key")
        clock = _Clock()
        http = {"clock": clock, "sleep": clock.sleep, "retry": RetryPolicy(attempts=3, initial=0.1, maximum=1.0)}
        with (fake or FakeOpenDental.from_export(export)).mock():
            report = run_sync(config, DEMO_AS_OF, check=True, http=http)
    store = Store.open(config.store_url(), config.practice.practice())
    rows = {e: {r["source_id"]: r for r in store.rows(e)} for e in ("form", "provider")}
    store.close()
    return report, rows


@pytest.mark.parametrize("route", ["csv", "resources", "query"])
def test_forms_outside_films_and_specialties(
    route: str, export: Path, cases: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, rows = _run(tmp_path, route, export, monkeypatch)
    found = {(f.rule, f.patient_id) for f in report.checks.findings}
    by_patient = {pid for _, pid in found}

    # A HIPAA acknowledgment is a patient form, not a registration: the new patient gets FRM001.
    assert ("FRM001", cases["hipaa"]) in found
    hipaa_forms = [f for f in rows["form"].values() if f["patient_id"] == cases["hipaa"] and f["title"] == "HIPAA"]
    assert [f["kind"] for f in hipaa_forms] == ["other"]

    # A registration that came as an eForm counts: that new patient makes no task at all.
    assert cases["eform_patient"] not in by_patient
    eform = rows["form"][cases["eform_id"]]
    assert (eform["kind"], eform["patient_id"]) == ("registration", cases["eform_patient"])
    (eform_row,) = _rows(export, "eform")
    assert eform["completed_at"] == datetime.fromisoformat(eform_row["DateTimeShown"]).replace(tzinfo=CHICAGO)

    # An FMX charted as existing from another office (EO) is a radiograph on file: no XR001.
    assert cases["outside_films"] not in by_patient

    assert rows["provider"][cases["endodontist"]]["kind"] == "specialist"
    assert "mapping.settings.form_titles" not in report.unmapped_labels
    assert "mapping.settings.specialist_specialties" not in report.unmapped_labels


@pytest.mark.parametrize("route", ["csv", "resources", "query"])
def test_an_eform_deleted_in_open_dental_stops_counting(
    route: str, export: Path, cases: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The API asks for a patient's eForms again only when something of theirs changed, a task asks, or the
    # weekly re-read comes round (pipeline/fanout.py): here, every night.
    monkeypatch.setattr(fanout, "REFRESH_DAYS", 0)
    own = tmp_path / "exports"
    shutil.copytree(export, own)
    fake = FakeOpenDental.from_export(own)
    _run(tmp_path, route, own, monkeypatch, fake)
    number = cases["eform_id"].removeprefix("eform-")
    if route == "csv":
        header = (own / "eform.csv").read_text(encoding="utf-8").splitlines()[0]
        (own / "eform.csv").write_text(header + "\n", encoding="utf-8")
    else:
        fake.delete("eform", number)
        fake.advance(hours=1)
    report, rows = _run(tmp_path, route, own, monkeypatch, fake)
    assert cases["eform_id"] not in rows["form"]
    assert ("FRM001", cases["eform_patient"]) in {(f.rule, f.patient_id) for f in report.checks.findings}
