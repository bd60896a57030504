"""Paginators and the record selector: how a list method's rows come in pages.

A paginator says which parameters ask for the first page and, from a page's answer, for the next
one (None: that was the last). The record selector finds the rows in an answer (the answer itself,
or a dotted path such as ``data`` or ``result.items``). ``pages`` runs the two over any fetch
function, so the resources route, the query route and the sinks' list reads share one loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from pms_bridge.connectors.files import SourceFileError

Rows = list[dict[str, Any]]


def _at(data: Any, path: str) -> Any:
    for part in path.split(".") if path else ():
        data = data.get(part) if isinstance(data, dict) else None
    return data


@dataclass(frozen=True)
class RecordSelector:
    """Where the rows are in a JSON answer: '' (the answer is the list) or a dotted path."""

    path: str = ""

    def rows(self, answer: Any, what: str) -> Rows:
        """The answer's rows; anything but a list of JSON objects is a malformed page (SourceFileError).

        A list of lists, numbers or nulls is never read as rows (nor as an empty page): an empty page
        may say the PMS deleted stored rows, so only a well-shaped answer is evidence.
        """
        rows = _at(answer, self.path)
        if not isinstance(rows, list):
            raise SourceFileError(f"{what} is not a list of rows")
        bad = next((i for i, row in enumerate(rows) if not isinstance(row, dict)), None)
        if bad is not None:
            raise SourceFileError(
                f"{what} is not a list of rows: item {bad + 1} is {_kind(rows[bad])}, not an object")
        return rows


def _kind(value: Any) -> str:
    # The JSON type only: never the value, which may be patient data.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {str: "a string", list: "a list"}.get(type(value), type(value).__name__)


class Paginator(Protocol):
    def first(self) -> dict[str, Any]:
        """Parameters of the first page."""

    def next(self, answer: Any, rows: Rows, sent: dict[str, Any]) -> dict[str, Any] | None:
        """Parameters of the page after ``rows`` (None: it was the last)."""


@dataclass(frozen=True)
class OffsetPaginator:
    """Offset (and limit) parameters; a short page is the last."""

    page_size: int
    offset_param: str = "Offset"
    limit_param: str | None = "Limit"

    def first(self) -> dict[str, Any]:
        limit = {self.limit_param: self.page_size} if self.limit_param else {}
        return {**limit, self.offset_param: 0}

    def next(self, answer: Any, rows: Rows, sent: dict[str, Any]) -> dict[str, Any] | None:
        if len(rows) < self.page_size:
            return None
        return {**sent, self.offset_param: int(sent.get(self.offset_param, 0)) + len(rows)}


@dataclass(frozen=True)
class PageNumberPaginator:
    """Page numbers (and a page size); an empty or short page is the last."""

    page_size: int
    page_param: str = "page"
    size_param: str | None = None
    first_page: int = 1

    def first(self) -> dict[str, Any]:
        size = {self.size_param: self.page_size} if self.size_param else {}
        return {**size, self.page_param: self.first_page}

    def next(self, answer: Any, rows: Rows, sent: dict[str, Any]) -> dict[str, Any] | None:
        if not rows or len(rows) < self.page_size:
            return None
        return {**sent, self.page_param: int(sent[self.page_param]) + 1}


@dataclass(frozen=True)
class CursorPaginator:
    """The answer names the next page's cursor (at ``cursor_path``); none ends the list."""

    cursor_path: str = "next"
    cursor_param: str = "cursor"
    page_size: int | None = None
    size_param: str | None = None

    def first(self) -> dict[str, Any]:
        return {self.size_param: self.page_size} if self.size_param and self.page_size else {}

    def next(self, answer: Any, rows: Rows, sent: dict[str, Any]) -> dict[str, Any] | None:
        cursor = _at(answer, self.cursor_path)
        if cursor in (None, "") or not rows:
            return None
        return {**sent, self.cursor_param: cursor}


def pages(
    fetch: Callable[[dict[str, Any]], Any], paginator: Paginator, selector: RecordSelector, what: str
) -> Iterator[Rows]:
    """Each page's rows, asking ``fetch(params)`` for one decoded answer at a time (ValueError: not JSON).

    A page equal to the one before is an error (the server ignores the paging parameters), never an
    endless loop.
    """
    params: dict[str, Any] | None = paginator.first()
    previous: Rows | None = None
    while params is not None:
        try:
            answer = fetch(params)
        except ValueError:  # the body is not JSON
            raise SourceFileError(f"{what}: the page at {_where(params)} is not JSON") from None
        rows = selector.rows(answer, f"{what}: the page at {_where(params)}")
        if rows and rows == previous:
            raise SourceFileError(f"{what}: the page at {_where(params)} repeats the previous one")
        yield rows
        params, previous = paginator.next(answer, rows, params), rows


def _where(params: dict[str, Any]) -> str:
    # Paging parameters only: never a filter's value.
    return ", ".join(f"{k.lower()} {v}" for k, v in params.items() if k.lower() in {"offset", "page", "cursor"}) or "start"


def paginator_for(kind: str, page_size: int, spec: Any) -> Paginator:
    """The paginator a connector file's ``[rest.paging]`` declares."""
    if kind == "page":
        return PageNumberPaginator(page_size, spec.page_param, spec.limit_param, spec.first_page)
    if kind == "cursor":
        return CursorPaginator(spec.cursor_path, spec.cursor_param, page_size, spec.limit_param)
    return OffsetPaginator(page_size, spec.offset_param, spec.limit_param)
