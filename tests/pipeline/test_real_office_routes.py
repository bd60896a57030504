"""What a live Open Dental holds, on every read route: undated appointments are stored and never
booked visits, and the office's own labels are placed by meaning or listed (never taken as fine)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.opendental import FakeOpenDental
from odroutes import ROUTES, config, night, rows

from pms_bridge.cli.demo import DEMO_AS_OF


@pytest.mark.parametrize("route", ROUTES)
def test_undated_appointments_and_office_labels(export: Path, tmp_path: Path, keys: None, route: str) -> None:
    fake = FakeOpenDental.from_export(export, now=DEMO_AS_OF.replace(tzinfo=None))
    undated = {num: row["AptStatus"] for num, row in fake.tables["appointment"].items()
               if row["AptDateTime"].startswith("0001-01-01")}
    assert {"3", "6"} <= set(undated.values())  # the sample holds both kinds
    blue = max(fake.tables["definition"]) + 1  # a verification status nobody maps
    fake.insert("definition", {"DefNum": str(blue), "Category": "38", "ItemOrder": "9", "ItemName": "Blue folder",
                               "ItemValue": "", "IsHidden": "0"})
    verify = min(num for num, row in fake.tables["insverify"].items() if row["VerifyType"] == "2")
    fake.touch("insverify", str(verify), DefNum=str(blue))

    path = config(tmp_path, route)
    report = night(fake, path)
    assert report.status == "ok" and report.quarantined == 0, [(r.resource, r.error) for r in report.failed]
    stored = rows(path, "appointment")
    held = {str(num) for num in undated} & set(stored)  # the resources route fetches what the rules need
    assert held and all(stored[a]["start"] is None for a in held)
    assert {stored[a]["status"] for a in held} <= {"planned", "unscheduled"}
    # Open Dental's own labels in the sample (AppointmentConfirmed, Arrived, Attempted ...) are placed;
    # the one nobody maps is listed and counts as unknown
    assert report.unmapped_labels == {"mapping.maps.verify_result": {"Blue folder": 1}}
    assert rows(path, "verification")[str(verify)]["result"] == "unknown"
    confirmed = {r["confirmation"]: r["confirmed"] for r in stored.values() if r["confirmation"]}
    assert confirmed.get("AppointmentConfirmed") is True and confirmed.get("Arrived") is False
