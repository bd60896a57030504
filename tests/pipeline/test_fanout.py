"""Whom a run asks for per-patient lists (pipeline/fanout.py): new, changed and due patients of the working set.

End to end against the fake Open Dental: tests/pipeline/test_api_quiet_night.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pms_bridge.model import Appointment, Patient
from pms_bridge.pipeline import fanout
from pms_bridge.pipeline.fanout import (
    PatientFanout,
    read_fetched,
    refresh_due,
    write_fetched,
)
from pms_bridge.store import Store

TZ = ZoneInfo("America/Chicago")
TODAY = date(2026, 3, 2)


def test_the_cursor_remembers_whom_it_fetched_and_when() -> None:
    fetched = {"7": (3, TODAY), "12": (3, TODAY), "100": (5, TODAY + timedelta(days=1))}
    assert read_fetched(write_fetched(fetched)) == fetched
    assert read_fetched(None) == {} and read_fetched('{"server_time": "2026-03-02 08:00:00"}') == {}
    assert read_fetched("not json") == {}
    assert read_fetched('{"fetched": [[3, "not a day", ["7"]], [4, "2026-03-02", ["8"]]]}') == {"8": (4, TODAY)}


@pytest.mark.parametrize("every", [1, 3, 7])
def test_each_patient_is_due_within_its_days_and_the_nights_share_them(every: int) -> None:
    patients = [str(n) for n in range(1, 701)]
    for patient in patients[:50]:
        assert not refresh_due(patient, TODAY, TODAY, every)  # fetched today
        assert any(refresh_due(patient, TODAY, TODAY + timedelta(days=d), every) for d in range(1, every + 1))
        assert refresh_due(patient, TODAY, TODAY + timedelta(days=every), every)
    tomorrow = TODAY + timedelta(days=1)
    share = sum(refresh_due(p, TODAY, tomorrow, every) for p in patients) / len(patients)
    assert 0.5 / every <= share <= 1.5 / every
    assert all(refresh_due(p, TODAY, TODAY, 0) for p in patients[:10])  # 0: every run


def _patient(pid: str, last: str = "Testlast") -> Patient:
    return Patient(source_id=pid, last_name=last, first_name="Ann", birth_date=date(1990, 1, 2), status="patient")


def _visit(pid: str, day: date) -> Appointment:
    return Appointment(source_id=f"a{pid}", patient_id=pid, start=datetime(day.year, day.month, day.day, 9, tzinfo=TZ),
                       minutes=60, status="scheduled")


def _night(store: Store, run: int, cursor: str | None, today: date = TODAY) -> tuple[list[str], str]:
    choice = PatientFanout(store, today, run_id=run).choose(["document"], cursor)
    return choice.patients, choice.cursor


def test_a_run_asks_for_new_and_changed_patients_only(store: Store) -> None:
    store.upsert_records("patient", [_patient(p) for p in ("1", "2", "3", "4")], run_id=1)
    store.upsert_records("appointment", [_visit(p, TODAY + timedelta(days=3)) for p in ("1", "2", "3")], run_id=1)
    asked, cursor = _night(store, 1, None)
    assert asked == ["1", "2", "3"]  # "4" has nothing coming up: no rule needs its lists

    assert _night(store, 2, cursor)[0] == []  # nothing changed
    store.upsert_records("patient", [_patient("2", last="Renamed")], run_id=3)
    store.upsert_records("appointment", [_visit("4", TODAY + timedelta(days=5))], run_id=3)  # "4" books
    asked, cursor = _night(store, 3, cursor)
    assert asked == ["2", "4"]
    assert _night(store, 4, cursor)[0] == []


def test_a_patient_back_in_the_working_set_is_asked_again(store: Store) -> None:
    store.upsert_records("patient", [_patient(p) for p in ("1", "2")], run_id=1)
    store.upsert_records("appointment", [_visit(p, TODAY + timedelta(days=3)) for p in ("1", "2")], run_id=1)
    _, cursor = _night(store, 1, None)
    store.upsert_records("appointment", [_visit("2", TODAY + timedelta(days=60))], run_id=2)  # moved far out
    asked, cursor = _night(store, 2, cursor)
    assert asked == [] and set(read_fetched(cursor)) == {"1"}  # forgotten once out of the working set
    # Back in the window without a change of its own (the office fixed a typo in the date, say, weeks ago).
    store.upsert_records("appointment", [_visit("2", TODAY + timedelta(days=4))], run_id=3)
    assert _night(store, 4, cursor)[0] == ["2"]


def test_the_safety_net_asks_everyone_within_refresh_days(store: Store) -> None:
    patients = [str(n) for n in range(1, 41)]
    store.upsert_records("patient", [_patient(p) for p in patients], run_id=1)
    store.upsert_records("appointment", [_visit(p, TODAY + timedelta(days=10)) for p in patients], run_id=1)
    _, cursor = _night(store, 1, None)
    seen: set[str] = set()
    for day in range(1, fanout.REFRESH_DAYS + 1):
        asked, cursor = _night(store, 1 + day, cursor, TODAY + timedelta(days=day))
        assert len(asked) < len(patients) or day == fanout.REFRESH_DAYS
        assert not seen & set(asked) or day == fanout.REFRESH_DAYS  # once each, until the cycle starts over
        seen |= set(asked)
    assert seen == set(patients)
