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

from pms_bridge.errors import ErrorKind, kind_of

EXIT_PARTIAL = ErrorKind.SKIPPED.exit_code  # a run that skipped items or resources
EXIT_CRASH = 1

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
        except (typer.Exit, typer.Abort, TyperException):
            raise  # the command line's own outcomes (exit codes, bad parameters)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback, no message
            kind = kind_of(exc)
            if kind is not None:
                _err.print(f"[red]{kind.label}:[/red] {escape(str(exc))}")
                raise typer.Exit(kind.exit_code) from None
            frames = crash_frames(exc)
            log.error("crashed", error_type=type(exc).__name__, frames=frames)
            _err.print(
                f"[red]Unexpected error[/red] ({type(exc).__name__} at {escape(frames[-1] if frames else '?')}). "
                "This is a bug in pms-bridge; the run was recorded as failed and nothing stored was lost. "
                "Please report it with the log (run with -vv): logs hold no patient data."
            )
            raise typer.Exit(EXIT_CRASH) from None

    return wrapper  # type: ignore[return-value]
