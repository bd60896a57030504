"""Map failures to the exit codes other tools rely on (DESIGN.md)."""

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

from pms_bridge.config import ConfigError
from pms_bridge.connectors import ConnectorSpecError, SourceUnavailable
from pms_bridge.connectors.api_client import ApiConfigError
from pms_bridge.mapping import MappingError
from pms_bridge.pipeline import UnsupportedConnector
from pms_bridge.store import StoreError

EXIT_CONFIG = 2
EXIT_SOURCE = 3

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
        except (ConfigError, MappingError, ConnectorSpecError, StoreError, UnsupportedConnector, ApiConfigError) as exc:
            _err.print(f"[red]Configuration problem:[/red] {escape(str(exc))}")
            raise typer.Exit(EXIT_CONFIG) from None
        except SourceUnavailable as exc:
            _err.print(f"[red]Source unreachable:[/red] {escape(str(exc))}")
            raise typer.Exit(EXIT_SOURCE) from None
        except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback, no message
            frames = crash_frames(exc)
            log.error("crashed", error_type=type(exc).__name__, frames=frames)
            _err.print(
                f"[red]Unexpected error[/red] ({type(exc).__name__} at {escape(frames[-1] if frames else '?')}). "
                "This is a bug in pms-bridge; the run was recorded as failed and nothing stored was lost. "
                "Please report it with the log (run with -vv): logs hold no patient data."
            )
            raise typer.Exit(EXIT_CRASH) from None

    return wrapper  # type: ignore[return-value]
