"""Progress of a sync, one table at a time: a rich bar per table on a terminal, plain log lines otherwise.

Sync calls the progress callback after each stored chunk with the resource, the rows read so far and how much
of the table has been read (``None``: unknown, an API listing), and once more with 1.0 when the table ends.
A table that ends without that last call (it failed, the run was stopped) is shown as stopped.

Off a terminal (cron, systemd, CI) the lines go through structlog at info level (``-v``), at most one every
``interval`` seconds plus one per finished table, with ids and counts only; nothing goes to stdout, whose
JSON outputs must stay parseable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, Self

import structlog
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column
from rich.text import Text

log = structlog.get_logger("pms_bridge.progress")

LOG_INTERVAL_SECONDS = 10.0
DONE, STOPPED = "✓", "·"


class SyncProgress(Protocol):
    def __call__(self, resource: str, rows: int, fraction: float | None = None) -> None: ...


def _percent(fraction: float | None) -> int | None:
    return None if fraction is None else round(fraction * 100)


def _loading(task: Task) -> bool:
    return not (task.finished or task.fields.get("stopped") or task.fields.get("overall"))


class _Mark(ProgressColumn):
    """A spinner on the top line (the run goes on after the last table); ✓ or · before a table that ended."""

    def __init__(self) -> None:
        super().__init__()
        self._spinner = SpinnerColumn()

    def render(self, task: Task) -> RenderableType:
        if task.fields.get("overall"):
            return self._spinner.render(task)
        return Text(DONE if task.finished else STOPPED if task.fields.get("stopped") else " ")


class _BarWhileLoading(BarColumn):
    """The bar while a table loads (pulsing when its size is unknown); none after, so finished tables stay
    one compact line each."""

    def render(self, task: Task) -> RenderableType:  # type: ignore[override]
        return super().render(task) if _loading(task) else Text("")


class _Rows(ProgressColumn):
    def __init__(self) -> None:
        super().__init__(table_column=Column(justify="right"))

    def render(self, task: Task) -> Text:
        rows = task.fields.get("rows")
        return Text("" if rows is None else f"{rows:,} rows", style="progress.download")


class _Percent(ProgressColumn):
    """Percent of the file read while it loads; blank when the size is unknown (API)."""

    def render(self, task: Task) -> Text:
        if task.total is None or not _loading(task):
            return Text("")
        return Text(f"{task.percentage:>3.0f}%", style="progress.percentage")


class TerminalProgress:
    """One line per table: a bar (pulsing for API resources, whose size is unknown) while it loads, then a
    compact ✓ line. The top line (rows so far) keeps turning while the run checks the rules and writes the task
    lists after the last table."""

    def __init__(self, console: Console, get_time: Callable[[], float] | None = None) -> None:
        self._progress = Progress(
            _Mark(),
            TextColumn("{task.description}"),
            _BarWhileLoading(bar_width=30),
            _Rows(),
            _Percent(),
            TimeElapsedColumn(),
            console=console,
            transient=True,  # the run summary follows on stdout; the bars were for watching
            redirect_stdout=False,  # stdout is the command's output, never the bars' (log lines on stderr go above)
            get_time=get_time,
        )
        self._overall = self._progress.add_task("Syncing", total=None, overall=True, rows=0)
        self._tasks: dict[str, TaskID] = {}
        self._current: str | None = None  # the table being read
        self._current_rows = 0
        self._rows_done = 0  # in the tables that ended

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, resource: str, rows: int, fraction: float | None = None) -> None:
        if resource != self._current:
            self._stop_current()
        ended = fraction is not None and fraction >= 1.0
        task = self._tasks.get(resource)
        if task is None:
            total = None if fraction is None else 1.0
            task = self._tasks[resource] = self._progress.add_task(resource, total=total, completed=fraction or 0.0,
                                                                   rows=rows)
            self._current = resource
        elif resource != self._current:
            return  # a table already shown as ended
        if ended:
            self._progress.update(task, total=1.0, completed=1.0, rows=rows)
            self._progress.stop_task(task)
            self._current = None
            self._rows_done += rows
        elif fraction is None:
            self._progress.update(task, rows=rows)
        else:
            self._progress.update(task, total=1.0, completed=fraction, rows=rows)
        self._current_rows = 0 if ended else rows
        # A frame per chunk (a chunk takes far longer to load than to draw); the spinner turns in between.
        self._progress.update(self._overall, rows=self._rows_done + self._current_rows, refresh=True)

    def _stop_current(self) -> None:
        """The table being read ended without its last call (it failed or was cut short): shown as stopped."""
        if self._current is None:
            return
        task = self._tasks[self._current]
        self._rows_done, self._current_rows = self._rows_done + self._current_rows, 0
        self._progress.update(task, stopped=True)
        self._progress.stop_task(task)
        self._current = None


class LogProgress:
    """Plain log lines: at most one every ``interval`` seconds while tables load, plus one per finished table."""

    def __init__(self, interval: float = LOG_INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._last = clock()

    def __call__(self, resource: str, rows: int, fraction: float | None = None) -> None:
        now = self._clock()
        if fraction is not None and fraction >= 1.0:
            log.info("sync.table_read", resource=resource, rows=rows)
            self._last = now
        elif now - self._last >= self._interval:
            log.info("sync.progress", resource=resource, rows=rows, percent=_percent(fraction))
            self._last = now


@contextmanager
def sync_progress(console: Console) -> Iterator[SyncProgress]:
    """The progress callback for a sync whose messages go to ``console`` (stderr): bars on a terminal,
    log lines otherwise."""
    if not console.is_terminal:
        yield LogProgress()
        return
    with TerminalProgress(console) as progress:
        yield progress
