"""The group tables in the shared PostgreSQL store: a job's attempts, and a stale attempt that cannot write."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pms_bridge.store.group_book import (
    FAILED,
    QUEUED,
    RETRYING,
    RUNNING,
    SUCCEEDED,
    WAITING,
    GroupBook,
)

LATER = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def book(postgres_url: str) -> Iterator[GroupBook]:
    opened = GroupBook.open(postgres_url)
    yield opened
    opened.close()


@pytest.fixture
def group_key() -> str:
    return f"group-{uuid.uuid4().hex[:10]}"  # the session's database is shared: each test its own group


def _job(book: GroupBook, run: int, location: str):
    return next(job for job in book.jobs(run) if job.location == location)


def test_a_group_run_queues_one_job_per_location(book: GroupBook, group_key: str) -> None:
    run = book.start(group_key, "2026-03-02T08:00", ["main", "elm"], requested_by="scheduler pid 12")
    recorded = book.run(run)
    assert recorded is not None and (recorded.group_key, recorded.as_of, recorded.locations) == (
        group_key, "2026-03-02T08:00", 2)
    jobs = {job.location: job for job in book.jobs(run)}
    assert set(jobs) == {"main", "elm"}
    assert all((j.state, j.attempts, j.lost, j.failures, j.done) == (QUEUED, 0, 0, 0, False) for j in jobs.values())
    assert book.run(run + 10_000) is None


def test_a_claimed_job_runs_and_finishes_with_its_summary(book: GroupBook, group_key: str) -> None:
    run = book.start(group_key, None, ["main"], requested_by="test")
    claim = book.claim(run, "main", "t1", "worker-a pid 7")
    assert claim is not None and (claim.token, claim.attempts, claim.lost, claim.failures, claim.waiting_since) == (
        "t1", 1, 0, 0, None)
    running = _job(book, run, "main")
    assert (running.state, running.worker, running.started_at is not None) == (RUNNING, "worker-a pid 7", True)
    assert book.finish(run, "main", "t1", SUCCEEDED, run_id=41, summary={"rows_read": 120, "seconds": 3.5})
    done = _job(book, run, "main")
    assert (done.state, done.run_id, done.summary, done.done) == (SUCCEEDED, 41, {"rows_read": 120, "seconds": 3.5},
                                                                 True)
    assert done.finished_at is not None and done.finished_at >= done.started_at


def test_a_finished_job_is_not_claimed_again(book: GroupBook, group_key: str) -> None:
    run = book.start(group_key, None, ["main"], requested_by="test")
    book.claim(run, "main", "t1", "worker-a")
    book.finish(run, "main", "t1", FAILED, note="configuration problem: no export folder")
    assert book.claim(run, "main", "t2", "worker-b") is None  # the message delivered twice
    job = _job(book, run, "main")
    assert (job.state, job.attempts, job.worker, job.note) == (FAILED, 1, "worker-a",
                                                               "configuration problem: no export folder")


def test_a_claim_of_an_unknown_job_is_none(book: GroupBook, group_key: str) -> None:
    run = book.start(group_key, None, ["main"], requested_by="test")
    assert book.claim(run, "elm", "t1", "worker-a") is None


def test_a_job_found_running_counts_a_lost_worker(book: GroupBook, group_key: str) -> None:
    run = book.start(group_key, None, ["main"], requested_by="test")
    book.claim(run, "main", "t1", "worker-a")  # its worker dies: nothing more is written
    second = book.claim(run, "main", "t2", "worker-b")
    assert second is not None and (second.attempts, second.lost) == (2, 1)
    third = book.claim(run, "main", "t3", "worker-c")
    assert third is not None and (third.attempts, third.lost) == (3, 2)
    job = _job(book, run, "main")
    assert (job.state, job.attempts, job.lost, job.worker) == (RUNNING, 3, 2, "worker-c")


def test_a_job_that_waited_or_retried_is_not_counted_lost(book: GroupBook, group_key: str) -> None:
    run = book.start(group_key, None, ["main"], requested_by="test")
    book.claim(run, "main", "t1", "worker-a")
    assert book.wait(run, "main", "t1", "main is busy: a run started by scheduler", LATER)
    waited = _job(book, run, "main")
    assert (waited.state, waited.note, waited.next_try_at) == (WAITING, "main is busy: a run started by scheduler",
                                                               LATER)
    again = book.claim(run, "main", "t2", "worker-a")
    # The wait's start is kept: the busy limit counts from the first time the location was found busy.
    assert again is not None and (again.lost, again.waiting_since) == (0, waited.started_at)
    assert book.retry(run, "main", "t2", "source unreachable: the export folder is on a share that is down", LATER)
    retried = _job(book, run, "main")
    assert (retried.state, retried.failures) == (RETRYING, 1)
    third = book.claim(run, "main", "t3", "worker-b")
    assert third is not None and (third.lost, third.failures, third.waiting_since) == (0, 1, None)
    assert _job(book, run, "main").next_try_at is None


def test_a_stale_attempt_cannot_finish_wait_or_retry_a_job_a_newer_claim_owns(book: GroupBook, group_key: str) -> None:
    run = book.start(group_key, None, ["main"], requested_by="test")
    book.claim(run, "main", "old", "worker-a")  # given up for dead, still running orphaned
    book.claim(run, "main", "new", "worker-b")
    assert not book.finish(run, "main", "old", FAILED, note="from the old attempt")
    assert not book.wait(run, "main", "old", "busy", LATER)
    assert not book.retry(run, "main", "old", "unreachable", LATER)
    job = _job(book, run, "main")
    assert (job.state, job.note, job.failures, job.worker) == (RUNNING, None, 0, "worker-b")
    assert book.finish(run, "main", "new", SUCCEEDED, run_id=7)
    assert not book.finish(run, "main", "new", FAILED)  # nor can it be ended twice
    assert _job(book, run, "main").state == SUCCEEDED


def test_give_up_fails_only_a_job_never_started(book: GroupBook, group_key: str) -> None:
    run = book.start(group_key, None, ["main", "elm"], requested_by="test")
    book.claim(run, "main", "t1", "worker-a")
    for location in ("main", "elm"):
        book.give_up(run, location, "not queued: the broker stopped answering")
    assert _job(book, run, "main").state == RUNNING
    elm = _job(book, run, "elm")
    assert (elm.state, elm.note, elm.finished_at is not None) == (FAILED, "not queued: the broker stopped answering",
                                                                  True)


def test_latest_jobs_are_each_locations_newest_of_this_group(book: GroupBook, group_key: str) -> None:
    first = book.start(group_key, None, ["main", "elm"], requested_by="test")
    second = book.start(group_key, None, ["main"], requested_by="test")
    third = book.start(group_key, None, ["main"], requested_by="test")
    book.start(f"{group_key}-other", None, ["main", "elm"], requested_by="test")  # another group's runs
    latest = book.latest_jobs(group_key, ["main", "elm", "oak"])
    assert {k: [j.group_run_id for j in v] for k, v in latest.items()} == {
        "main": [third], "elm": [first], "oak": []}
    two = book.latest_jobs(group_key, ["main"], per_location=2)
    assert [j.group_run_id for j in two["main"]] == [third, second]


def test_opening_the_book_twice_keeps_its_tables_and_rows(postgres_url: str, group_key: str) -> None:
    one = GroupBook.open(postgres_url)
    try:
        run = one.start(group_key, None, ["main"], requested_by="test")
    finally:
        one.close()
    two = GroupBook.open(postgres_url)
    try:
        assert [j.location for j in two.jobs(run)] == ["main"]
        assert two.run(run) is not None and two.run(run).requested_at > datetime.now(UTC) - timedelta(hours=1)
    finally:
        two.close()
