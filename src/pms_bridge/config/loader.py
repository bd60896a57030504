"""Read and validate a practice's config file; errors name the key and say what to fix."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from pms_bridge.config.models import Config


class ConfigError(Exception):
    """The config file is missing or invalid (exit code 2)."""


_SECRET_WORDS = ("key", "password", "secret", "token")


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """The keys a config section accepts, found by walking the error's location."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(str(part))
        if info is None:
            return None
        current = info.annotation
        args = getattr(current, "__args__", ())
        if args:  # list[X] / X | None
            current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [k for k in current.model_fields if k != "base_dir"]
    return None


def _hint(err: dict[str, Any]) -> str:
    loc = err["loc"]
    if err["type"] == "extra_forbidden":
        key = str(loc[-1])
        if any(w in key.lower() for w in _SECRET_WORDS) and not key.endswith("_env"):
            return (
                " Never put a secret in the config file: store it in an environment variable "
                f"(or the OS keyring) and give that variable's name as '{key}_env'."
            )
        allowed = _allowed_keys(Config, tuple(loc[:-1]))
        return f" Check the spelling; allowed here: {', '.join(allowed)}." if allowed else " Check the spelling."
    if err["type"] == "missing":
        return " Add it."
    return ""


def format_config_errors(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: {exc.error_count()} problem(s) in the config"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"  - {where}: {msg}.{_hint(err)}".replace("..", "."))
    return "\n".join(lines)


def load_config(path: Path | str) -> Config:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found (see README: 'Configure a practice')")
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    raw.pop("base_dir", None)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_config_errors(path, exc)) from None
    _check_rules(path, config)
    return config.model_copy(update={"base_dir": path.resolve().parent})


def _check_rules(path: Path, config: Config) -> None:
    """Rule selection and settings are checked against the rule catalog at load time."""
    from pms_bridge.rules import RuleConfigError, rule_settings, select_rules

    try:
        select_rules(config.rules.select, config.rules.ignore)
        rule_settings(config.rules.tables())
    except RuleConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
