"""Read and validate a practice's config file; errors name the key and say what to fix."""

from __future__ import annotations

import codecs
import tomllib
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pms_bridge.config.models import Config
from pms_bridge.errors import ConfigurationProblem
from pms_bridge.model.validation import format_validation_errors, looks_like_secret


class ConfigError(ConfigurationProblem):
    """The config file is missing or invalid (exit code 2)."""


def _secret_hint(err: ErrorDetails) -> str | None:
    """A key that looks like a secret gets told where secrets go (its value is never echoed)."""
    key = str(err["loc"][-1]) if err["loc"] else ""
    if err["type"] == "extra_forbidden" and looks_like_secret(key):
        return (
            " Never put a secret in the config file: store it in an environment variable "
            f"(or the OS keyring) and give that variable's name as '{key}_env'."
        )
    return None


_SAVE_AS_UTF8 = "open it in a text editor and save it as UTF-8 (Notepad: File > Save as, Encoding: UTF-8)"


def read_text(path: Path) -> str:
    """The file's text: UTF-8, with or without a byte-order mark, or UTF-16 with one (what Notepad saves)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc.strerror or type(exc).__name__})") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\0" in data:
        raise ConfigError(
            f"{path} is not a text file (it holds NUL bytes: binary data, or UTF-16 without a byte-order mark): "
            f"give the practice's TOML config file; if it is one, {_SAVE_AS_UTF8}"
        )
    else:
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: byte {exc.start + 1} is not valid {encoding.removesuffix('-sig').upper()} text: {_SAVE_AS_UTF8}"
        ) from None


def read_toml(path: Path, missing: str) -> dict:
    """The TOML table of the file at ``path``; ``missing``: the message when there is no such file."""
    if not path.is_file():
        raise ConfigError(missing)
    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_config(path: Path | str, store_url: str | None = None) -> Config:
    """The practice config at ``path``; with ``store_url`` (a group's shared store) its own [store] is replaced."""
    path = Path(path)
    raw = read_toml(path, f"config file {path} not found (see README: 'Configure a practice')")
    raw.pop("base_dir", None)
    if store_url is not None:
        raw["store"] = {"url": store_url}
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_errors(str(path), exc, model=Config, what=" in the config",
                                                   hint=_secret_hint)) from None
    _check_rules(path, config)
    config = config.model_copy(update={"base_dir": path.resolve().parent})
    _check_ssl_ca(path, config)
    return config


def _check_ssl_ca(path: Path, config: Config) -> None:
    """The database's certificate authority file is there to read (named relative to the config file)."""
    ca = config.ssl_ca_path()
    if ca is not None and not ca.is_file():
        raise ConfigError(f"{path}: source.ssl_ca: no certificate file at {ca} (a path relative to the config "
                          "file, of the PEM file of the authority that signed the database server's certificate)")


def _check_rules(path: Path, config: Config) -> None:
    """Rule selection and settings are checked against the rule catalog at load time."""
    from pms_bridge.rules import RuleConfigError, rule_settings, select_rules

    try:
        select_rules(config.rules.select, config.rules.ignore)
        rule_settings(config.rules.tables())
    except RuleConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
