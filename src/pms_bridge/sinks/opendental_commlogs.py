"""Open Dental commlog notes, one per open task, once (``[[sinks]] type = "opendental-commlog"``).

The fallback for practices without the paid API tier that task writes need. A note whose patient
Open Dental no longer has fails alone (404 "Patient not found."), the others are still written.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import structlog
from pydantic import BaseModel

from pms_bridge.connectors.api_client import ApiClient, ApiConfigError, ApiItemNotFound
from pms_bridge.ledger import Task
from pms_bridge.sinks.opendental_links import stale
from pms_bridge.sinks.opendental_outcomes import Calls, PushReport, with_hint
from pms_bridge.sinks.opendental_requests import (
    create_checked,
    get_all,
    marked_key,
    od_num,
    parse_od_datetime,
    task_text,
)
from pms_bridge.sinks.opendental_settings import CommlogSinkSettings, parse_settings, sink_table, sink_where
from pms_bridge.sinks.pushes import PushLedger, PushRecord
from pms_bridge.store import Store

log = structlog.get_logger("pms_bridge.sinks.opendental")

COMMLOG_SINK = "opendental-commlog"


def push_commlogs(
    client: ApiClient,
    store: Store,
    sink: dict[str, Any] | BaseModel,
    tasks: list[Task],
    *,
    now: datetime,
    run_id: int | None,
    index: int | None = None,
) -> PushReport:
    """One commlog note in the patient's chart per open task, once per task key.

    The fallback for practices without the paid API tier that task writes need:
    creating or updating a task is an "AllOthers" API permission (Open Dental's
    $30 tier), while creating a commlog only needs "Comm" (the $15 tier). A
    commlog is a note, not a to-do: it is never updated or closed, and a task
    that opens again later is not noted a second time.
    """
    table = sink_table(sink)
    where = sink_where(table, index)
    settings = parse_settings(CommlogSinkSettings, table, where)
    report = PushReport()
    calls = Calls(report)
    pushes = PushLedger(store, COMMLOG_SINK)
    records = pushes.load()
    tz = store.practice.tz

    def save(rec: PushRecord, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(rec, name, value)
        rec.updated_at = now
        rec.run_id = run_id
        pushes.save(rec)

    def find(pat_num: str, key: str) -> dict[str, Any] | None:
        rows = [r for r in get_all(client, "/commlogs", {"PatNum": pat_num}) if marked_key(r.get("Note")) == key]
        return min(rows, key=lambda r: int(od_num(r.get("CommlogNum")) or 0)) if rows else None

    def create(body: dict[str, Any], pat_num: str, key: str) -> tuple[dict[str, Any], bool]:
        try:
            return create_checked(client, "/commlogs", body, lambda: find(pat_num, key), "CommlogNum")
        except ApiItemNotFound as exc:
            if (exc.item or "").lower() != "patient":
                raise
            pushes.delete(key)  # a 404 wrote nothing: no copy to look for next time
            raise stale("patient", pat_num, exc, "no note written; the next run tries again") from None

    def adopt(rec: PushRecord, row: dict[str, Any]) -> None:
        remote_created = parse_od_datetime(row.get("DateTEntry") or row.get("CommDateTime"), tz)
        save(rec, state="sent", remote_id=od_num(row.get("CommlogNum")), remote_created=remote_created)

    try:
        for task in sorted(tasks, key=lambda t: t.key):
            key = task.key
            rec = records.get(key)
            if rec is not None and rec.state != "pending":
                continue  # noted already: never twice
            if rec is None and task.status != "open":
                continue
            pat_num = od_num(task.patient_id)
            if pat_num is None:
                calls.fail(key, "its patient id is not an Open Dental PatNum")
                continue
            if rec is not None:  # pending: a crash or a lost answer may have left the note
                ok, found = calls.run(key, lambda: find(pat_num, key))  # noqa: B023 - called at once
                if not ok:
                    continue
                if found is not None:
                    adopt(rec, found)
                    report.adopted += 1
                    continue
                if task.status != "open":
                    pushes.delete(key)
                    continue
            else:
                rec = PushRecord(key=key, state="pending", text_hash="", created_at=now, updated_at=now)
            if calls.halted():
                continue
            note = task_text(task)
            body: dict[str, Any] = {"PatNum": int(pat_num), "Note": note, "Mode_": "None", "SentOrReceived": "Neither"}
            if settings.comm_type:
                body["CommType"] = settings.comm_type
            text_hash = hashlib.sha1(note.encode(), usedforsecurity=False).hexdigest()
            save(rec, state="pending", target=pat_num, text_hash=text_hash)  # before it is sent
            ok, result = calls.run(key, lambda: create(body, pat_num, key))  # noqa: B023 - called at once
            if not ok or result is None:
                continue
            adopt(rec, result[0])
            report.created += 1
    except ApiConfigError as exc:
        raise with_hint(
            exc, where, "writing commlogs needs the customer key's 'Comm' API permission (the $15 tier)"
        ) from None
    counts = {k: v for k, v in report.as_dict().items() if k not in ("errors", "warnings")}
    log.info("sink.pushed", sink=COMMLOG_SINK, **counts)
    return report
