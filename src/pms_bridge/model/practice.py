"""The practice a snapshot belongs to."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


MAX_TIMEZONE_CHARS = 64  # the longest IANA name is about 32; a longer value is a slip, not a zone


def check_timezone(value: str) -> str:
    # zoneinfo reads the name as a file path: an odd one raises OSError (name too long, a folder), not only
    # ZoneInfoNotFoundError, so the length is checked first and any OSError is an unknown timezone too.
    shown = repr(value) if len(value) <= MAX_TIMEZONE_CHARS else f"of {len(value):,} characters"
    problem = f"unknown timezone {shown}; use an IANA name such as America/Chicago"
    if len(value) > MAX_TIMEZONE_CHARS:
        raise ValueError(problem)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(problem) from None
    return value


def practice_key(name: str) -> str:
    """A stable, file- and URL-safe key derived from a practice name."""
    key = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return key[:63] or "practice"


class Practice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(description="Stable id of the practice inside a shared store.")
    name: str = Field(min_length=1)
    timezone: str = Field(description="IANA timezone, e.g. America/Chicago.")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError("use lowercase letters, digits, '-' or '_' (at most 63)")
        return value

    _timezone = field_validator("timezone")(check_timezone)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
