"""An office on 10-minute increments gets exactly the length findings a 5-minute office gets for the
same bookings: procedurecode.ProcTime is written in the office's AppointmentTimeIncrement, while
appointment.Pattern is always 5-minute characters."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from fakes.opendental import FakeOpenDental
from odexport import csv_config
from odroutes import config, night, rows

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import load_config
from pms_bridge.pipeline import run_sync
from pms_bridge.sample import generate_practice


@pytest.fixture(scope="module")
def sample_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("increment") / "exports"
    generate_practice(folder, as_of=DEMO_AS_OF, seed=5, patients=300)
    return folder


def _rewrite(path: Path, column: str, change) -> None:  # noqa: ANN001
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, column: change(row)})


def _doubled(pattern: str) -> str:
    return "".join(ch * 2 for ch in pattern)


def _office(tmp: Path, sample: Path, increment: int | None) -> Path:
    """The sample's bookings, every time doubled: the same minutes written for a 5- or a 10-minute office
    (``increment`` None: a 10-minute office whose preference is not exported)."""
    export = tmp / f"exports-{increment}"
    shutil.copytree(sample, export)
    _rewrite(export / "appointment.csv", "Pattern", lambda r: _doubled(r["Pattern"]))
    if increment == 5:
        for table in ("procedurecode", "proccodenote"):
            _rewrite(export / f"{table}.csv", "ProcTime", lambda r: _doubled(r["ProcTime"]))
    _rewrite(export / "preference.csv", "ValueString",
             lambda r: str(increment or 5) if r["PrefName"] == "AppointmentTimeIncrement" else r["ValueString"])
    if increment is None:
        _rewrite(export / "preference.csv", "PrefName",
                 lambda r: "Unrelated" if r["PrefName"] == "AppointmentTimeIncrement" else r["PrefName"])
    return export


def _length_findings(tmp: Path, export: Path) -> tuple[set[tuple[str, str, str]], dict]:
    config = csv_config(tmp, export, key=export.name.lower())  # a store of its own
    report = run_sync(load_config(config), DEMO_AS_OF, check=True)
    assert report.checks is not None
    found = {(f.key, f.title, f.detail) for f in report.checks.findings if f.rule == "SCH004"}
    return found, report.unmapped_labels


def test_ten_minute_office_gets_the_five_minute_findings(sample_export: Path, tmp_path: Path) -> None:
    five, five_labels = _length_findings(tmp_path, _office(tmp_path, sample_export, 5))
    ten, ten_labels = _length_findings(tmp_path, _office(tmp_path, sample_export, 10))
    assert ten == five
    assert len(five) >= 2  # the planted too-short crown and too-long filling, at least
    assert five_labels == ten_labels == {}


def test_without_the_increment_the_run_says_so(sample_export: Path, tmp_path: Path) -> None:
    ten, _ = _length_findings(tmp_path, _office(tmp_path, sample_export, 10))
    blind, labels = _length_findings(tmp_path, _office(tmp_path, sample_export, None))
    assert blind != ten  # read as 5-minute characters every code takes half its time
    times = sum(_count(sample_export / f"{table}.csv") for table in ("procedurecode", "proccodenote"))
    assert labels == {"mapping.settings.time_increment": {"AppointmentTimeIncrement preference not read": times}}


def _count(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as fh:
        return sum(1 for row in csv.DictReader(fh) if row["ProcTime"])



@pytest.mark.parametrize("route", ["resources", "query"])
def test_the_api_routes_read_the_increment_too(sample_export: Path, tmp_path: Path, keys: None, route: str) -> None:
    """GET /preferences?PrefName=AppointmentTimeIncrement (resources) or the preference table (ShortQuery)."""
    five, _ = _length_findings(tmp_path, _office(tmp_path, sample_export, 5))
    fake = FakeOpenDental.from_export(_office(tmp_path, sample_export, 10), now=DEMO_AS_OF.replace(tzinfo=None))
    report = night(fake, config(tmp_path, route))
    assert report.checks is not None and report.unmapped_labels == {}
    assert {(f.key, f.title, f.detail) for f in report.checks.findings if f.rule == "SCH004"} == five
    asked = [r for r in fake.requests if r.path == "/preferences"] if route == "resources" else [
        r for r in fake.requests if r.json and "FROM preference" in r.json.get("SqlCommand", "")]
    assert asked  # the preference was read on this route, not assumed
    if route == "query":  # providers' own code times come with it (the API has no endpoint for them)
        assert rows(config(tmp_path, route), "provider_code_time")
