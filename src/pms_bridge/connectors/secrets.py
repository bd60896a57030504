"""Where API keys come from: the environment first, then the OS keyring.

The config names a variable (``customer_key_env = "OPENDENTAL_CUSTOMER_KEY"``);
the key itself never goes in a file. At run time the key is read from

1. the environment variable of that name, when it is set and not empty;
2. otherwise the OS keyring (Windows Credential Manager, macOS Keychain,
   Secret Service on Linux) under service ``pms-bridge`` and user name = the
   variable's name. Keyring support is optional::

       pip install 'pms-bridge[keyring]'
       keyring set pms-bridge OPENDENTAL_DEVELOPER_KEY   # prompts for the key
       keyring set pms-bridge OPENDENTAL_CUSTOMER_KEY

   Run ``keyring set`` as the account that runs ``pms-bridge run`` (a
   scheduled task or service account): each account has its own keyring.

If neither has it, :class:`MissingSecret` says which variable is missing and
both ways to provide it. Messages name variables, never values.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

from pms_bridge.connectors.api_client import ApiConfigError

KEYRING_SERVICE = "pms-bridge"
INSTALL_HINT = "pip install 'pms-bridge[keyring]'"


class MissingSecret(ApiConfigError):
    """A key named in the config is neither in the environment nor in the OS keyring."""


def _from_keyring(name: str) -> tuple[str | None, str]:
    """(the key or None, why not: a hint for the error message)."""
    try:
        keyring = importlib.import_module("keyring")
    except ImportError:
        return None, f"keyring support is not installed ({INSTALL_HINT})"
    try:
        value = keyring.get_password(KEYRING_SERVICE, name)
    except Exception as exc:  # noqa: BLE001 - any backend failure: report its type, never its text
        return None, f"the OS keyring could not be read ({type(exc).__name__})"
    if value is None or not str(value).strip():
        return None, f"the OS keyring has no entry for service {KEYRING_SERVICE!r}, user {name!r}"
    return str(value).strip(), ""


def read_secret(name: str, *, env: Mapping[str, str] | None = None, setting: str | None = None) -> str:
    """The secret held by environment variable ``name``, or the keyring entry (pms-bridge, ``name``).

    ``setting`` is the config key that named the variable, for the error message
    (e.g. ``"[source] customer_key_env"``). An empty variable counts as unset.
    """
    environ = os.environ if env is None else env
    value = (environ.get(name) or "").strip()
    if value:
        return value
    value, why = _from_keyring(name)
    if value:
        return value
    named_by = f" (named by {setting})" if setting else ""
    raise MissingSecret(
        f"environment variable {name}{named_by} is not set and {why}. Provide the key either way: "
        f"set {name} in the environment of the account that runs pms-bridge, or store it in the OS keyring "
        f"with `keyring set {KEYRING_SERVICE} {name}`"
        + (f" after `{INSTALL_HINT}`" if "not installed" in why else "")
    )


__all__ = ["INSTALL_HINT", "KEYRING_SERVICE", "MissingSecret", "read_secret"]
