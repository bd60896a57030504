"""One way every stage reports a pydantic validation error: a line per problem, naming the key
and what to fix, never the value (a value may be a secret or patient data)."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Hint = Callable[[ErrorDetails], "str | None"]

SECRET_WORDS = ("key", "password", "secret", "token")


def looks_like_secret(key: str) -> bool:
    """A config key that seems to hold a secret itself, not the name of the variable holding it (``*_env``)."""
    return any(w in key.lower() for w in SECRET_WORDS) and not key.endswith("_env")


def key_path(loc: Sequence[Any]) -> str:
    """``("source", "path")`` -> ``source.path``; pydantic's validator steps are left out."""
    return ".".join(str(part) for part in loc if not str(part).startswith("function-"))


def _model_in(annotation: Any) -> Any:
    """The model (or container) a field's annotation holds: ``X | None`` -> X."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        arms = [a for a in typing.get_args(annotation) if a is not type(None)]
        return next((a for a in arms if isinstance(a, type) and issubclass(a, BaseModel)), arms[0] if arms else None)
    return annotation


def allowed_keys(model: type[BaseModel], loc: Sequence[Any]) -> list[str] | None:
    """The keys the table at ``loc`` accepts, found by walking the model's fields (None: unknown)."""
    current: Any = model
    for part in loc:
        current = _model_in(current)
        origin = typing.get_origin(current)
        if origin in (dict, Mapping) or (isinstance(origin, type) and issubclass(origin, Mapping)):
            current = typing.get_args(current)[-1]  # the part is a key of the table
            continue
        if origin in (list, tuple, set, frozenset) or isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(str(part))
        if info is None:
            return None
        current = info.annotation
    current = _model_in(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [k for k in current.model_fields if k != "base_dir"]
    return None


def default_hint(err: ErrorDetails, model: type[BaseModel] | None = None) -> str:
    """What to do about a common problem: an unknown key (and what is allowed there), a missing one."""
    if err["type"] == "extra_forbidden":
        allowed = allowed_keys(model, tuple(err["loc"][:-1])) if model is not None else None
        return f" Check the spelling; allowed here: {', '.join(allowed)}." if allowed else \
            " Check the spelling: unknown key."
    if err["type"] == "missing":
        return " Add it."
    return ""


def problem_line(err: ErrorDetails, model: type[BaseModel] | None = None, hint: Hint | None = None) -> str:
    """``key.path: message. Hint.`` for one error."""
    where = key_path(err["loc"]) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    extra = hint(err) if hint is not None else None
    if extra is None:
        extra = default_hint(err, model)
    return f"{where}: {msg}.{extra}".replace("..", ".")


def format_validation_errors(
    source: str,
    exc: ValidationError,
    *,
    model: type[BaseModel] | None = None,
    what: str = "",
    hint: Hint | None = None,
) -> str:
    """``source: N problem(s)`` and one indented line per problem.

    ``model``: the validated model, to list the keys allowed where one is unknown; ``what``: said after
    the count (e.g. " in the config"); ``hint``: a caller's own hint for an error (None: the default).
    """
    lines = [f"{source}: {exc.error_count()} problem(s){what}"]
    lines += [f"  - {problem_line(err, model, hint)}" for err in exc.errors()]
    return "\n".join(lines)
