"""Held rules: their vanished findings resolve no task, yet a task whose appointment started still expires."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pms_bridge.ledger import reconcile
from pms_bridge.rules import Finding

TZ = ZoneInfo("America/Chicago")
OPENED = datetime(2026, 3, 2, 8, tzinfo=TZ)
STARTS = {"A1": datetime(2026, 3, 5, 9, tzinfo=TZ), "A2": datetime(2026, 3, 2, 12, tzinfo=TZ)}


def finding(rule: str, apt: str) -> Finding:
    return Finding(rule=rule, subject_type="appointment", subject_id=apt, patient_id="P1", appointment_id=apt,
                   title="t", detail="d", due=date(2026, 3, 4))


def _open_tasks():
    found = [finding("FRM002", "A1"), finding("FRM002", "A2"), finding("SCH003", "A1")]
    update = reconcile({}, found, as_of=OPENED, tz=TZ, evaluated_rules={"FRM002", "SCH003"}, appointment_starts=STARTS)
    return dict(update.changed)


def test_a_held_rule_resolves_nothing_while_other_rules_close_as_usual() -> None:
    later = OPENED + timedelta(hours=1)  # A2 (12:00) has not started yet
    update = reconcile(_open_tasks(), [], as_of=later, tz=TZ, evaluated_rules={"FRM002", "SCH003"},
                       appointment_starts=STARTS, held={"FRM002": "sheet.csv has 1 quarantined row"})
    assert {k: t.status for k, t in update.changed.items()} == {"SCH003:appointment:A1": "resolved"}
    assert update.held == {"FRM002": 2}
    assert update.counts["resolved"] == 1 and update.counts["expired"] == 0


def test_a_held_rules_task_still_expires_when_its_appointment_started() -> None:
    later = datetime(2026, 3, 3, 8, tzinfo=TZ)  # A2 started yesterday
    update = reconcile(_open_tasks(), [], as_of=later, tz=TZ, evaluated_rules={"FRM002", "SCH003"},
                       appointment_starts=STARTS, held={"FRM002": "why", "SCH003": "why"})
    assert {k: t.status for k, t in update.changed.items()} == {"FRM002:appointment:A2": "expired"}
    assert update.held == {"FRM002": 1, "SCH003": 1}


def test_a_held_rules_finding_still_opens_and_updates_tasks() -> None:
    tasks = _open_tasks()
    again = [finding("FRM002", "A1"), finding("FRM002", "A3")]
    update = reconcile(tasks, again, as_of=OPENED, tz=TZ, evaluated_rules={"FRM002", "SCH003"},
                       appointment_starts={**STARTS, "A3": STARTS["A1"]}, held={"FRM002": "why"})
    assert update.changed["FRM002:appointment:A3"].status == "open" and update.counts["opened"] == 1
    assert update.changed["SCH003:appointment:A1"].status == "resolved"
    assert "FRM002:appointment:A2" not in update.changed and update.held == {"FRM002": 1}
