"""The SQL of the two routes that read a PMS's tables: the query route (Open Dental's ShortQuery, over
the API) and the database route (Open Dental's MySQL/MariaDB itself).

A table's rows are read with explicit columns (its primary key, then the mapping's: never '*', never
a column the connector must not read, such as image bodies or SSNs), after the cursor's change stamp
less an overlap or above the highest key read so far, live rows only, ordered by the primary key.
Stored ids the table no longer holds are found bucket by bucket: counts and id sums per bucket of
ids, ids listed only where a bucket differs. Each route sends the SQL its own way (``Rows``).
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from pms_bridge.connectors.files import SourceFileError
from pms_bridge.connectors.rest_table import as_int, read_cursor
from pms_bridge.connectors.spec import QueryTable

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# How a route answers a statement: its rows, page by page, as {column: value} dicts.
Rows = Callable[[str], Iterable[list[dict[str, Any]]]]


def since(cursor: str | None, time_format: str, overlap_seconds: int) -> str | None:
    """The change stamp to read after: the cursor's server time less the overlap (None: read everything)."""
    stamp = read_cursor(cursor)
    if stamp is None:
        return None
    moment = datetime.strptime(stamp, time_format) - timedelta(seconds=overlap_seconds)
    return moment.strftime(time_format)


def select_list(
    route: str, db_table: str, table: QueryTable, columns: Iterable[str] | None, never_columns: Iterable[str]
) -> list[str]:
    """The primary key, then the mapping's columns: never '*', never a column the route must not read.

    ``route`` names the route in messages ("query", "database").
    """
    if columns is None:
        raise ValueError(f"{route} {db_table}: the {route} route needs the columns to read (never SELECT *)")
    never = {c.casefold() for c in never_columns}
    selected: list[str] = []
    for column in [table.pk, *columns]:
        if not IDENTIFIER.match(column):
            raise SourceFileError(f"{route} {db_table}: {column!r} is not a column name")
        if column.casefold() in never:
            raise SourceFileError(
                f"{route} {db_table}: the mapping asks for column {column}, which the {route} route never reads "
                "(image bodies and data the model does not keep, such as SSNs); remove it from the mapping"
            )
        if column not in selected:
            selected.append(column)
    return selected


def rows_sql(db_table: str, table: QueryTable, selected: list[str], after_stamp: str | None,
             after_key: int | None, page: tuple[int | None, int] | None = None) -> str:
    """SELECT the ``selected`` columns of the rows changed after ``after_stamp`` (or keyed above
    ``after_key``) that are live, ordered by the primary key.

    ``page``: (the highest key of the page before or None, rows per page): one page of the answer."""
    if not IDENTIFIER.match(db_table):
        raise SourceFileError(f"{db_table!r} is not a table name")
    conditions: list[str] = []
    if after_stamp is not None and table.incremental:
        conditions.append(f"{table.incremental} > '{after_stamp}'")
    if after_key is not None and table.incremental_key:
        conditions.append(f"{table.pk} > {int(after_key)}")
    if page is not None and page[0] is not None:
        conditions.append(f"{table.pk} > {int(page[0])}")
    if table.live:
        conditions.append(table.live)  # soft-deleted rows are never read
    sql = f"SELECT {', '.join(selected)} FROM {db_table}"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    sql += f" ORDER BY {table.pk}"
    return sql if page is None else sql + f" LIMIT {int(page[1])}"


def reconcile_ids(
    route: str, db_table: str, table: QueryTable, stored: Iterable[int], bucket_size: int, list_at: int, rows: Rows,
    up_to_stored: bool = False,
) -> set[int]:
    """Which of the ``stored`` ids the table no longer holds (deleted, or soft-deleted: not 'live').

    Counts and id sums per bucket of ``bucket_size`` ids first; a bucket that differs from the stored ids
    is split tenfold until its ids span at most ``list_at``, and only then are ids listed. An unchanged
    table costs one statement.

    ``up_to_stored``: compare only ids up to the highest stored one, for a table whose ids are read later
    than its rows (not inside one snapshot with them). Rows added in between are not stored, so they are
    never taken for deleted either way; left out, they do not make the top bucket differ on every busy
    night and cost statements down to an id list.
    """
    gone: set[int] = set()
    # 8 bytes an id, in order: a long history of ids costs little memory (a sorted array is taken as it is)
    ids = stored if isinstance(stored, array) and stored.typecode == "q" else array("q", sorted(stored))
    highest = ids[-1] if ids and up_to_stored else None
    _reconcile_range(route, db_table, table, bucket_size, list_at, None, ids, highest, gone, rows)
    return gone


def _reconcile_range(
    route: str, db_table: str, table: QueryTable, size: int, list_at: int, span: tuple[int, int] | None,
    stored: array[int], highest: int | None, gone: set[int], rows: Rows,
) -> None:
    pk = table.pk
    conditions = [f"{pk} >= {span[0]}", f"{pk} < {span[1]}"] if span else []
    if highest is not None:
        conditions.append(f"{pk} <= {int(highest)}")
    if table.live:
        conditions.append(table.live)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    if span is not None and span[1] - span[0] <= list_at:  # few enough: list the ids
        sql = f"SELECT {pk} FROM {db_table}{where} ORDER BY {pk}"
        listed = _listed_ids(f"{route} {db_table}", pk, span, rows(sql))
        gone.update(i for i in stored if i not in listed)
        return
    sql = (f"SELECT FLOOR({pk}/{size}) AS b, COUNT(*) AS n, SUM({pk}) AS s FROM {db_table}{where} "
           "GROUP BY b ORDER BY b")
    theirs = _buckets(f"{route} {db_table}", size, span, rows(sql))
    for bucket, ids in _by_bucket(stored, size):
        if theirs.get(bucket) == (len(ids), sum(ids)):
            continue
        if bucket not in theirs:  # the table holds none of them any more
            gone.update(ids)
            continue
        start = bucket * size
        _reconcile_range(route, db_table, table, max(size // 10, 1), list_at, (start, start + size), ids, highest,
                         gone, rows)


def _by_bucket(stored: array[int], size: int) -> Iterator[tuple[int, array[int]]]:
    """(bucket, its ids) of sorted ids: each bucket's run found by bisection, no per-id work in Python."""
    start = 0
    while start < len(stored):
        bucket = stored[start] // size
        end = bisect_left(stored, (bucket + 1) * size, start)
        yield bucket, stored[start:end]
        start = end


def _malformed(where: str, what: str) -> SourceFileError:
    return SourceFileError(f"{where}: the id reconciliation answer {what}; nothing was removed on it "
                           "(the next run checks again)")


def _listed_ids(where: str, pk: str, span: tuple[int, int], pages: Iterable[list[dict[str, Any]]]) -> set[int]:
    """The ids a range lists; an id that is garbled or outside the range voids the answer (an id
    missing from it would read as deleted)."""
    listed: set[int] = set()
    for page in pages:
        for row in page:
            number = as_int(row.get(pk))
            if number is None or not span[0] <= number < span[1]:
                raise _malformed(where, f"lists an id that is not a number from {span[0]} to {span[1] - 1}")
            listed.add(number)
    return listed


def _buckets(
    where: str, size: int, span: tuple[int, int] | None, pages: Iterable[list[dict[str, Any]]]
) -> dict[int, tuple[int, int]]:
    """bucket -> (count, id sum) as the table answers; any row that cannot be what was asked voids the answer.

    A bucket missing from the answer reads as all its stored ids deleted, so each row must hold a whole
    bucket number inside the range asked for, once, a positive count, and an id sum that ids of that bucket
    can make: a garbled bucket number is caught by its sum.
    """
    theirs: dict[int, tuple[int, int]] = {}
    for page in pages:
        for row in page:
            bucket, count, total = as_int(row.get("b")), as_int(row.get("n")), as_int(row.get("s"))
            if bucket is None or count is None or total is None or count < 1:
                raise _malformed(where, "has a malformed id bucket")
            low, high = bucket * size, (bucket + 1) * size - 1  # the ids the bucket can hold
            if span is not None:
                low, high = max(low, span[0]), min(high, span[1] - 1)
                if low > high:
                    raise _malformed(where, f"has an id bucket outside the ids {span[0]} to {span[1] - 1} asked for")
            if bucket in theirs:
                raise _malformed(where, "lists an id bucket twice")
            if not count * low <= total <= count * high:
                raise _malformed(where, "has an id bucket whose id sum its ids cannot make")
            theirs[bucket] = (count, total)
    return theirs
