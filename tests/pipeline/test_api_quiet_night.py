"""A quiet night on the API's resources route costs requests in proportion to what changed (issue 14).

Two nights against the fake Open Dental loaded with the sample practice; between them the office renames
a patient, moves an appointment, charts a procedure and files a document for a patient nothing else
happened to. The second night's requests per endpoint are derived from those changes: a page of changed
rows per listed resource (the short page ends the listing), the small reference tables and the referral
attachments in full, one deletion list, and the per-patient lists only of patients who changed, have
open tasks of rules reading that list, or whose safety-net re-read is due (pipeline/fanout.py).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fakes.opendental import FakeOpenDental
from fakes.opendental_shapes import bad, parse_dt
from odroutes import config, night, open_store, rows, tasks

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.model import ENTITIES
from pms_bridge.pipeline import fanout
from pms_bridge.rules import RULES, horizons

TODAY = DEMO_AS_OF.date()
PAGE = 100  # the cloud mode's page size, which the fake also serves
OVERLAP = timedelta(seconds=300)  # connectors/opendental-api.toml: cursor_overlap_seconds

# Listed from the change-stamp cursor: endpoint -> (table, stamp column).
INCREMENTAL = {
    "/patients/Simple": ("patient", "DateTStamp"),
    "/appointments": ("appointment", "DateTStamp"),
    "/procedurelogs": ("procedurelog", "DateTStamp"),
    "/procedurecodes": ("procedurecode", "DateTStamp"),
    "/providers": ("provider", "DateTStamp"),
    "/inssubs": ("inssub", "SecDateTEdit"),
    "/insverifies": ("insverify", "SecDateTEdit"),
    "/claims": ("claim", "SecDateTEdit"),
}
# Listed whole every night: the small reference tables, and the referral attachments (a detached referral is
# deleted, and only the whole list shows it gone).
FULL = {"/definitions": "definition", "/appointmenttypes": "appointmenttype", "/carriers": "carrier",
        "/insplans": "insplan", "/clinics": "clinic", "/refattaches": "refattach"}
PER_PATIENT = {"/patplans": "coverage", "/documents": "document", "/sheets": "form", "/eforms": "form",
               "/claimprocs": "claim_procedure"}
PER_PATIENT_ENTITIES = ("coverage", "document", "form", "claim_procedure")


def pages(rows: int) -> int:
    """Requests to list ``rows`` rows: full pages, then the short (maybe empty) page that ends the listing."""
    return rows // PAGE + 1


def endpoint(path: str) -> str:
    return "/patients/{id}" if path.startswith("/patients/") and path != "/patients/Simple" else path


def by_endpoint(fake: FakeOpenDental) -> Counter[str]:
    return Counter(endpoint(r.path) for r in fake.requests)


def asked(fake: FakeOpenDental, path: str) -> set[str]:
    return {r.params["PatNum"] for r in fake.requests if r.path == path}


def open_task_patients(path: Path, entity: str) -> set[str]:
    """Patients with open tasks of rules whose answer reads ``entity`` (the rule registry says which)."""
    codes = {r.code for r in RULES.values() if entity in r.reads | r.also_reads}
    return {t.patient_id for t in tasks(path).values() if t.status == "open" and t.rule in codes}


class Office:
    """The fake office after one night, with the patients the changes are about."""

    def __init__(self, export: Path, tmp_path: Path, key: str) -> None:
        self.fake = FakeOpenDental.from_export(export)
        self.path = config(tmp_path, "resources", key=key)
        self.first_server_time = self.fake.now
        first = night(self.fake, self.path)
        assert first.status == "ok", [(r.resource, r.error) for r in first.failed]
        # The first night asks every patient of the working set for each per-patient list.
        self.working = asked(self.fake, "/sheets")
        assert all(asked(self.fake, p) == self.working for p in PER_PATIENT), "one working set for every list"
        self.busy = set().union(*(open_task_patients(self.path, e) for e in PER_PATIENT_ENTITIES))
        quiet = sorted(self.working - self.busy, key=int)
        self.moved = next(p for p in quiet if self.upcoming(p))
        self.renamed, self.charted, self.filed = [p for p in quiet if p != self.moved][:3]
        self.fake.requests.clear()
        self.fake.advance(hours=1)

    def change(self) -> dict[str, Any]:
        """A handful of changes in Open Dental; returns the new rows' ids."""
        fake = self.fake
        fake.touch("patient", self.renamed, LName="Renamed")
        apt = self.upcoming(self.moved)
        assert apt is not None
        start = datetime.strptime(apt["AptDateTime"], "%Y-%m-%d %H:%M:%S") + timedelta(days=1)
        fake.touch("appointment", apt["AptNum"], AptDateTime=start.strftime("%Y-%m-%d %H:%M:%S"))
        template = next(iter(fake.tables["procedurelog"].values()))
        fake.insert("procedurelog", {**template, "ProcNum": "", "PatNum": self.charted, "AptNum": "0",
                                     "PlannedAptNum": "0", "ProcStatus": "1"})
        proc = str(max(fake.tables["procedurelog"]))
        doc = self.add_document(self.filed, category_name="Photos", img_type="2")
        return {"procedure": proc, "document": doc}

    def upcoming(self, patient: str) -> dict[str, str] | None:
        """A scheduled appointment of the patient well inside the window (moving it a day keeps it there)."""
        return next((a for a in self.fake.tables["appointment"].values()
                     if a["PatNum"] == patient and a["AptStatus"] == "1"
                     and str(TODAY + timedelta(days=1)) <= a["AptDateTime"][:10] <= str(TODAY + timedelta(days=10))),
                    None)

    def add_document(self, patient: str, category_name: str, img_type: str) -> str:
        category = next(k for k, d in self.fake.tables["definition"].items()
                        if d["Category"] == "18" and d["ItemName"] == category_name)
        self.fake.insert("document", {"DocNum": "", "PatNum": patient, "DocCategory": str(category),
                                      "DateCreated": self.fake._now(), "ImgType": img_type, "ToothNumbers": "",
                                      "Description": "synthetic", "MountItemNum": "0"})
        return str(max(self.fake.tables["document"]))

    def changed_rows(self, table: str, stamp: str) -> int:
        """Rows the change-stamp listing returns: stamped on or after the stored cursor less the overlap."""
        since = self.first_server_time - OVERLAP
        listed = [r for r in self.fake.tables[table].values() if (parse_dt(r.get(stamp)) or datetime.min) >= since]
        if table == "patient":
            listed = [r for r in listed if r.get("PatStatus") != "4"]  # /patients/Simple never lists Deleted
        return len(listed)


def expected_requests(office: Office, changed: set[str]) -> Counter[str]:
    fake, path = office.fake, office.path
    want: Counter[str] = Counter()
    for endpoint_path, (table, stamp) in INCREMENTAL.items():
        want[endpoint_path] = pages(office.changed_rows(table, stamp))
    for endpoint_path, table in FULL.items():
        want[endpoint_path] = pages(len(fake.tables[table]))
    want["/preferences"] = 1  # one preference, asked for by name
    want["/histappointments"] = 1  # appointments deleted since the last run: none, one (empty) page
    # Patients open referral tasks are about, re-checked one by one (a listing hides them once deleted).
    referred = {t.patient_id for t in tasks(path).values() if t.status == "open" and t.rule.startswith("REF")}
    want["/patients/{id}"] = min(len(referred), 50)
    for endpoint_path, entity in PER_PATIENT.items():
        want[endpoint_path] = len((changed | open_task_patients(path, entity)) & office.working)
    return +want  # endpoints asked 0 times are not asked at all


def test_a_quiet_night_asks_in_proportion_to_the_changes(export: Path, tmp_path: Path, keys: None) -> None:
    office = Office(export, tmp_path, "quiet")
    new = office.change()
    want = expected_requests(office, {office.renamed, office.moved, office.charted})
    report = night(office.fake, office.path)
    assert report.status == "ok", [(r.resource, r.error) for r in report.failed]
    assert by_endpoint(office.fake) == want
    stored = {r.resource: (r.stored.inserted, r.stored.updated) for r in report.resources}
    assert [stored[name] for name in ("patient", "appointment", "procedurelog")] == [(0, 1), (0, 1), (1, 0)]
    # The deletion list answered: the upcoming window is not listed again.
    assert not [r for r in office.fake.requests if r.path == "/appointments" and "dateStart" in r.params]
    # The patient whose only news is a document is not asked (see the safety net below).
    assert office.filed not in asked(office.fake, "/documents")
    assert new["document"] not in rows(office.path, "document")
    assert new["procedure"] in rows(office.path, "procedure")
    per_patient = sum(n for path, n in by_endpoint(office.fake).items() if path in PER_PATIENT)
    assert per_patient < len(office.working)  # the first night asked for 4 lists of each


def _model_rows(path: Path, entity: str, patients: set[str] | None = None) -> dict[str, dict[str, Any]]:
    fields = set(ENTITIES[entity].model_fields)
    return {sid: {k: v for k, v in row.items() if k in fields} for sid, row in rows(path, entity).items()
            if patients is None or row.get("patient_id") in patients}


def _open_tasks(path: Path) -> set[str]:
    return {key for key, t in tasks(path).items() if t.status == "open"}


def test_a_quiet_night_ends_where_a_full_read_would(export: Path, tmp_path: Path, keys: None) -> None:
    office = Office(export, tmp_path, "inc")
    xray_task = next(t for t in tasks(office.path).values() if t.rule == "XR001" and t.status == "open")
    new = office.change()
    xray = office.add_document(xray_task.patient_id, category_name="BWs", img_type="1")  # the x-ray arrives
    night(office.fake, office.path)
    fresh = config(tmp_path, "resources", key="fresh")
    night(office.fake, fresh)  # everything Open Dental holds now, read into an empty store

    assert tasks(office.path)[xray_task.key].status == "resolved"  # asked again: the task had to close
    assert xray in rows(office.path, "document")
    assert _open_tasks(office.path) == _open_tasks(fresh)
    for entity in ENTITIES:
        if entity not in PER_PATIENT_ENTITIES:
            assert _model_rows(office.path, entity) == _model_rows(fresh, entity), entity
    for entity in PER_PATIENT_ENTITIES:
        mine, theirs = _model_rows(office.path, entity, office.working), _model_rows(fresh, entity, office.working)
        gap = {new["document"]} if entity == "document" else set()  # filed for a patient nothing else happened to
        assert set(theirs) - set(mine) == gap and set(mine) <= set(theirs), entity
        assert {sid: theirs[sid] for sid in mine} == mine, entity


def test_the_safety_net_reads_every_patient_within_its_days(export: Path, tmp_path: Path, keys: None) -> None:
    """A list that changed while nothing else about the patient did is read within REFRESH_DAYS days."""
    office = Office(export, tmp_path, "net")
    doc = office.add_document(office.filed, category_name="Photos", img_type="2")
    seen: set[str] = set()
    for day in range(1, fanout.REFRESH_DAYS + 1):
        office.fake.requests.clear()
        office.fake.advance(days=1)
        night(office.fake, office.path, as_of=DEMO_AS_OF + timedelta(days=day))
        seen |= asked(office.fake, "/documents")
        # Each night re-reads a share of the working set, not all of it.
        assert len(asked(office.fake, "/documents")) < len(office.working), day
    assert office.working <= seen | _left_or_new(office)
    assert doc in rows(office.path, "document")


def _left_or_new(office: Office) -> set[str]:
    """Patients of the first night's working set that are no longer in it (a week later) need no re-read."""
    store = open_store(office.path)
    try:
        later, needs = TODAY + timedelta(days=fanout.REFRESH_DAYS), horizons()
        return office.working - store.patients_needing_detail(
            later, later + timedelta(days=needs.window_days), later - timedelta(days=needs.first_contact_days),
            later - timedelta(days=needs.referral_days))
    finally:
        store.close()


def test_a_failed_list_asks_the_same_patients_again(export: Path, tmp_path: Path, keys: None) -> None:
    office = Office(export, tmp_path, "again")
    office.change()
    changed = {office.renamed, office.moved, office.charted}
    original = office.fake._get_sheets

    def refusing(q: dict[str, str], body: Any) -> Any:
        raise bad("PatNum is invalid.")

    office.fake._routes = [(m, p, refusing if h == original else h) for m, p, h in office.fake._routes]
    report = night(office.fake, office.path)
    assert next(r for r in report.resources if r.resource == "sheet").error
    office.fake._routes = [(m, p, original if h is refusing else h) for m, p, h in office.fake._routes]
    office.fake.requests.clear()
    office.fake.advance(hours=1)
    night(office.fake, office.path)
    # The sheets were not stored, so the changed patients are asked for them again; documents were stored.
    assert changed <= asked(office.fake, "/sheets")
    assert not changed & asked(office.fake, "/documents")


def test_a_list_is_evidence_only_for_the_patients_asked(export: Path, tmp_path: Path, keys: None) -> None:
    office = Office(export, tmp_path, "evidence")
    fake = office.fake
    mine = {p: [k for k, d in fake.tables["document"].items() if d["PatNum"] == p and d["MountItemNum"] == "0"]
            for p in (office.renamed, office.filed)}
    assert all(mine.values())
    for docs in mine.values():
        fake.delete("document", str(docs[0]))
    fake.touch("patient", office.renamed, LName="Renamed")
    night(fake, office.path)
    stored = rows(office.path, "document")
    assert str(mine[office.renamed][0]) not in stored  # asked: its whole list lacks the document
    assert str(mine[office.filed][0]) in stored  # not asked: nothing is known of its documents
