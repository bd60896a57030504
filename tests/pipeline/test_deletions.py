"""Two nights with deletions in Open Dental between them, on every read route.

Open Dental hard-deletes a dropped plan (patplan), a detached referral (refattach), documents, mounts and
appointments (a deleted appointment leaves a histappointment row, HistApptAction 4); it soft-deletes a sheet
(IsDeleted = 1, edit stamp untouched) and marks a deleted patient PatStatus 4, which GET /patients/Simple
never lists. After the second night the snapshot holds what Open Dental holds, and the tasks follow.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fakes.opendental import FakeOpenDental
from odroutes import ROUTES, config, night, rows, tasks

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.pipeline import fanout

TODAY = DEMO_AS_OF.date()




@dataclass
class Picks:
    """What the office deletes between the nights (ids only)."""

    patplan: str  # a coverage with an INS003 task (no subscriber id): the plan is dropped
    refattach: str  # a referral out with a REF004 task: detached
    first_contact: str  # a patient with a REF001 first-contact task: deleted
    sheet: str  # the only recent health history of a patient booked in the window: deleted
    sheet_patient: str
    document: str  # an image (not in a mount) of a patient booked in the window: deleted
    mount: str  # a mount of that patient: deleted with its images
    appointment: str  # a past broken appointment (outside the upcoming window): deleted


def _table(export: Path, name: str) -> list[dict[str, str]]:
    with (export / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def pick(export: Path) -> Picks:
    planted = json.loads((export / "planted.json").read_text(encoding="utf-8"))
    first = {rule: next(p for p in planted if p["rule"] == rule and (p["subject_id"] or rule == "REF001")
                        and (rule != "REF001" or p["subject_id"] is None))
             for rule in ("INS003", "REF004", "REF001")}
    planted_patients = {p["patient_id"] for p in planted}
    apts = _table(export, "appointment")
    booked = {a["PatNum"] for a in apts if a["AptStatus"] == "1"}
    docs, mounts, sheets = _table(export, "document"), _table(export, "mount"), _table(export, "sheet")
    with_both = sorted(({d["PatNum"] for d in docs if d["MountItemNum"] == "0"} & {m["PatNum"] for m in mounts}
                        & booked) - planted_patients, key=int)
    owner = with_both[0]
    recent = str(TODAY - timedelta(days=300))
    histories = {}
    for s in sheets:
        if s["SheetType"] == "11" and s["IsDeleted"] == "0" and s["DateTimeSheet"] >= recent:
            histories.setdefault(s["PatNum"], []).append(s["SheetNum"])
    sheet_patient = next(p for p in sorted(booked - planted_patients, key=int) if len(histories.get(p, [])) == 1)
    broken = next(a for a in apts if a["AptStatus"] == "5" and a["PatNum"] not in planted_patients
                  and a["AptDateTime"] < str(TODAY - timedelta(days=30)))
    return Picks(
        patplan=first["INS003"]["subject_id"],
        refattach=first["REF004"]["subject_id"],
        first_contact=first["REF001"]["patient_id"],
        sheet=histories[sheet_patient][0],
        sheet_patient=sheet_patient,
        document=next(d["DocNum"] for d in docs if d["PatNum"] == owner and d["MountItemNum"] == "0"),
        mount=next(m["MountNum"] for m in mounts if m["PatNum"] == owner),
        appointment=broken["AptNum"],
    )


def delete_in_open_dental(fake: FakeOpenDental, p: Picks) -> None:
    fake.delete("patplan", p.patplan)  # Drop plan
    fake.delete("refattach", p.refattach)  # detach the referral
    fake.touch("patient", p.first_contact, PatStatus="4")  # Delete patient (a status: the row stays)
    fake.change_without_stamp("sheet", p.sheet, IsDeleted="1")  # Sheets.cs: DateTSheetEdited untouched
    fake.delete("document", p.document)
    items = [k for k, i in fake.tables["mountitem"].items() if i["MountNum"] == p.mount]
    for key, image in list(fake.tables["document"].items()):  # the mount goes with its images
        if image.get("MountItemNum") and int(image["MountItemNum"]) in items:
            fake.delete("document", str(key))
    for key in items:
        fake.delete("mountitem", str(key))
    fake.delete("mount", p.mount)
    fake.delete("appointment", p.appointment)  # leaves histappointment HistApptAction 4


def _removed(report) -> dict[str, int]:  # noqa: ANN001
    return {r.resource: r.removed for r in report.resources if r.removed}


def _task(ledger: dict, rule: str, patient: str):  # noqa: ANN202
    return next((t for t in ledger.values() if t.rule == rule and t.patient_id == patient), None)


def _task_any(ledger: dict, rule: str, subject: str):  # noqa: ANN202
    return next((t for t in ledger.values() if t.rule == rule and t.key.endswith(f":{subject}")), None)


@pytest.mark.parametrize("route", ROUTES)
def test_two_nights_with_deletions_leave_what_open_dental_holds(
    route: str, export: Path, tmp_path: Path, keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fanout, "REFRESH_DAYS", 0)  # every patient's lists every night: their deletions show
    p = pick(export)
    fake = FakeOpenDental.from_export(export)
    path = config(tmp_path, route)
    first = night(fake, path)
    assert first.status == "ok", [(r.resource, r.error) for r in first.failed]
    before = tasks(path)
    ins = _task_any(before, "INS003", p.patplan)
    ref_out = _task_any(before, "REF004", p.refattach)
    ref_new = _task(before, "REF001", p.first_contact)
    assert ins and ref_out and ref_new and all(t.status == "open" for t in (ins, ref_out, ref_new))
    assert _task(before, "FRM002", p.sheet_patient) is None
    held = {e: rows(path, e) for e in ("coverage", "referral", "form", "document", "appointment")}
    assert p.patplan in held["coverage"] and p.refattach in held["referral"] and p.sheet in held["form"]
    assert {p.document, f"mount-{p.mount}"} <= set(held["document"]) and p.appointment in held["appointment"]

    delete_in_open_dental(fake, p)
    fake.advance(hours=20)
    second = night(fake, path, as_of=DEMO_AS_OF + timedelta(hours=1))
    assert second.status == "ok", [(r.resource, r.error) for r in second.failed]

    assert p.patplan not in rows(path, "coverage")
    assert p.refattach not in rows(path, "referral")
    forms = rows(path, "form")
    assert p.sheet not in forms or forms[p.sheet]["is_deleted"]  # exports keep the row, marked deleted
    documents = rows(path, "document")
    assert p.document not in documents and f"mount-{p.mount}" not in documents
    assert p.appointment not in rows(path, "appointment")
    assert rows(path, "patient")[p.first_contact]["status"] == "deleted"
    removed = _removed(second)
    assert removed.get("patplan") and removed.get("refattach") and removed.get("appointment"), removed
    assert removed.get("document", 0) + removed.get("mount", 0) >= 2, removed
    if route != "exports":
        assert p.sheet not in forms and removed.get("sheet"), removed

    after = tasks(path)
    assert after[ins.key].status == "resolved"  # no coverage, no insurance task
    assert after[ref_out.key].status == "resolved"  # the referral is gone
    assert after[ref_new.key].status == "resolved"  # the patient is deleted
    health = _task(after, "FRM002", p.sheet_patient)  # the deleted form no longer counts
    assert health is not None and health.status == "open"


def test_a_failed_read_removes_nothing(
    export: Path, tmp_path: Path, keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A per-patient list that fails part way is no evidence: nothing of it is removed, and the run says so."""
    monkeypatch.setattr(fanout, "REFRESH_DAYS", 0)  # every patient's lists every night
    p = pick(export)
    fake = FakeOpenDental.from_export(export)
    path = config(tmp_path, "resources")
    night(fake, path, check=False)
    delete_in_open_dental(fake, p)
    fake.advance(hours=20)
    original = fake._get_documents
    calls = {"n": 0}

    def flaky(q, body):  # noqa: ANN001, ANN202 - the third patient's documents answer 400
        calls["n"] += 1
        if calls["n"] == 3:
            from fakes.opendental_shapes import bad

            raise bad("PatNum is invalid.")
        return original(q, body)

    fake._routes = [(m, pat, flaky if h == original else h) for m, pat, h in fake._routes]
    report = night(fake, path, check=False)
    documents = next(r for r in report.resources if r.resource == "document")
    assert documents.error and documents.removed == 0
    assert {p.document, f"mount-{p.mount}"} <= set(rows(path, "document"))
    assert p.patplan not in rows(path, "coverage")  # the other lists were read whole: their deletions count
