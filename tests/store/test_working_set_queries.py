"""The rules' working set by indexed queries: whom it loads, and everything about them (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pms_bridge.model import (
    Appointment,
    Claim,
    Coverage,
    Document,
    Form,
    Patient,
    Procedure,
    ProcedureCode,
    Provider,
    Record,
    Referral,
    Verification,
)
from pms_bridge.store import (
    Reach,
    Store,
    appointment_starts,
    clinic_names,
    find_working_set,
    patients_by_id,
    working_set_records,
)

TZ = ZoneInfo("America/Chicago")
AS_OF = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)
TODAY = AS_OF.date()
REACH = Reach(AS_OF, window_days=14, first_contact_days=90, referral_days=365)


def _at(days: int, hour: int = 9) -> datetime:
    day = TODAY + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=TZ)


def _patient(pid: str, **kw: object) -> Patient:
    return Patient(source_id=pid, last_name="Testpatient", **kw)  # type: ignore[arg-type]


def _apt(aid: str, pid: str, start: datetime | None, status: str = "scheduled", **kw: object) -> Appointment:
    return Appointment(source_id=aid, patient_id=pid, start=start, minutes=60, status=status, **kw)  # type: ignore[arg-type]


def _history(pid: str, n: int) -> list[Record]:
    """Everything a patient can have on file, years back: n of each (ids start with the patient's)."""
    out: list[Record] = []
    for i in range(n):
        k = f"{pid}{i}"
        out += [
            _apt(f"a{k}", pid, _at(-900 + i), "complete"),
            Procedure(source_id=f"p{k}", patient_id=pid, code="D0274", status="complete", appointment_id=f"a{k}",
                      procedure_date=TODAY - timedelta(days=900 - i)),
            Document(source_id=f"d{k}", patient_id=pid, is_radiograph=True, radiograph_kind="bitewing",
                     taken_date=TODAY - timedelta(days=800)),
            Form(source_id=f"f{k}", patient_id=pid, kind="health_history", completed_at=_at(-700)),
            Claim(source_id=f"c{k}", patient_id=pid, status="received"),
        ]
    out += [
        Coverage(source_id=f"cov{pid}", patient_id=pid, plan_id=f"plan{pid}", subscriber_id="SUB1"),
        Verification(source_id=f"vc{pid}", kind="eligibility", coverage_id=f"cov{pid}", verified_on=date(2025, 1, 2)),
        Verification(source_id=f"vp{pid}", kind="benefits", plan_id=f"plan{pid}", verified_on=date(2025, 1, 3)),
        Referral(source_id=f"r{pid}", patient_id=pid, direction="out", referral_date=date(2021, 5, 5)),
    ]
    return out


def _save(store: Store, records: list[Record]) -> None:
    by_entity: dict[str, list[Record]] = {}
    for r in records:
        by_entity.setdefault(r.entity, []).append(r)
    for entity, rows in by_entity.items():
        store.upsert_records(entity, rows, run_id=1)


@pytest.fixture
def practice_store(store: Store) -> Store:
    _save(store, [
        Provider(source_id="1", abbr="DOC", kind="dentist"),
        ProcedureCode(source_id="1", code="D0274"),
        # in the window (and the last minute before it, and the first after it, of others)
        _patient("10"), _apt("w10", "10", AS_OF), *_history("10", 3),
        _patient("11"), _apt("w11", "11", _at(14, 7)), *_history("11", 1),  # 2026-03-16 07:00 < 08:00: inside
        _patient("12"), _apt("w12", "12", _at(14, 8)), *_history("12", 1),  # as_of + 14 days: outside
        _patient("13"), _apt("w13", "13", AS_OF - timedelta(minutes=1)), *_history("13", 1),  # started
        _patient("14"), _apt("w14", "14", _at(3), "broken"), *_history("14", 1),  # not scheduled
        # a recent referral in, a referral out on the edge, a first contact: their whole history comes
        _patient("20"), Referral(source_id="r20in", patient_id="20", direction="in", referral_date=TODAY),
        *_history("20", 2),
        _patient("21"), Referral(source_id="r21edge", patient_id="21", direction="out",
                                 referral_date=TODAY - timedelta(days=365)),
        _patient("22"), Referral(source_id="r22old", patient_id="22", direction="out",
                                 referral_date=TODAY - timedelta(days=366)),
        _patient("23", first_contact_date=TODAY - timedelta(days=90)), *_history("23", 1),
        _patient("24", first_contact_date=TODAY - timedelta(days=91)),
        _patient("25", first_contact_date=TODAY + timedelta(days=1)),
        # a deleted patient with a visit in the window is loaded like any other
        _patient("30", status="deleted"), _apt("w30", "30", _at(2)), *_history("30", 1),
        # outside every horizon
        _patient("40", first_contact_date=date(2020, 1, 1)), *_history("40", 4),
        # a procedure charted to a window appointment under another patient
        Procedure(source_id="stray", patient_id="40", code="D2740", status="planned", appointment_id="w10"),
        # an appointment whose patient row is missing, in the window
        _apt("w50", "50", _at(1)),
    ])
    return store


def _keys(records: list[Record]) -> set[tuple[str, str]]:
    return {(r.entity, r.source_id) for r in records}


def _stored_of(store: Store, patients: set[str]) -> set[tuple[str, str]]:
    """What the store holds about these patients, read the slow way (every row)."""
    out: set[tuple[str, str]] = set()
    coverages = {c.source_id for c in store.records("coverage") if c.patient_id in patients}  # type: ignore[attr-defined]
    plans = {c.plan_id for c in store.records("coverage") if c.patient_id in patients}  # type: ignore[attr-defined]
    for entity in ("patient", "appointment", "procedure", "coverage", "referral", "document", "form", "claim"):
        for r in store.records(entity):
            pid = r.source_id if entity == "patient" else r.patient_id  # type: ignore[attr-defined]
            if pid in patients:
                out.add((entity, r.source_id))
    for v in store.records("verification"):
        if v.coverage_id in coverages or v.plan_id in plans:  # type: ignore[attr-defined]
            out.add(("verification", v.source_id))
    return out


def test_the_working_set_is_the_patients_in_the_window_and_the_lookbacks(practice_store: Store) -> None:
    found = find_working_set(practice_store, REACH)
    assert found.patient_ids == {"10", "11", "20", "21", "23", "30", "50"}
    assert found.window_appointment_ids == {"w10", "w11", "w30", "w50"}


def test_shorter_reach_loads_fewer(practice_store: Store) -> None:
    found = find_working_set(practice_store, Reach(AS_OF, window_days=0, first_contact_days=0, referral_days=0))
    assert found.patient_ids == {"20"}  # the referral of today
    assert found.window_appointment_ids == set()


def test_a_patient_in_the_working_set_comes_with_all_history(practice_store: Store) -> None:
    found = find_working_set(practice_store, REACH)
    records = list(working_set_records(practice_store, found))
    keys = _keys(records)
    assert len(keys) == len(records)  # each record once
    wide = {("provider", "1"), ("procedure_code", "1")}
    assert keys == wide | _stored_of(practice_store, found.patient_ids) | {("procedure", "stray")}
    assert ("verification", "vp10") in keys  # the plan's benefit check, by the patient's plan
    outside = _stored_of(practice_store, {"12", "13", "14", "22", "24", "25", "40"})
    assert len(outside) > 30 and keys & outside == {("procedure", "stray")}  # of patient 40, on w10
    assert {("patient", "30"), ("appointment", "w30"), ("claim", "c300")} <= keys  # deleted patient, whole


def test_only_the_entities_asked_for(practice_store: Store) -> None:
    found = find_working_set(practice_store, REACH)
    records = list(working_set_records(practice_store, found, {"patient", "appointment", "coverage"}))
    assert {r.entity for r in records} == {"patient", "appointment", "coverage"}


def test_records_are_the_models_the_store_rebuilds(practice_store: Store) -> None:
    found = find_working_set(practice_store, REACH)
    fast = {(r.entity, r.source_id): r for r in working_set_records(practice_store, found)}
    for entity in ("patient", "appointment", "procedure", "verification", "document", "form"):
        for slow in practice_store.records(entity):
            if (entity, slow.source_id) in fast:
                assert fast[(entity, slow.source_id)] == slow
                assert type(fast[(entity, slow.source_id)]) is type(slow)


def test_clinic_names_come_from_every_stored_patient_and_appointment(store: Store) -> None:
    _save(store, [
        _patient("1", clinic_id="3", clinic="North"), _patient("2", clinic_id="3", clinic="North"),
        _patient("3", clinic_id="4"), _patient("4"),
        _apt("a1", "1", _at(-1000), "complete", clinic_id="3", clinic="N. Branch"),
        _apt("a2", "1", _at(5), clinic_id="7", clinic="Far"),
    ])
    assert clinic_names(store) == {"3": {"North", "N. Branch"}, "4": set(), "7": {"Far"}}


def test_appointment_starts_by_id(store: Store) -> None:
    _save(store, [_apt("a1", "1", _at(1)), _apt("a2", "1", None, "planned")])
    assert appointment_starts(store, ["a1", "a2", "gone"]) == {"a1": _at(1), "a2": None}
    assert appointment_starts(store, []) == {}


def test_patients_by_id(store: Store) -> None:
    _save(store, [_patient(str(i)) for i in range(5)])
    assert sorted(p.source_id for p in patients_by_id(store, ["1", "3", "9"])) == ["1", "3"]
