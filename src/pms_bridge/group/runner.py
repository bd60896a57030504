"""`group run`: queue one job per location, then follow the jobs in the shared store until they end."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

from pms_bridge.config.group import Group, Location
from pms_bridge.errors import SourceUnreachable
from pms_bridge.group.app import TASK_NAME, shown_broker
from pms_bridge.store.group_book import GroupBook, Job

BROKER_TIMEOUT_SECONDS = 5


class BrokerUnreachable(SourceUnreachable):
    """The queue's broker does not answer (exit code 3)."""


def _unreachable(group: Group, exc: BaseException, outcome: str) -> BrokerUnreachable:
    return BrokerUnreachable(
        f"the queue's broker at {shown_broker(group)} is not reachable ({type(exc).__name__}): start RabbitMQ or "
        f"Redis there, or fix [queue] broker in {group.path.name}; {outcome}")


def check_broker(app: Any, group: Group, outcome: str = "nothing was queued") -> None:
    """Connect to the broker once, quickly; :class:`BrokerUnreachable` (saying ``outcome``) when it does not answer."""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - kombu raises the transport's own errors
        raise _unreachable(group, exc, outcome) from None


def enqueue(app: Any, group: Group, book: GroupBook, locations: Sequence[Location], as_of: str | None) -> int:
    """Record the group run and send one message per location (ids, keys and ``as_of`` as given: each job reads
    it in its location's timezone); returns the group run id."""
    check_broker(app, group)
    keys = [loc.key for loc in locations]
    run_id = book.start(group.key, as_of, keys, requested_by=f"{socket.gethostname()} pid {os.getpid()}")
    for i, key in enumerate(keys):
        try:
            app.send_task(TASK_NAME, args=[run_id, key, as_of], queue=group.queue,
                          retry=True, retry_policy={"max_retries": 3, "interval_start": 0.5, "interval_step": 1})
        except Exception as exc:  # noqa: BLE001 - the broker went away while sending
            for unsent in keys[i:]:
                book.give_up(run_id, unsent, "not queued: the broker stopped answering while the run was sent")
            raise _unreachable(group, exc, f"{len(keys) - i} of {len(keys)} locations were not queued") from None
    return run_id


def listening_workers(app: Any, group: Group) -> int:
    """How many workers consume this group's queue (asked over the broker; 0 when none answer in a second)."""
    try:
        answers = app.control.inspect(timeout=1.0).active_queues() or {}
    except Exception:  # noqa: BLE001 - a question that gets no answer means no worker
        return 0
    return sum(1 for queues in answers.values() if any(q.get("name") == group.queue for q in queues))


def follow(
    book: GroupBook,
    run_id: int,
    on_change: Callable[[Job, Job | None], None],
    *,
    poll_seconds: float = 1.0,
    timeout_seconds: float | None = None,
    on_idle: Callable[[float], None] | None = None,
) -> list[Job]:
    """Poll the group run's jobs until all have ended (or ``timeout_seconds``); ``on_change(job, before)``
    for each change of a job's state or attempt; ``on_idle(seconds)`` while no job has started yet."""
    seen: dict[str, Job] = {}
    began = time.monotonic()
    while True:
        jobs = book.jobs(run_id)
        for job in jobs:
            before = seen.get(job.location)
            if before is None or (before.state, before.attempts) != (job.state, job.attempts):
                if before is not None or job.state != "queued":
                    on_change(job, before)
                seen[job.location] = job
        if all(job.done for job in jobs):
            return jobs
        waited = time.monotonic() - began
        if timeout_seconds is not None and waited >= timeout_seconds:
            return jobs
        if on_idle is not None and all(job.state == "queued" for job in jobs):
            on_idle(waited)
        time.sleep(poll_seconds)
