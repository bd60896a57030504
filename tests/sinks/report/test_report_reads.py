"""The report's store reads on SQLite and PostgreSQL: the rows of the range and of the huddle's days, no more,
and KPIs computed from a store equal to those computed by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pms_bridge.ledger import Ledger, LedgerUpdate, Task
from pms_bridge.model import (
    Appointment,
    Coverage,
    Document,
    Form,
    Patient,
    Procedure,
    Referral,
    Verification,
)
from pms_bridge.sinks.report import KpiTargets, build_report
from pms_bridge.store import Store
from pms_bridge.store.report_reads import load_report_data

TZ = ZoneInfo("America/Chicago")
AS_OF = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)
FIRST, LAST = date(2026, 2, 9), date(2026, 3, 1)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


def apt(aid: str, pid: str, start: datetime, status: str = "complete", new: bool = False,
        booked: datetime | None = None) -> Appointment:
    return Appointment(source_id=aid, patient_id=pid, start=start, minutes=60, status=status, is_new_patient=new,
                       booked_at=booked, provider_id="1", operatory_id="3")


def fill(store: Store) -> None:
    day = date(2026, 2, 17)
    store.upsert_records("patient", [
        Patient(source_id="1", last_name="Testwell", first_name="Avery", first_contact_date=date(2026, 2, 10)),
        Patient(source_id="2", last_name="Sampleton", first_name="Brook"),
        Patient(source_id="3", last_name="Demoor", first_name="Casey"),
    ], run_id=1)
    store.upsert_records("appointment", [
        apt("10", "1", at(day), new=True, booked=at(date(2026, 2, 10))),  # in range: new patient seen
        apt("11", "2", at(day), "broken"),
        apt("12", "3", at(date(2025, 6, 2))),  # long before the range: not read
        apt("13", "3", at(date(2026, 3, 3), 10), "scheduled"),  # the next business day: the huddle's
        apt("14", "2", at(date(2026, 3, 9)), "scheduled"),  # next week: neither
    ], run_id=1)
    store.upsert_records("coverage", [Coverage(source_id="c1", patient_id="1"),
                                      Coverage(source_id="c3", patient_id="3")], run_id=1)
    store.upsert_records("verification", [
        Verification(source_id="v1", kind="eligibility", coverage_id="c1", verified_on=day - timedelta(days=3),
                     result="verified"),
        Verification(source_id="v2", kind="benefits", coverage_id="c1", verified_on=day, result="verified"),
    ], run_id=1)
    store.upsert_records("form", [
        Form(source_id="f1", patient_id="1", kind="registration", completed_at=at(day, 8)),
        Form(source_id="f2", patient_id="1", kind="health_history", completed_at=at(day, 8)),
        Form(source_id="f3", patient_id="1", kind="health_history", completed_at=at(day, 7), is_deleted=True),
    ], run_id=1)
    store.upsert_records("document", [
        Document(source_id="d1", patient_id="1", is_radiograph=True, taken_date=day - timedelta(days=20)),
    ], run_id=1)
    store.upsert_records("procedure", [
        Procedure(source_id="p1", patient_id="1", code="D0210", status="complete", procedure_date=day - timedelta(days=2)),
        Procedure(source_id="p4", patient_id="1", code="D1110", status="complete", procedure_date=day, planned_date=day),
        Procedure(source_id="p5", patient_id="2", code="D2391", status="complete", procedure_date=day + timedelta(days=3),
                  planned_date=day),
        Procedure(source_id="p2", patient_id="1", code="D2740", status="planned", planned_date=day,
                  appointment_id="13"),
        Procedure(source_id="p3", patient_id="2", code="D2391", status="planned", planned_date=day),
    ], run_id=1)
    store.upsert_records("referral", [
        Referral(source_id="r1", patient_id="3", direction="in", referral_date=date(2026, 2, 11)),
    ], run_id=1)


def test_reads_the_range_and_the_huddle_days(store: Store) -> None:
    fill(store)
    data = load_report_data(store, FIRST, LAST, [date(2026, 3, 2), date(2026, 3, 3)])
    assert sorted(v.id for v in data.visits) == ["10", "11", "13"]
    assert [c.id for c in data.coverages] == ["c1"]  # patients seen in the range only
    assert [(c.coverage_id, c.verified_on) for c in data.checks] == [("c1", date(2026, 2, 14))]  # eligibility only
    assert sorted(f.kind for f in data.forms) == ["health_history", "registration"]  # the deleted one is not
    assert sorted(f.taken for f in data.films) == [date(2026, 1, 28), date(2026, 2, 15)]
    assert [(w.status, w.same_day, w.appointment_status, w.count) for w in data.planned] == [
        ("complete", False, None, 1), ("complete", True, None, 1), ("planned", False, None, 1),
        ("planned", False, "scheduled", 1)]
    by_patient = {c.patient_id: c for c in data.first_contacts}
    assert by_patient["1"].started == date(2026, 2, 10) and by_patient["1"].first_visit == date(2026, 2, 17)
    assert by_patient["3"].started == date(2026, 2, 11)
    assert by_patient["3"].first_visit == date(2025, 6, 2)  # seen before the referral: an established patient


def test_kpis_and_huddle_from_a_store(store: Store) -> None:
    fill(store)
    task = Task(key="INS002:coverage:c3", rule="INS002", name="insurance-not-verified", status="open",
                severity="medium", role="financial", patient_id="3", appointment_id="13", subject_type="coverage",
                subject_id="c3", title="t", detail="d", fix="f", due=date(2026, 3, 1),
                created_at=at(date(2026, 2, 20)), updated_at=at(date(2026, 2, 20)))
    Ledger(store).apply(LedgerUpdate(changed={task.key: task}), None, at(date(2026, 2, 20)))
    report = build_report(store, "Test Dental", AS_OF, 3, KpiTargets())
    by_key = {k.key: k for k in report.kpis}
    week1 = 1  # the week of Feb 16
    assert by_key["no_show_rate"].lines[0].points[week1].value == 50.0  # visit 10 seen, 11 broken
    assert by_key["insurance_verified"].lines[0].points[week1].value == 100.0
    assert by_key["forms_on_file"].lines[0].points[week1].value == 100.0
    assert by_key["radiographs_on_file"].lines[0].points[week1].value == 100.0
    assert by_key["treatment_acceptance"].lines[0].points[week1].value == 66.7  # p2 booked, p5 done, p3 not
    assert by_key["first_visit_within"].lines[0].points[0].value == 100.0  # patient 1: 7 days
    assert by_key["tasks_opened_resolved"].lines[0].points[week1].value == 1
    tomorrow = report.huddle.days[1]
    assert tomorrow.day == date(2026, 3, 3) and tomorrow.visit_count == 1
    row = tomorrow.providers[0].visits[0]
    assert row.patient == "Demoor, Casey" and [f.key for f in row.flags] == ["insurance"]
    assert [(r.role, r.open, r.overdue) for r in report.huddle.roles] == [("financial", 1, 1)]
