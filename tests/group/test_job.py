"""One location's job (pms_bridge.group.job.run_location) with a stand-in for Celery's task and for run_sync:
what it records in the shared store for each way a run ends, and what it asks Celery to do."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import update
from structlog.testing import capture_logs

from pms_bridge.config.group import Group, load_group
from pms_bridge.errors import ConfigurationProblem, SourceUnreachable
from pms_bridge.group import job as job_module
from pms_bridge.group.job import run_location
from pms_bridge.pipeline.check import CheckReport
from pms_bridge.pipeline.report import ResourceReport, SyncReport, TaskReport
from pms_bridge.store.errors import Holder, busy
from pms_bridge.store.group_book import (
    FAILED,
    PARTIAL,
    RETRYING,
    RUNNING,
    SUCCEEDED,
    WAITING,
    GroupBook,
    Job,
    group_jobs,
)
from pms_bridge.store.store import UpsertCounts

LOCATION = "main-street-dental"
AS_OF = "2026-03-02T08:00"
FAKE_PATIENT = "Marguerite Okonkwo-Vance"  # synthetic: must never reach the store's notes or the logs

LOCATION_CONFIG = ('[practice]\nname = "Main Street Dental"\ntimezone = "America/Chicago"\n'
                   '[source]\nconnector = "csv"\nmapping = "opendental"\npath = "exports/"\n')


class Retry(Exception):
    """What Celery's ``task.retry`` returns for the task to raise."""

    def __init__(self, countdown: float, kwargs: dict[str, Any] | None = None) -> None:
        super().__init__(countdown)
        self.countdown = countdown
        self.kwargs = kwargs


@dataclass
class StubTask:
    """The parts of a bound Celery task the job uses."""

    group: Group
    hostname: str = "group@worker-a"
    countdowns: list[float] = field(default_factory=list)

    @property
    def app(self) -> Any:
        return SimpleNamespace(pms_bridge_group=self.group)

    @property
    def request(self) -> Any:
        return SimpleNamespace(hostname=self.hostname)

    def retry(self, countdown: float, args: tuple[Any, ...] | None = None,
              kwargs: dict[str, Any] | None = None) -> Retry:
        self.countdowns.append(countdown)
        return Retry(countdown, kwargs)


@pytest.fixture
def group(tmp_path: Path, postgres_url: str) -> Group:
    (tmp_path / "main.toml").write_text(LOCATION_CONFIG, encoding="utf-8")
    key = f"job-{uuid.uuid4().hex[:10]}"  # the session's database is shared between tests
    (tmp_path / "group.toml").write_text(
        f'[group]\nname = "Bright Smiles Group"\nkey = "{key}"\n[store]\nurl = "{postgres_url}"\n[queue]\n'
        'broker = "amqp://guest@127.0.0.1:5672//"\nretries = 2\nretry_backoff_seconds = 10\n'
        'busy_wait_minutes = 5\nbusy_poll_seconds = 45\nlost_worker_limit = 2\n'
        '[[locations]]\nconfig = "main.toml"\n', encoding="utf-8")
    return load_group(tmp_path / "group.toml")


@pytest.fixture
def book(group: Group) -> Iterator[GroupBook]:
    opened = GroupBook.open(group.store_url)
    yield opened
    opened.close()


class Outcomes(list):
    """What the stand-in run_sync does on each call, in order (a report to return or an exception to raise),
    and the calls it got."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []


@pytest.fixture
def sync(monkeypatch: pytest.MonkeyPatch) -> Outcomes:
    outcomes = Outcomes()

    def fake_run_sync(config: Any, as_of: datetime | None, **kwargs: Any) -> SyncReport:
        outcomes.calls.append({"practice": config.practice.practice().key, "as_of": as_of, **kwargs})
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr(job_module, "run_sync", fake_run_sync)
    return outcomes


def _report(run_id: int = 31, *, quarantined: int = 0) -> SyncReport:
    started = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    return SyncReport(
        run_id=run_id, mapping="opendental", connector="csv", started_at=started,
        resources=[ResourceReport("patient", "patient", rows_read=120, quarantined=quarantined,
                                  stored=UpsertCounts(inserted=100, updated=15, unchanged=5)),
                   ResourceReport("appointment", "appointment", rows_read=300,
                                  stored=UpsertCounts(inserted=280, updated=0, unchanged=20))],
        data_as_of=datetime(2026, 3, 2, 13, 30, tzinfo=UTC),
        checks=CheckReport(as_of=started, rules=["SCH003"]),
        tasks=TaskReport(counts={"opened": 4, "resolved": 1}, open_tasks=9),
    )


def _job(book: GroupBook, run: int) -> Job:
    (found,) = book.jobs(run)
    return found


def _run(task: StubTask, run: int) -> str | Retry:
    try:
        return run_location(task, run, LOCATION, AS_OF)
    except Retry as retry:
        return retry


def _backdate(book: GroupBook, run: int, minutes: float) -> None:
    """The job's start (while it waits: when it first found the location busy) ``minutes`` earlier."""
    with book.engine.begin() as conn:
        conn.execute(update(group_jobs).where(group_jobs.c.group_run_id == run).values(
            started_at=group_jobs.c.started_at - timedelta(minutes=minutes)))


@pytest.fixture
def start(book: GroupBook, group: Group) -> Callable[[], int]:
    return lambda: book.start(group.key, AS_OF, [LOCATION], requested_by="test")


def test_a_run_that_succeeds_records_its_summary_and_run_id(group: Group, book: GroupBook, sync: Outcomes,
                                                            start: Callable[[], int]) -> None:
    run = start()
    sync.append(_report(31))
    assert run_location(StubTask(group), run, LOCATION, AS_OF) == SUCCEEDED
    job = _job(book, run)
    assert (job.state, job.run_id, job.attempts, job.note) == (SUCCEEDED, 31, 1, None)
    assert job.worker is not None and job.worker.startswith("group@worker-a pid ")
    summary = job.summary or {}
    assert {k: summary[k] for k in ("status", "rows_read", "rows_stored", "quarantined", "failed_resources",
                                    "findings", "tasks_open", "tasks_opened", "tasks_resolved", "push_failures",
                                    "data_as_of")} == {
        "status": "ok", "rows_read": 420, "rows_stored": 395, "quarantined": 0, "failed_resources": 0,
        "findings": 0, "tasks_open": 9, "tasks_opened": 4, "tasks_resolved": 1, "push_failures": 0,
        "data_as_of": "2026-03-02T13:30:00+00:00"}
    assert summary["seconds"] >= 0
    (call,) = sync.calls
    # The as-of as given, read in the location's own timezone; the rules run (check) as in `pms-bridge run`.
    assert call["as_of"] == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert (call["practice"], call["check"], call["command"]) == (LOCATION, True, "group run")


def test_a_run_with_quarantined_rows_ends_the_job_partial(group: Group, book: GroupBook, sync: Outcomes,
                                                          start: Callable[[], int]) -> None:
    run = start()
    sync.append(_report(32, quarantined=3))
    assert run_location(StubTask(group), run, LOCATION, AS_OF) == PARTIAL
    job = _job(book, run)
    assert (job.state, job.run_id, (job.summary or {}).get("quarantined")) == (PARTIAL, 32, 3)


def test_a_job_delivered_again_after_it_finished_does_not_run(group: Group, book: GroupBook, sync: Outcomes,
                                                             start: Callable[[], int]) -> None:
    run = start()
    sync.append(_report(33))
    run_location(StubTask(group), run, LOCATION, AS_OF)
    assert run_location(StubTask(group, hostname="group@worker-b"), run, LOCATION, AS_OF) == "done"
    assert len(sync.calls) == 1
    assert _job(book, run).worker.startswith("group@worker-a")


def test_a_busy_location_waits_with_the_holders_note_then_fails_after_busy_wait_minutes(
        group: Group, book: GroupBook, sync: Outcomes, start: Callable[[], int]) -> None:
    run = start()
    holder = Holder(pid=4242, host="office-pc", command="run", started_at=datetime(2026, 3, 2, 13, 55, tzinfo=UTC))
    task = StubTask(group)
    sync.append(busy(LOCATION, holder))
    retried = _run(task, run)
    assert isinstance(retried, Retry) and retried.countdown == 45  # busy_poll_seconds
    job = _job(book, run)
    assert job.state == WAITING and job.failures == 0  # waiting is not a failure: `retries` is not spent on it
    assert "is busy: `pms-bridge run` (pid 4242 on host office-pc) started 2026-03-02 13:55 UTC" in job.note
    assert job.next_try_at is not None and job.next_try_at > datetime.now(UTC)

    sync.append(busy(LOCATION, holder))  # still busy, within the 5 minutes: waits again
    _backdate(book, run, 4)
    assert isinstance(_run(task, run), Retry) and _job(book, run).state == WAITING

    sync.append(busy(LOCATION, holder))
    _backdate(book, run, 2)  # now 6 minutes since it first found the location busy
    assert _run(task, run) == FAILED
    job = _job(book, run)
    assert job.state == FAILED and job.note.startswith("still busy after 5 minutes: practice main-street-dental is busy")
    assert task.countdowns == [45, 45] and (job.attempts, job.lost) == (3, 0)


def test_an_unreachable_source_is_retried_with_doubling_backoff_then_fails(
        group: Group, book: GroupBook, sync: Outcomes, start: Callable[[], int]) -> None:
    run = start()
    task = StubTask(group)
    for _ in range(3):
        sync.append(SourceUnreachable("export folder /mnt/exports/main is not mounted"))
    first = _run(task, run)
    job = _job(book, run)
    assert isinstance(first, Retry) and (job.state, job.failures) == (RETRYING, 1)
    assert job.note == "Source unreachable: export folder /mnt/exports/main is not mounted"
    assert isinstance(_run(task, run), Retry) and _job(book, run).failures == 2
    assert _run(task, run) == FAILED  # retries = 2: the third failure ends it
    job = _job(book, run)
    assert task.countdowns == [10, 20]
    assert (job.state, job.attempts, job.failures) == (FAILED, 3, 2)
    assert job.note == "Source unreachable: export folder /mnt/exports/main is not mounted (after 2 retries)"


def test_the_backoff_stops_doubling_at_half_an_hour(group: Group, book: GroupBook, sync: Outcomes,
                                                    start: Callable[[], int]) -> None:
    settings = group.settings.model_copy(update={"queue": group.settings.queue.model_copy(
        update={"retries": 5, "retry_backoff_seconds": 600})})
    slow = Group(path=group.path, key=group.key, settings=settings, locations=group.locations)
    run = start()
    task = StubTask(slow)
    for _ in range(4):
        sync.append(SourceUnreachable("the API did not answer"))
        assert isinstance(_run(task, run), Retry)
    assert task.countdowns == [600, 1200, 1800, 1800]


def test_a_configuration_problem_fails_the_job_at_once_with_its_message(
        group: Group, book: GroupBook, sync: Outcomes, start: Callable[[], int]) -> None:
    run = start()
    problem = ConfigurationProblem("mapping opendental: column ProvNum missing from appointment.csv")
    problem.pms_bridge_failed_run = 44
    sync.append(problem)
    task = StubTask(group)
    assert run_location(task, run, LOCATION, AS_OF) == FAILED
    job = _job(book, run)
    assert (job.state, job.run_id, job.failures, task.countdowns) == (FAILED, 44, 0, [])
    assert job.note == "Configuration problem: mapping opendental: column ProvNum missing from appointment.csv"


def test_an_unexpected_error_fails_the_job_named_by_its_type_only(
        group: Group, book: GroupBook, sync: Outcomes, start: Callable[[], int]) -> None:
    run = start()
    sync.append(ValueError(f"could not parse birth date of {FAKE_PATIENT}: 1961-13-40"))
    with capture_logs() as logs:
        assert run_location(StubTask(group), run, LOCATION, AS_OF) == FAILED
    job = _job(book, run)
    assert job.state == FAILED and job.note == "unexpected ValueError (a bug: see the worker's log)"
    failed = [entry for entry in logs if entry["event"] == "group.job_failed"]
    assert failed and failed[0]["error"] == "ValueError" and failed[0]["log_level"] == "error"
    assert FAKE_PATIENT not in repr(logs) and "1961-13-40" not in repr(logs)


def test_the_other_location_goes_on_after_one_fails(tmp_path: Path, group: Group, book: GroupBook,
                                                     sync: Outcomes) -> None:
    (group.path.parent / "elm.toml").write_text(LOCATION_CONFIG.replace("Main Street", "Elm Street"), encoding="utf-8")
    text = group.path.read_text(encoding="utf-8") + '\n[[locations]]\nconfig = "elm.toml"\n'
    group.path.write_text(text, encoding="utf-8")
    both = load_group(group.path)
    run = book.start(both.key, AS_OF, [LOCATION, "elm-street-dental"], requested_by="test")
    sync += [RuntimeError("boom"), _report(51)]
    assert run_location(StubTask(both), run, LOCATION, AS_OF) == FAILED
    assert run_location(StubTask(both), run, "elm-street-dental", AS_OF) == SUCCEEDED
    assert {j.location: j.state for j in book.jobs(run)} == {LOCATION: FAILED, "elm-street-dental": SUCCEEDED}


def test_a_job_whose_workers_died_lost_worker_limit_times_is_not_started_again(
        group: Group, book: GroupBook, sync: Outcomes, start: Callable[[], int]) -> None:
    run = start()
    book.claim(run, LOCATION, "t1", "group@worker-a pid 1")  # killed mid-run: nothing more written
    book.claim(run, LOCATION, "t2", "group@worker-b pid 2")  # killed too
    assert run_location(StubTask(group), run, LOCATION, AS_OF) == FAILED
    job = _job(book, run)
    assert (job.state, job.lost, job.attempts) == (FAILED, 2, 3)
    assert job.note.startswith("its worker died 2 times mid-run")
    assert sync.calls == []


def test_a_job_whose_worker_died_once_runs_again(group: Group, book: GroupBook, sync: Outcomes,
                                                 start: Callable[[], int]) -> None:
    run = start()
    book.claim(run, LOCATION, "t1", "group@worker-a pid 1")
    sync.append(_report(61))
    assert run_location(StubTask(group, hostname="group@worker-b"), run, LOCATION, AS_OF) == SUCCEEDED
    job = _job(book, run)
    assert (job.state, job.lost, job.attempts, job.run_id) == (SUCCEEDED, 1, 2, 61)


def test_a_location_the_workers_group_file_lacks_fails_asking_for_a_restart(
        group: Group, book: GroupBook, sync: Outcomes) -> None:
    run = book.start(group.key, AS_OF, ["oak-street-dental"], requested_by="test")
    assert run_location(StubTask(group), run, "oak-street-dental", AS_OF) == FAILED
    (job,) = book.jobs(run)
    assert job.state == FAILED and "no location 'oak-street-dental'" in job.note and "restart the workers" in job.note
    assert sync.calls == []


def test_running_is_recorded_before_the_run_starts(group: Group, book: GroupBook, sync: Outcomes,
                                                   start: Callable[[], int], monkeypatch: pytest.MonkeyPatch) -> None:
    run = start()
    seen: list[str] = []
    fake = job_module.run_sync

    def looking(*args: Any, **kwargs: Any) -> SyncReport:
        seen.append(_job(book, run).state)
        return fake(*args, **kwargs)

    monkeypatch.setattr(job_module, "run_sync", looking)
    sync.append(_report(71))
    run_location(StubTask(group), run, LOCATION, AS_OF)
    assert seen == [RUNNING]


def test_the_store_down_sends_the_job_again_within_the_retries(group: Group, sync: Outcomes) -> None:
    """Nothing can be recorded while the shared store is down: the job is sent again with a doubling wait
    and a count of outages in its message; past [queue] retries the worker gives up (and says so)."""
    down = group.settings.model_copy(update={"store": group.settings.store.model_copy(
        update={"url": "postgresql://postgres@127.0.0.1:1/nowhere"})})
    offline = Group(group.path, group.key, down, group.locations)
    task = StubTask(offline)

    for outages, wait in ((0, 10), (1, 20)):
        with pytest.raises(Retry) as sent_again:
            run_location(task, 1, LOCATION, AS_OF, store_outages=outages)
        assert sent_again.value.countdown == wait and sent_again.value.kwargs == {"store_outages": outages + 1}
    with capture_logs() as logs, pytest.raises(SourceUnreachable):
        run_location(task, 1, LOCATION, AS_OF, store_outages=2)
    assert [e["event"] for e in logs][-1] == "group.store_unreachable_gave_up"
    assert sync.calls == []  # no location ran while its job could not be recorded
