"""Requests the Open Dental sinks share: the marker that recognises our copies, ids and
datetimes as Open Dental writes them, paging, and POSTs that never write a second copy."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from pms_bridge.connectors.api_client import ApiClient, ApiRequestError, ApiUnavailable, RetryPolicy
from pms_bridge.ledger import Task

PAGE_SIZE = 100  # Open Dental's page (Remote API); the Local API and API Service may return more

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
    """Every row of a list method, paging with Offset until a short page."""
    rows: list[dict[str, Any]] = []
    while True:
        page_params = dict(params)
        if rows:
            page_params["Offset"] = len(rows)
        page = reply_json(client.request("GET", path, params=page_params))
        if not isinstance(page, list):
            raise ApiRequestError(f"GET {path}: the answer is not a list")
        rows.extend(r for r in page if isinstance(r, dict))
        if len(page) < PAGE_SIZE:
            return rows


def reply_json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def request_once(client: ApiClient, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    """One attempt, no retry: a retried POST whose first answer was lost would write a second copy."""
    saved = client.retry
    client.retry = RetryPolicy(attempts=1, initial=saved.initial, maximum=saved.maximum, jitter=saved.jitter)
    try:
        return client.request(method, path, json=body)
    finally:
        client.retry = saved


def create_checked(
    client: ApiClient, path: str, body: dict[str, Any], find: Callable[[], dict[str, Any] | None], id_field: str
) -> tuple[dict[str, Any], bool]:
    """POST without duplicates: after a transient failure, look for the copy (by marker) before posting again.

    Returns the created row and whether it was found rather than answered.
    """
    attempts = max(1, client.retry.attempts)
    for attempt in range(1, attempts + 1):
        try:
            row = reply_json(request_once(client, "POST", path, body))
        except ApiUnavailable:
            found = find()
            if found is not None:
                return found, True
            if attempt == attempts:
                raise ApiUnavailable(
                    f"POST {path} still failing after {attempts} attempts; the office server, its eConnector "
                    "or the API may be down: the next run will try again"
                ) from None
            client.pacer.sleep(min(client.retry.maximum, client.retry.initial * 2 ** (attempt - 1)))
            continue
        if isinstance(row, dict) and od_num(row.get(id_field)):
            return row, False
        # Older versions answer 201 without the object: read it back by its marker.
        found = find()
        if found is not None:
            return found, True
        raise ApiRequestError(f"POST {path}: the answer has no {id_field}")
    raise AssertionError("unreachable")
