"""Map failures to the exit codes other tools rely on (DESIGN.md)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from pms_bridge.config import ConfigError
from pms_bridge.connectors import ConnectorSpecError, SourceUnavailable
from pms_bridge.connectors.api_client import ApiConfigError
from pms_bridge.mapping import MappingError
from pms_bridge.pipeline import UnsupportedConnector
from pms_bridge.store import StoreError

EXIT_CONFIG = 2
EXIT_SOURCE = 3

F = TypeVar("F", bound=Callable[..., Any])
_err = Console(stderr=True)


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, MappingError, ConnectorSpecError, StoreError, UnsupportedConnector, ApiConfigError) as exc:
            _err.print(f"[red]Configuration problem:[/red] {escape(str(exc))}")
            raise typer.Exit(EXIT_CONFIG) from None
        except SourceUnavailable as exc:
            _err.print(f"[red]Source unreachable:[/red] {escape(str(exc))}")
            raise typer.Exit(EXIT_SOURCE) from None

    return wrapper  # type: ignore[return-value]
