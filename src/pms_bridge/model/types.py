"""Type helpers every stage shares when it reads the model's annotations."""

from __future__ import annotations

import types
import typing
from typing import Any


def base_type(annotation: Any) -> Any:
    """``int | None`` -> int, ``Annotated[date, ...]`` -> date."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return base_type(args[0])
    if origin is typing.Annotated:
        return base_type(typing.get_args(annotation)[0])
    return annotation
