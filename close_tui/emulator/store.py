"""The visible events, kept sorted newest first with per-field indexes.

Paging never uses offsets: a page boundary is a *position* in the sort order
(``Rec.k``-space), so events that arrive or get consolidated while a client pages
(live mode) never shift a page already served, and no event is lost or repeated.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from typing import Final

from close_tui.emulator.dataset import Rec

_K: Final = attrgetter("k")
_NEG_INF: Final = float("-inf")

#: Equality filters answered from an index (``action`` is only ever checked).
INDEXED_FIELDS: Final = ("lead_id", "user_id", "object_id", "object_type", "request_id")

Boundary = tuple[int, int]


def after(rec: Rec) -> Boundary:
    """The boundary just older than ``rec`` (odd second member: never equals a record)."""
    return (rec.k[0], rec.k[1] + 1)


def before(rec: Rec) -> Boundary:
    """The boundary just newer than ``rec``."""
    return (rec.k[0], rec.k[1] - 1)


class EventStore:
    def __init__(self, recs: Iterable[Rec]) -> None:
        self.all: list[Rec] = sorted(recs, key=_K)
        self.by_id: dict[str, Rec] = {}
        self.index: dict[str, dict[str, list[Rec]]] = {f: {} for f in INDEXED_FIELDS}
        by_id = self.by_id
        indexes = [(f, self.index[f]) for f in INDEXED_FIELDS]
        for rec in self.all:
            ev = rec.ev
            by_id[ev["id"]] = rec
            for field, index in indexes:
                value = ev[field]
                if value is not None:
                    bucket = index.get(value)
                    if bucket is None:
                        index[value] = [rec]
                    else:
                        bucket.append(rec)

    def __len__(self) -> int:
        return len(self.all)

    def insert(self, rec: Rec) -> None:
        insort(self.all, rec, key=_K)
        self.by_id[rec.ev["id"]] = rec
        for field in INDEXED_FIELDS:
            value = rec.ev[field]
            if value is not None:
                insort(self.index[field].setdefault(value, []), rec, key=_K)

    def remove(self, rec: Rec) -> None:
        """Take ``rec`` out (before its sort key changes, e.g. for consolidation)."""
        _remove(self.all, rec)
        for field in INDEXED_FIELDS:
            value = rec.ev[field]
            if value is not None:
                _remove(self.index[field][value], rec)

    def candidates(self, eq: Mapping[str, str]) -> list[Rec]:
        """The smallest sorted list that holds every match of the equality filters."""
        best = self.all
        for field in INDEXED_FIELDS:
            value = eq.get(field)
            if value is not None:
                bucket = self.index[field].get(value, [])
                if len(bucket) < len(best):
                    best = bucket
        return best

    def select(
        self,
        eq: Mapping[str, str],
        lo_ms: int | None,
        hi_ms: int | None,
        boundary: Boundary | None,
        older: bool,
        limit: int,
    ) -> tuple[list[Rec], bool, bool]:
        """One page from ``boundary`` in a direction: (records newest first, has older, has newer).

        ``older=True`` walks towards older events (``cursor_next``), ``False`` towards
        newer ones (``cursor_previous``); either way the page comes back newest first and
        the two flags say whether any match lies beyond each end of it.
        """
        cands = self.candidates(eq)
        items = list(eq.items())

        def match(rec: Rec) -> bool:
            ev = rec.ev
            return all(ev[f] == v for f, v in items)

        i0 = 0 if hi_ms is None else bisect_left(cands, (-hi_ms, _NEG_INF), key=_K)
        i1 = len(cands) if lo_ms is None else bisect_left(cands, (-(lo_ms - 1), _NEG_INF), key=_K)
        if older:
            start = i0 if boundary is None else max(i0, bisect_left(cands, boundary, key=_K))
            page, end = _collect_forward(cands, start, i1, match, limit)
            has_older = _any_forward(cands, end, i1, match)
            has_newer = _any_backward(cands, start - 1, i0, match)
            return page, has_older, has_newer
        stop = i1 if boundary is None else min(i1, bisect_left(cands, boundary, key=_K))
        page, end = _collect_backward(cands, stop - 1, i0, match, limit)
        page.reverse()
        has_newer = _any_backward(cands, end, i0, match)
        has_older = _any_forward(cands, stop, i1, match)
        return page, has_older, has_newer

    def matching(self, eq: Mapping[str, str], lo_ms: int | None, hi_ms: int | None) -> list[Rec]:
        page, _, _ = self.select(eq, lo_ms, hi_ms, None, True, len(self.all) + 1)
        return page


def _remove(lst: list[Rec], rec: Rec) -> None:
    i = bisect_left(lst, rec.k, key=_K)
    while i < len(lst) and lst[i] is not rec:  # equal keys cannot happen; be safe anyway
        i += 1
    if i < len(lst):
        del lst[i]


def _collect_forward(
    cands: list[Rec], start: int, stop: int, match: Callable[[Rec], bool], limit: int
) -> tuple[list[Rec], int]:
    page: list[Rec] = []
    i = start
    while i < stop and len(page) < limit:
        rec = cands[i]
        if match(rec):
            page.append(rec)
        i += 1
    return page, i


def _collect_backward(
    cands: list[Rec], start: int, stop: int, match: Callable[[Rec], bool], limit: int
) -> tuple[list[Rec], int]:
    page: list[Rec] = []
    i = start
    while i >= stop and len(page) < limit:
        rec = cands[i]
        if match(rec):
            page.append(rec)
        i -= 1
    return page, i


def _any_forward(cands: list[Rec], start: int, stop: int, match: Callable[[Rec], bool]) -> bool:
    return any(match(cands[i]) for i in range(start, stop))


def _any_backward(cands: list[Rec], start: int, stop: int, match: Callable[[Rec], bool]) -> bool:
    return any(match(cands[i]) for i in range(start, stop - 1, -1))
