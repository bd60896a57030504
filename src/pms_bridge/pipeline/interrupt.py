"""SIGINT / SIGTERM during a command that writes: stop at a safe point, never in the middle of a write.

The first signal only sets a flag; the work calls ``checkpoint()`` where stopping leaves the store
consistent (between chunks and stages of a sync: every store write is one transaction, and a cursor
moves only after its rows are stored), which raises ``Interrupted``. A second signal stops at once:
a store transaction cut short rolls back, and the push log records a task as pending before it is sent.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The command was asked to stop by a signal. A BaseException, like KeyboardInterrupt: no
    ``except Exception`` on the way may swallow it."""

    def __init__(self, signum: int, finished: bool = False, at_once: bool = False) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.finished = finished  # the work was done when the command got to stop
        self.at_once = at_once  # asked twice: stopped wherever it was

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


_requested: list[int] = []  # signals received while handlers are installed


def checkpoint() -> None:
    """A safe point: stop here if a signal asked to."""
    if _requested:
        raise Interrupted(_requested[0])


def _handle(signum: int, _frame: FrameType | None) -> None:
    _requested.append(signum)
    if len(_requested) > 1:  # asked twice: stop now
        raise Interrupted(_requested[0], at_once=True)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Install the handlers for the duration of a command that writes (main thread only: a worker
    thread cannot receive signals). A signal that came after the last safe point stops the command
    when the block ends: its work is done, the exit code still says it was interrupted."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    _requested.clear()
    for sig in STOP_SIGNALS:
        signal.signal(sig, _handle)
    try:
        yield
        if _requested:
            raise Interrupted(_requested[0], finished=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested.clear()
