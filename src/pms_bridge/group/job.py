"""One location's run as a Celery job: claim it, run it, record how it went in the shared store.

A job is safe to run again: a run merges into the store and the task ledger (a task is never pushed
twice), a cursor advances only after its rows are stored. So a message delivered twice, or again
after its worker died, costs a second run at most, never a wrong result. Two runs of one location
never overlap: the run holds the location's lock in PostgreSQL (freed when its holder dies); a job
that finds it held waits and tries again, within ``busy_wait_minutes``.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import OperationalError

from pms_bridge.config.group import Group
from pms_bridge.errors import SourceUnreachable, kind_of
from pms_bridge.pipeline import SyncReport
from pms_bridge.pipeline.run import parse_as_of, run_sync
from pms_bridge.store import StoreBusy
from pms_bridge.store.group_book import FAILED, PARTIAL, SUCCEEDED, GroupBook

log = structlog.get_logger("pms_bridge.group")

MAX_BACKOFF_SECONDS = 1800


def job_summary(report: SyncReport, seconds: float) -> dict[str, Any]:
    """What the group's summary shows of a location's run: counts and times, nothing about a patient."""
    checks, tasks = report.checks, report.tasks
    return {
        "status": report.status,
        "rows_read": sum(r.rows_read for r in report.resources),
        "rows_stored": sum(r.stored.inserted + r.stored.updated for r in report.resources),
        "quarantined": report.quarantined,
        "failed_resources": len(report.failed),
        "findings": sum(checks.counts().values()) if checks else None,
        "tasks_open": tasks.open_tasks if tasks else None,
        "tasks_opened": tasks.counts.get("opened", 0) if tasks else None,
        "tasks_resolved": tasks.counts.get("resolved", 0) if tasks else None,
        "push_failures": tasks.push_failures if tasks else None,
        "seconds": round(seconds, 1),
        "data_as_of": report.data_as_of.isoformat() if report.data_as_of else None,
    }


def describe_failure(exc: BaseException) -> str:
    """pms-bridge's own messages name files, keys and ids only; anything else is named by its type alone."""
    kind = kind_of(exc)
    return f"{kind.label}: {exc}" if kind is not None else f"unexpected {type(exc).__name__} (a bug: see the worker's log)"


def run_location(task: Any, group_run_id: int, location: str, as_of: str | None, store_outages: int = 0) -> str:
    """The Celery task body (bound: ``task`` is the Celery task). Returns the job's final state.

    The shared store down (before, between or after the run) leaves nothing recorded: the job is sent
    again with a doubling wait, at most ``retries`` times (then the worker's log says it gave up and the
    group run's --timeout or `group status` shows the job unfinished). Running it again is safe."""
    group: Group = task.app.pms_bridge_group
    settings = group.settings.queue
    try:
        book = GroupBook.open(group.store_url)
        try:
            return _run(task, group, book, group_run_id, location, as_of)
        finally:
            book.close()
    except (SourceUnreachable, OperationalError) as exc:  # from the group's own bookkeeping in the store
        if store_outages >= settings.retries:
            log.error("group.store_unreachable_gave_up", group_run=group_run_id, location=location,
                      outages=store_outages + 1, error=type(exc).__name__)
            raise
        retry_in = min(settings.retry_backoff_seconds * 2**store_outages, MAX_BACKOFF_SECONDS)
        log.warning("group.store_unreachable", group_run=group_run_id, location=location, in_seconds=retry_in,
                    error=type(exc).__name__)
        raise task.retry(countdown=retry_in, args=(group_run_id, location, as_of),
                         kwargs={"store_outages": store_outages + 1}) from None


def _run(task: Any, group: Group, book: GroupBook, group_run_id: int, location: str, as_of: str | None) -> str:
    settings = group.settings.queue
    worker = f"{task.request.hostname or socket.gethostname()} pid {os.getpid()}"
    token = uuid.uuid4().hex
    claim = book.claim(group_run_id, location, token, worker)
    if claim is None:
        if book.run(group_run_id) is None:  # the message was not this store's (two groups on one queue?)
            log.warning("group.job_unknown", group_run=group_run_id, location=location)
            return "unknown"
        log.info("group.job_already_done", group_run=group_run_id, location=location)
        return "done"
    if location not in group.locations:
        book.finish(group_run_id, location, token, FAILED,
                    note=f"this worker's group file has no location {location!r}: restart the workers with the "
                         "current group file")
        return FAILED
    if claim.lost >= settings.lost_worker_limit:
        book.finish(group_run_id, location, token, FAILED,
                    note=f"its worker died {claim.lost} times mid-run (killed, or out of memory?): not started again")
        return FAILED
    log.info("group.job_started", group_run=group_run_id, location=location, attempt=claim.attempts)
    config = group.locations[location].config
    began = time.monotonic()
    try:
        report = run_sync(config, parse_as_of(as_of, config) if as_of else None, command="group run", check=True)
    except StoreBusy as exc:
        waited = datetime.now(UTC) - (claim.waiting_since or datetime.now(UTC))
        if waited > timedelta(minutes=settings.busy_wait_minutes):
            book.finish(group_run_id, location, token, FAILED,
                        note=f"still busy after {settings.busy_wait_minutes:g} minutes: {exc}")
            return FAILED
        retry_in = settings.busy_poll_seconds
        book.wait(group_run_id, location, token, str(exc), datetime.now(UTC) + timedelta(seconds=retry_in))
        raise task.retry(countdown=retry_in) from None
    except SourceUnreachable as exc:  # the PMS or the store did not answer: transient
        if claim.failures >= settings.retries:
            book.finish(group_run_id, location, token, FAILED, run_id=getattr(exc, "pms_bridge_failed_run", None),
                        note=f"{describe_failure(exc)} (after {claim.failures} retries)")
            return FAILED
        retry_in = min(settings.retry_backoff_seconds * 2**claim.failures, MAX_BACKOFF_SECONDS)
        book.retry(group_run_id, location, token, describe_failure(exc),
                   datetime.now(UTC) + timedelta(seconds=retry_in))
        log.warning("group.job_retry", group_run=group_run_id, location=location, retry=claim.failures + 1,
                    in_seconds=retry_in, error=type(exc).__name__)
        raise task.retry(countdown=retry_in) from None
    except Exception as exc:  # noqa: BLE001 - a bad config or a bug: one location's failure ends only its job
        book.finish(group_run_id, location, token, FAILED, run_id=getattr(exc, "pms_bridge_failed_run", None),
                    note=describe_failure(exc))
        # The type only: an unexpected error's message may quote a row (no traceback either, as the CLI).
        log.error("group.job_failed", group_run=group_run_id, location=location, error=type(exc).__name__)
        return FAILED
    state = PARTIAL if report.status == "partial" else SUCCEEDED
    summary = job_summary(report, time.monotonic() - began)
    if not book.finish(group_run_id, location, token, state, run_id=report.run_id, summary=summary):
        log.warning("group.job_superseded", group_run=group_run_id, location=location)  # a newer attempt owns it
    log.info("group.job_finished", group_run=group_run_id, location=location, state=state, run=report.run_id)
    return state
