"""structlog setup: readable lines on a terminal, JSON lines otherwise (stderr),
with a redaction processor between every event and its output.

Our own events carry ids and counts only. The redaction processor is the
second line of defence, for what a future change or a third-party exception
might let through: keys that name patient data are masked, and strings are
scrubbed of anything that looks like a phone number, an e-mail address, a
date (of birth), an SSN, a member/subscriber id or a pydantic `input_value`.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog

REDACTED = "[redacted]"

# Keys whose values are patient data or free text (compared lower-cased, ignoring _ and -).
PHI_KEYS = frozenset(
    k.replace("_", "")
    for k in (
        "first_name", "last_name", "name", "patient_name", "preferred", "preferred_name", "fname", "lname",
        "birth_date", "birthdate", "dob", "phone", "hmphone", "wkphone", "wirelessphone", "email", "address",
        "address2", "city", "zip", "ssn", "subscriber_id", "subscriberid", "member_id", "note", "notes",
        "description", "descript", "value", "row", "cells", "raw", "input", "input_value", "body", "text",
        "authorization", "headers", "developer_key", "customer_key", "password", "secret", "token",
    )
)  # fmt: skip

_PATTERNS = [
    re.compile(r"input_value=('[^']*'|\"[^\"]*\"|\S+)"),  # pydantic's rendering of the offending value
    re.compile(r"ODFHIR\s+\S+"),  # an Open Dental Authorization header
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),  # e-mail
    re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),  # SSN
    re.compile(r"(?:\+?1[-. ]?)?\(?\b\d{3}\)?[-. ]?\d{3}[-. ]\d{4}\b"),  # phone
    re.compile(r"\b(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})\b"),  # dates
    re.compile(r"\b(?=[A-Za-z0-9]{7,}\b)(?=[A-Za-z0-9]*\d{4})(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]+\b"),  # member ids
]


def scrub(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def _clean(key: str, value: Any) -> Any:
    if key.lower().replace("_", "").replace("-", "") in PHI_KEYS:
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: _clean(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_clean("", v) for v in value]
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {scrub(str(value))}"
    return value


def redact_phi(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask PHI keys, scrub PHI-looking strings (the event name included)."""
    return {key: value if key == "event" and not isinstance(value, str) else _clean(key, value)
            for key, value in event_dict.items()}


def configure_logging(verbosity: int = 0, json_lines: bool | None = None, stream: TextIO | None = None) -> None:
    """-v: info, -vv: debug. ``stream``: where to write (default: the current stderr)."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    if json_lines is None:
        json_lines = not (stream or sys.stderr).isatty()
    renderer = structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,  # tracebacks become text, then get scrubbed
            redact_phi,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Looked up at each call: stderr may be replaced (tests, daemons) after setup.
        logger_factory=lambda *_: structlog.PrintLogger(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
