"""Requests the Open Dental sinks share: the marker that recognises our copies, ids and
datetimes as Open Dental writes them, list reads (the shared paginator), and POSTs that never
write a second copy (the client sends a POST once; a lost answer is settled by the marker)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from pms_bridge.connectors.api_client import ApiClient, ApiRequestError, ApiUnavailable
from pms_bridge.connectors.files import SourceFileError
from pms_bridge.connectors.paging import OffsetPaginator, RecordSelector, pages
from pms_bridge.ledger import Task

PAGE_SIZE = 100  # Open Dental's page (Remote API); the Local API and API Service may return more
LIST_PAGING = OffsetPaginator(PAGE_SIZE, "Offset", limit_param=None)

_MARKER = re.compile(r"\[pms-bridge ([^\]\r\n]+)\]")
_OD_DATETIME = "%Y-%m-%d %H:%M:%S"


def marker(key: str) -> str:
    """The line that lets a copy written by pms-bridge be recognised in Open Dental."""
    return f"[pms-bridge {key}]"


def marked_key(text: Any) -> str | None:
    match = _MARKER.search(str(text or ""))
    return match.group(1).strip() if match else None


def task_text(task: Task) -> str:
    """Short and without the patient's name: title - how to fix - due date - rule code, then the marker."""
    return f"{task.title} - {task.fix} - due {task.due.isoformat()} - {task.rule}\n{marker(task.key)}"


def od_num(value: Any) -> str | None:
    """Open Dental ids arrive as numbers or as strings of digits."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return str(number) if number > 0 else None


def od_datetime(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime(_OD_DATETIME)


def parse_od_datetime(value: Any, tz: ZoneInfo) -> datetime | None:
    try:
        parsed = datetime.strptime(str(value), _OD_DATETIME)
    except (TypeError, ValueError):
        return None
    return None if parsed.year < 1900 else parsed.replace(tzinfo=tz)


def get_all(client: ApiClient, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of a list method (Open Dental's Offset paging: a short page is the last)."""
    def fetch(page: dict[str, Any]) -> Any:
        return client.read_json("GET", path, params={**params, **page})  # a 204 is no empty list

    try:
        return [r for rows in pages(fetch, LIST_PAGING, RecordSelector(), f"GET {path}") for r in rows]
    except SourceFileError as exc:
        raise ApiRequestError(str(exc)) from None


def reply_json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def create_checked(
    client: ApiClient, path: str, body: dict[str, Any], find: Callable[[], dict[str, Any] | None], id_field: str
) -> tuple[dict[str, Any], bool]:
    """POST without duplicates: after a transient failure, look for the copy (by marker) before posting again.

    Returns the created row and whether it was found rather than answered.
    """
    attempts = max(1, client.retry.attempts)
    for attempt in range(1, attempts + 1):
        try:
            row = reply_json(client.request("POST", path, json=body, retry=False))
        except ApiUnavailable:
            found = find()
            if found is not None:
                return found, True
            if attempt == attempts or not client.budget.spend():
                raise ApiUnavailable(
                    f"POST {path} still failing after {attempt} attempts; the office server, its eConnector "
                    "or the API may be down: the next run will try again"
                ) from None
            client.pacer.sleep(client.backoff(attempt))
            continue
        if isinstance(row, dict) and od_num(row.get(id_field)):
            return row, False
        # Older versions answer 201 without the object: read it back by its marker.
        found = find()
        if found is not None:
            return found, True
        raise ApiRequestError(f"POST {path}: the answer has no {id_field}")
    raise AssertionError("unreachable")
