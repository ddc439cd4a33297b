"""Pages of the archive for any filter: keyset paging, an index picked per combination.

:class:`ArchiveFilter` is an :class:`~close_tui.core.filters.EventFilter` plus a
full-text ``search``. The archive answers *every* combination of the filter fields (the
API answers 15), so nothing here calls ``validate()``; the API path keeps validating, and
an ``ArchiveFilter`` with a search refuses to be sent to the API at all.

How a page is read (see ``schema.py`` for the order key ``k``):

1. Each filter value becomes its ``term`` integer; a value no event ever had means an
   empty answer without touching the events.
2. The index is chosen, not guessed: a request/object/lead index when one of those is
   given (small buckets), else the index made for exactly the given subset of user,
   object type and action, else the table itself. Each is read from the cursor on in
   ``k`` order, so a page costs ~``limit`` rows plus the rows the other filters skip.
3. A search is one FTS5 query for the words and the filters' tag tokens (``text.py``):
   FTS5 intersects them itself, in ``k`` order (newest first), and each hit is checked
   exactly against the filters on its event row.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Final

from close_tui.core.archive.errors import SearchUnavailable
from close_tui.core.archive.schema import (
    COLUMNS,
    GROUP_INDEXES,
    SELECTIVE_INDEXES,
    fts5_available,
)
from close_tui.core.archive.store import ArchiveStore, group_base, key_range, to_us
from close_tui.core.archive.text import match_expression
from close_tui.core.filters import FILTER_FIELDS, EventFilter, UnsupportedFilter

_ONE_US: Final = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class ArchiveFilter(EventFilter):
    """An event filter for the archive: any combination of fields, plus ``search``.

    ``search`` is full text over summaries, names and payloads (``text.py``). It is kept
    with the other fields by :meth:`to_params`/:meth:`from_params` (so saved views and
    history entries keep it), but :meth:`validate` refuses it: the API has no such
    parameter, and silently dropping it would show unsearched results as if searched.
    """

    search: str | None = None

    def validate(self) -> ArchiveFilter:
        if self.search:
            raise UnsupportedFilter("full-text search is answered only by the local archive")
        EventFilter.validate(self)
        return self

    def to_params(self) -> dict[str, str]:
        params = EventFilter.to_params(self)
        if self.search:
            params["search"] = self.search
        return params

    def without_search(self) -> EventFilter:
        """The same filter as a plain :class:`EventFilter` (what the API could be sent)."""
        values = {f.name: getattr(self, f.name) for f in fields(EventFilter)}
        return EventFilter(**values)


def archive_filter(flt: EventFilter, search: str | None = None) -> ArchiveFilter:
    """``flt`` as an :class:`ArchiveFilter`, with ``search`` if given (else its own)."""
    values = {f.name: getattr(flt, f.name) for f in fields(EventFilter)}
    if search is None and isinstance(flt, ArchiveFilter):
        search = flt.search
    return ArchiveFilter(**values, search=search or None)


def date_bounds_us(flt: EventFilter) -> tuple[int | None, int | None]:
    """The filter's ``date_updated`` range as inclusive microseconds (``None``: open)."""
    lows: list[datetime] = []
    highs: list[datetime] = []
    if flt.date_updated__gte is not None:
        lows.append(flt.date_updated__gte)
    if flt.date_updated__gt is not None:
        lows.append(flt.date_updated__gt + _ONE_US)
    if flt.date_updated__lte is not None:
        highs.append(flt.date_updated__lte)
    if flt.date_updated__lt is not None:
        highs.append(flt.date_updated__lt - _ONE_US)
    lo = to_us(max(lows)) if lows else None
    hi = to_us(min(highs)) if highs else None
    return lo, hi


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Where a page ended: the last event's key, ``date_updated`` and id.

    The key alone would do, except that a sync running meanwhile may respread the keys of
    one millisecond (order kept); the ``(updated, id)`` pair then finds the place again.
    """

    k: int
    updated: int
    id: str


@dataclass(frozen=True)
class Page:
    """Up to ``limit`` events' JSON, newest first."""

    raws: list[str]
    #: Where to continue (``None`` when nothing was returned).
    cursor: PageCursor | None
    #: Whether older matches exist beyond this page.
    more: bool
    #: Which path answered: "table", an index name, "fts", or "empty" (for tests and
    #: the benchmark).
    plan: str


def read_page(
    store: ArchiveStore, flt: EventFilter, after: PageCursor | None = None, limit: int = 50
) -> Page:
    """One page of ``flt`` (any combination) older than ``after``, newest first."""
    limit = max(1, int(limit))
    columns: dict[str, int | str] = {}
    for name in FILTER_FIELDS:
        value = getattr(flt, name)
        if not value:
            continue
        column = COLUMNS[name]
        if column == "req":  # stored inline (nearly unique per event)
            columns[column] = value
            continue
        n = store.find_term(value)
        if n is None:
            return Page([], None, False, "empty")  # no event ever had this value
        columns[column] = n
    lo_us, hi_us = date_bounds_us(flt)
    if lo_us is not None and hi_us is not None and lo_us > hi_us:
        return Page([], None, False, "empty")
    k_lo, k_hi = key_range(lo_us, hi_us)
    where = [f"e.{column} = ?" for column in columns]
    args: list[Any] = list(columns.values())
    if lo_us is not None:
        where.append("e.updated >= ?")
        args.append(lo_us)
    if hi_us is not None:
        where.append("e.updated <= ?")
        args.append(hi_us)
    if after is not None:
        k_lo, residual = _resume(store.con, after, k_lo)
        if residual:
            where.append("(e.updated, e.id) < (?, ?)")
            args.extend((after.updated, after.id))
    if k_hi < k_lo:
        return Page([], None, False, "empty")
    search = flt.search if isinstance(flt, ArchiveFilter) else None
    if search:
        if not store.fts:
            if fts5_available():  # made by a Python without FTS5; a sync adds the index
                raise SearchUnavailable(
                    "this archive has no full-text index yet: run `close-tui archive sync`"
                )
            raise SearchUnavailable(
                "full-text search needs SQLite's FTS5, which this Python's sqlite3 lacks "
                f"(SQLite {sqlite3.sqlite_version}); the filters work without --search"
            )
        sql, plan, params = _search_sql(columns, where, args, k_lo, k_hi, search, limit)
    else:
        index = _index_for(columns)
        hint = f" INDEXED BY {index}" if index else ""
        conditions = " AND ".join(["e.k BETWEEN ? AND ?", *where])
        sql = (
            f"SELECT e.k, e.updated, e.id, e.raw FROM event AS e{hint} WHERE {conditions} "
            "ORDER BY e.k LIMIT ?"
        )
        plan, params = index or "table", [k_lo, k_hi, *args, limit + 1]
    rows = store.con.execute(sql, params).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return Page([], None, False, plan)
    last = rows[-1]
    cursor = PageCursor(int(last[0]), int(last[1]), str(last[2]))
    return Page([str(r[3]) for r in rows], cursor, more, plan)


def _index_for(columns: dict[str, int | str]) -> str | None:
    for column, index in SELECTIVE_INDEXES:
        if column in columns:
            return index
    return GROUP_INDEXES.get(frozenset(columns)) if columns else None


def _resume(con: sqlite3.Connection, after: PageCursor, k_lo: int) -> tuple[int, bool]:
    """The first key after the cursor, and whether ``(updated, id)`` must be checked."""
    row = con.execute("SELECT k, updated FROM event WHERE id = ?", (after.id,)).fetchone()
    if row is not None and int(row[1]) == after.updated:
        return max(k_lo, int(row[0]) + 1), False  # keys may have moved; order has not
    # The cursor's event moved on (consolidated): continue from its old millisecond.
    return max(k_lo, group_base(after.updated)), True


def _search_sql(
    columns: dict[str, int | str],
    where: list[str],
    args: list[Any],
    k_lo: int,
    k_hi: int,
    search: str,
    limit: int,
) -> tuple[str, str, list[Any]]:
    """One FTS5 query for the words and the filters' tags, read in rowid (= ``k``) order
    (newest first), each hit checked exactly against the filters on its event row."""
    match = match_expression(search, columns)
    conditions = " AND ".join(["e.k BETWEEN ? AND ?", *where])
    # CROSS JOIN keeps fts as the outer loop.
    sql = (
        "SELECT e.k, e.updated, e.id, e.raw FROM fts CROSS JOIN event AS e ON e.k = fts.rowid "
        f"WHERE fts MATCH ? AND fts.rowid BETWEEN ? AND ? AND {conditions} "
        "ORDER BY fts.rowid LIMIT ?"
    )
    return sql, "fts", [match, k_lo, k_hi, k_lo, k_hi, *args, limit + 1]
