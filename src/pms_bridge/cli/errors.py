"""Map failures to the exit codes other tools rely on: each kind of failure (pms_bridge.errors) has one."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
import typer
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException

from pms_bridge.errors import ConfigurationProblem, ErrorKind, kind_of
from pms_bridge.logs import configure_logging
from pms_bridge.pipeline.interrupt import Interrupted
from pms_bridge.store import StoreBusy

EXIT_PARTIAL = ErrorKind.SKIPPED.exit_code  # a run that skipped items or resources
EXIT_CONFIGURATION = ErrorKind.CONFIGURATION.exit_code  # the user must fix something (a key, a flag)
EXIT_CRASH = 1
EXIT_SIGINT = 130  # Ctrl-C with no handler of ours installed (a command that only reads)

STOPPED_AT_SAFE_POINT = (
    "Interrupted: the run stopped at a safe point; stored data is consistent and the next run resumes."
)
STOPPED_AT_ONCE = (
    "Interrupted at once (asked twice): a store write cut short is rolled back; the next run resumes."
)
STOPPED_WHEN_DONE = "Interrupted after the work was done: everything it did is stored."


class CannotWrite(ConfigurationProblem):
    """An output path pms-bridge cannot write (exit code 2)."""


def cannot_write(path: object, exc: OSError, what: str) -> CannotWrite:
    """A named failure for an OSError on an output path (the path and the reason; no file contents)."""
    reason = exc.strerror or type(exc).__name__
    return CannotWrite(f"cannot write {what} to {path}: {reason}. Give a folder you can write (or that can be created)")

F = TypeVar("F", bound=Callable[..., Any])
_err = Console(stderr=True)
log = structlog.get_logger("pms_bridge.cli")


def crash_frames(exc: BaseException, last: int = 6) -> list[str]:
    """Where it failed, without the exception's message (which could hold patient data)."""
    frames = traceback.extract_tb(exc.__traceback__)[-last:]
    return [f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}" for f in frames]


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Abort:  # Ctrl-C (or end of input) at a question
            _err.print("Aborted: nothing was changed.", markup=False)
            raise typer.Exit(EXIT_SIGINT) from None
        except (typer.Exit, TyperException):
            raise  # the command line's own outcomes (exit codes, bad parameters)
        except Interrupted as stop:
            message = STOPPED_AT_ONCE if stop.at_once else STOPPED_WHEN_DONE if stop.finished else STOPPED_AT_SAFE_POINT
            _err.print(message, soft_wrap=True, markup=False)
            raise typer.Exit(stop.exit_code) from None
        except KeyboardInterrupt:
            _err.print("Interrupted.", markup=False)
            raise typer.Exit(EXIT_SIGINT) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback, no message
            kind = kind_of(exc)
            if kind is not None:
                label = "Busy" if isinstance(exc, StoreBusy) else kind.label  # not the source: another run
                _err.print(f"[red]{label}:[/red] {escape(str(exc))}", soft_wrap=True)  # one line per failure
                raise typer.Exit(kind.exit_code) from None
            frames = crash_frames(exc)
            run_id = getattr(exc, "pms_bridge_failed_run", None)  # set where a run was recorded as failed
            if not structlog.is_configured():  # structlog's default writes to stdout, which carries JSON output
                configure_logging(0)
            log.error("crashed", error_type=type(exc).__name__, frames=frames, run_id=run_id)
            recorded = f" Run {run_id} was recorded as failed; the next run starts again from what is stored." if run_id else ""
            _err.print(
                f"[red]Unexpected error[/red] ({type(exc).__name__} at {escape(frames[-1] if frames else '?')}). "
                f"This is a bug in pms-bridge.{recorded} "
                "Please report it with the log (run with -vv): logs hold no patient data."
            )
            raise typer.Exit(EXIT_CRASH) from None

    return wrapper  # type: ignore[return-value]
