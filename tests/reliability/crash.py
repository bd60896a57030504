"""SIGKILL a run at a chosen call and look at what it left.

A kill point names a function (a method of a class or a module attribute) and which of its calls
kills: the process forks, the child wraps that function so its Nth call sends SIGKILL to the child
itself (before the call runs, or right after it returned), and runs the pipeline. SIGKILL runs no
finally block, no atexit hook and no context manager exit: what is on disk is what a power cut
leaves. The parent waits, checks the child died by SIGKILL, and goes on with the same store.

The fake Open Dental lives in the test process's memory, so the child's writes (tasks it POSTed or
PUT) would die with it: the child saves the fake's office state to a file after every write request
it answers, and the parent loads it back (``FakeState``).
"""

from __future__ import annotations

import os
import pickle
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.opendental import FakeOpenDental

NOT_REACHED = 97  # the child's exit code when the kill point was never reached
CHILD_RAISED = 98  # ... when its run raised instead


@dataclass(frozen=True)
class KillPoint:
    """The Nth call of ``owner.attr`` (counting the calls ``when`` accepts) kills the run."""

    name: str
    owner: Any
    attr: str
    after: bool = False  # kill right after the call returned (True) or before it ran (False)
    generator: bool = False  # a generator function: the Nth item it yields kills, before it is handed on
    when: Callable[..., bool] | None = None  # which calls count, from their arguments (self first)

    def install(self, on_call: Callable[[], None], setattr_: Callable[[Any, str, Any], None] = setattr) -> None:
        """Wrap the function so ``on_call`` runs at every counted call (or yielded item)."""
        original = getattr(self.owner, self.attr)
        when = self.when

        if self.generator:
            def wrapped_gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
                for item in original(*args, **kwargs):
                    if when is None or when(*args, **kwargs):
                        on_call()
                    yield item

            setattr_(self.owner, self.attr, wrapped_gen)
            return

        after = self.after

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            counted = when is None or when(*args, **kwargs)
            if counted and not after:
                on_call()
            result = original(*args, **kwargs)
            if counted and after:
                on_call()
            return result

        setattr_(self.owner, self.attr, wrapped)


def count_calls(points: list[KillPoint], monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count each point's calls while the caller runs a clean run (the counts fill in as it goes)."""
    counts = {p.name: 0 for p in points}
    for point in points:
        def bump(name: str = point.name) -> None:
            counts[name] += 1

        point.install(bump, monkeypatch.setattr)
    return counts


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def run_killed(point: KillPoint, nth: int, body: Callable[[], object], fake: FakeOpenDental | None = None,
               state_file: Path | None = None) -> int:
    """Run ``body`` in a forked child that SIGKILLs itself at the ``nth`` counted call of ``point``.

    Returns the child's wait status. With ``fake``, the child saves the fake's office state to
    ``state_file`` after every write request it answered; the caller loads it (``FakeState.load``).
    """
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = NOT_REACHED
        try:
            if fake is not None and state_file is not None:
                FakeState.persist_writes(state_file)
            calls = 0

            def maybe_kill() -> None:
                nonlocal calls
                calls += 1
                if calls == nth:
                    _kill_self()

            point.install(maybe_kill)
            body()
        except BaseException:  # noqa: BLE001 - reported to the parent by the exit code
            code = CHILD_RAISED
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    code = os.WEXITSTATUS(status)
    return {NOT_REACHED: "exited: the kill point was never reached",
            CHILD_RAISED: "exited: the run raised before the kill point"}.get(code, f"exited with {code}")


def died_by_sigkill(status: int) -> bool:
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


class FakeState:
    """The fake Open Dental's office state (tables, task lists, tasks, commlogs, clock) across a fork."""

    FIELDS = ("tables", "tasklists", "tasks", "commlogs", "now")

    @classmethod
    def save(cls, fake: FakeOpenDental, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps({f: getattr(fake, f) for f in cls.FIELDS}))
        os.replace(tmp, path)  # a reader never sees half a file

    @classmethod
    def load(cls, fake: FakeOpenDental, path: Path) -> bool:
        if not path.exists():
            return False
        for name, value in pickle.loads(path.read_bytes()).items():
            setattr(fake, name, value)
        return True

    @classmethod
    def persist_writes(cls, path: Path) -> None:
        """In the child: after the fake answers a write request, its state is on disk."""
        original = FakeOpenDental._handle

        def handle(self: FakeOpenDental, request: Any) -> Any:
            response = original(self, request)
            if request.method != "GET":
                cls.save(self, path)
            return response

        FakeOpenDental._handle = handle  # type: ignore[method-assign]
