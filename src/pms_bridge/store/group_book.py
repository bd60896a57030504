"""A group's runs in the shared store: which locations a `group run` asked for and how each job went.

The broker carries only (group run id, location key, as-of); the workers write each job's progress
here and `group run` / `group status` read it, so no result backend is needed and nothing about a
patient leaves the store. Every write after a job is claimed names the claim's token: a worker that
was given up for dead (its message delivered to another worker) cannot overwrite the newer attempt.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    select,
    update,
)

from pms_bridge.store.engine import open_engine

metadata = MetaData()

group_runs = Table(
    "group_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_key", String(63), nullable=False, index=True),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("requested_by", String(300), nullable=False),  # host and pid of the `group run`
    Column("as_of", String(64)),  # --as-of as given (each location reads it in its own timezone)
    Column("locations", Integer, nullable=False),
)

group_jobs = Table(
    "group_jobs",
    metadata,
    Column("group_run_id", Integer, primary_key=True),
    Column("location", String(63), primary_key=True),
    Column("state", String(16), nullable=False),  # see JOB_STATES
    Column("token", String(32)),  # the current attempt's claim
    Column("attempts", Integer, nullable=False, default=0),  # times a worker started it
    Column("lost", Integer, nullable=False, default=0),  # attempts whose worker died mid-job
    Column("failures", Integer, nullable=False, default=0),  # transient failures (retried while within bounds)
    Column("worker", String(300)),
    Column("queued_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),  # the current attempt's
    Column("finished_at", DateTime(timezone=True)),
    Column("next_try_at", DateTime(timezone=True)),
    Column("run_id", Integer),  # the location's run in the store (runs table) that ended the job
    Column("note", Text),  # why it waits or retries; the error of a failed job (no patient data)
    Column("summary", JSON),  # counts only
)

QUEUED, RUNNING, WAITING, RETRYING, SUCCEEDED, PARTIAL, FAILED = (
    "queued", "running", "waiting", "retrying", "succeeded", "partial", "failed")
JOB_STATES = (QUEUED, RUNNING, WAITING, RETRYING, SUCCEEDED, PARTIAL, FAILED)
FINAL_STATES = (SUCCEEDED, PARTIAL, FAILED)

_SCHEMA_LOCK = 0x706D73_67726F_7570  # "pmsgroup": one creator of the group tables at a time


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Job:
    group_run_id: int
    location: str
    state: str
    attempts: int
    lost: int
    failures: int
    worker: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    next_try_at: datetime | None
    run_id: int | None
    note: str | None
    summary: dict[str, Any] | None

    @property
    def done(self) -> bool:
        return self.state in FINAL_STATES

    @classmethod
    def from_row(cls, row: Any) -> Job:
        values = row._mapping
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Claim:
    """An attempt at a job: its token, and the job's counts so far."""

    token: str
    attempts: int
    lost: int
    failures: int
    waiting_since: datetime | None  # when it first found the location busy (None: it never waited)


@dataclass(frozen=True)
class GroupRun:
    id: int
    group_key: str
    requested_at: datetime
    requested_by: str
    as_of: str | None
    locations: int


class GroupBook:
    """The group tables of a shared store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
            metadata.create_all(conn, checkfirst=True)

    @classmethod
    def open(cls, url: str) -> GroupBook:
        engine = open_engine(url)
        try:
            return cls(engine)
        except BaseException:
            engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Any]:
        with self.engine.begin() as conn:
            yield conn

    def start(self, group_key: str, as_of: str | None, locations: Sequence[str], requested_by: str) -> int:
        """Record a group run and queue one job per location; returns the group run's id."""
        now = _now()
        with self._write() as conn:
            run_id = conn.execute(group_runs.insert().values(
                group_key=group_key, requested_at=now, requested_by=requested_by[:300], as_of=as_of,
                locations=len(locations)).returning(group_runs.c.id)).scalar_one()
            if locations:
                conn.execute(group_jobs.insert(), [
                    {"group_run_id": run_id, "location": key, "state": QUEUED, "attempts": 0, "lost": 0,
                     "failures": 0, "queued_at": now} for key in locations])
        return int(run_id)

    def claim(self, group_run_id: int, location: str, token: str, worker: str) -> Claim | None:
        """Start an attempt; None when the job is already finished (a message delivered twice)."""
        key = and_(group_jobs.c.group_run_id == group_run_id, group_jobs.c.location == location)
        with self._write() as conn:
            row = conn.execute(select(group_jobs).where(key).with_for_update()).first()
            if row is None or row.state in FINAL_STATES:
                return None
            # Found running: the attempt before this one ended without a word (its worker died, or
            # still runs orphaned: the location's run lock keeps the two from overlapping).
            lost = row.lost + (1 if row.state == RUNNING else 0)
            waiting_since = row.started_at if row.state == WAITING else None
            conn.execute(update(group_jobs).where(key).values(
                state=RUNNING, token=token, attempts=row.attempts + 1, lost=lost, worker=worker[:300],
                started_at=waiting_since or _now(), next_try_at=None))
        return Claim(token, row.attempts + 1, lost, row.failures, waiting_since)

    def _set(self, group_run_id: int, location: str, token: str, **values: Any) -> bool:
        with self._write() as conn:
            result = conn.execute(update(group_jobs).where(
                group_jobs.c.group_run_id == group_run_id, group_jobs.c.location == location,
                group_jobs.c.token == token, group_jobs.c.state.not_in(FINAL_STATES)).values(**values))
        return bool(result.rowcount)

    def wait(self, group_run_id: int, location: str, token: str, why: str, next_try_at: datetime) -> bool:
        """The location is busy with another run: the job waits (started_at keeps when it began waiting)."""
        return self._set(group_run_id, location, token, state=WAITING, note=why, next_try_at=next_try_at)

    def retry(self, group_run_id: int, location: str, token: str, why: str, next_try_at: datetime) -> bool:
        """A transient failure: the job is tried again at ``next_try_at``."""
        return self._set(group_run_id, location, token, state=RETRYING, note=why, next_try_at=next_try_at,
                         failures=group_jobs.c.failures + 1)

    def finish(self, group_run_id: int, location: str, token: str, state: str, *, run_id: int | None = None,
               note: str | None = None, summary: dict[str, Any] | None = None) -> bool:
        """End the job (succeeded, partial or failed); False when a newer attempt owns it."""
        assert state in FINAL_STATES
        return self._set(group_run_id, location, token, state=state, run_id=run_id, note=note, summary=summary,
                         finished_at=_now(), next_try_at=None)

    def give_up(self, group_run_id: int, location: str, why: str) -> None:
        """Fail a job that was never started (its message could not be sent)."""
        with self._write() as conn:
            conn.execute(update(group_jobs).where(
                group_jobs.c.group_run_id == group_run_id, group_jobs.c.location == location,
                group_jobs.c.state == QUEUED).values(state=FAILED, note=why, finished_at=_now()))

    def run(self, group_run_id: int) -> GroupRun | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(group_runs).where(group_runs.c.id == group_run_id)).first()
        return None if row is None else GroupRun(**row._mapping)

    def jobs(self, group_run_id: int) -> list[Job]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(group_jobs).where(group_jobs.c.group_run_id == group_run_id)).all()
        return [Job.from_row(row) for row in rows]

    def latest_jobs(self, group_key: str, locations: Sequence[str], per_location: int = 1) -> dict[str, list[Job]]:
        """Each location's newest jobs of this group, newest first."""
        newest = (select(group_jobs, func.row_number().over(
            partition_by=group_jobs.c.location, order_by=group_jobs.c.group_run_id.desc()).label("n"))
            .join(group_runs, group_runs.c.id == group_jobs.c.group_run_id)
            .where(group_runs.c.group_key == group_key, group_jobs.c.location.in_(list(locations)))
            .subquery())
        query = select(*[newest.c[c.name] for c in group_jobs.columns]).where(newest.c.n <= per_location) \
            .order_by(newest.c.location, newest.c.group_run_id.desc())
        found: dict[str, list[Job]] = {key: [] for key in locations}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                found[row.location].append(Job.from_row(row))
        return found
