"""The archive as an event source: the same shape as the API client for the view feed.

:class:`ArchiveSource` mirrors what the feed uses of
:class:`~close_tui.core.client.CloseClient`:

* ``pager(flt, limit=50)`` returns an :class:`ArchivePager` with ``async next_page() ->
  list[Event]`` and ``exhausted`` (like :class:`~close_tui.core.client.EventPager`), and
* ``async get_event(id) -> Event``, raising :class:`~close_tui.core.errors.NotFound`.

The difference is what it accepts: any :class:`~close_tui.core.filters.EventFilter`
(combinations the API refuses included, never validated against the API's table), and an
:class:`~close_tui.core.archive.query.ArchiveFilter` for full-text ``search``.

SQLite calls run in a worker thread (``asyncio.to_thread``), one at a time per source, so
a search that takes a while never freezes the event loop. The connection is read-only
(``PRAGMA query_only``): a running ``archive sync`` in another process keeps writing,
and pages read meanwhile see whole batches only (WAL snapshots).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from close_tui.core import jsonnum
from close_tui.core.archive.query import ArchiveFilter, Page, PageCursor, read_page
from close_tui.core.archive.store import ArchiveStatus, ArchiveStore
from close_tui.core.archive.sync import HISTORY
from close_tui.core.archive.text import fts_query
from close_tui.core.client import MAX_PAGE_SIZE
from close_tui.core.errors import NotFound
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event

T = TypeVar("T")

#: Largest page the archive serves (the API's cap, 50, is the default; headless listings
#: read bigger pages, since a page costs one query whatever its size).
MAX_ARCHIVE_PAGE = 1000


def event_from_raw(raw: str) -> Event:
    return Event.model_validate(jsonnum.loads(raw))


class ArchiveSource:
    """Read access to one archive file. Use as an async context manager or ``close()``."""

    #: What kind of source this is (the API client has no such attribute: a feed can
    #: tell them apart, e.g. to say "archive" in the form).
    kind = "archive"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store = ArchiveStore(path, readonly=True)
        self._lock = threading.Lock()

    async def __aenter__(self) -> ArchiveSource:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def close(self) -> None:
        with self._lock:
            self._store.close()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def __repr__(self) -> str:
        return f"ArchiveSource({str(self.path)!r})"

    async def _call(self, fn: Callable[[ArchiveStore], T]) -> T:
        def locked() -> T:
            with self._lock:
                return fn(self._store)

        return await asyncio.to_thread(locked)

    # ------------------------------------------------------------------ the source API

    def pager(self, flt: EventFilter, limit: int = MAX_PAGE_SIZE) -> ArchivePager:
        """A keyset pager over ``flt``, newest first. Any combination of fields is fine;
        a search with nothing to look for raises :class:`SearchSyntaxError` here, at
        once (as the API client's pager rejects an unsupported filter)."""
        return ArchivePager(self, flt, limit)

    async def get_event(self, event_id: str) -> Event:
        """The stored event ``event_id``; :class:`NotFound` when the archive lacks it."""
        if not event_id:
            raise ValueError("empty event id")
        raw = await self._call(lambda store: store.get_raw(event_id))
        if raw is None:
            raise NotFound(f"event {event_id} is not in the archive")
        return event_from_raw(raw)

    async def write_all(
        self,
        flt: EventFilter,
        write: Callable[[Event], None],
        *,
        on_page: Callable[[int], object] | None = None,
    ) -> int:
        """Every event of ``flt``, newest first, to ``write`` (the app's export of an
        archive view); ``on_page(read so far)`` after each page. Returns how many."""
        pager = self.pager(flt, limit=MAX_ARCHIVE_PAGE)
        read = 0
        while not pager.exhausted:
            for event in await pager.next_page():
                write(event)
                read += 1
            if on_page is not None:
                on_page(read)
        return read

    # ------------------------------------------------------------------ about the archive

    async def status(self, now: datetime | None = None) -> ArchiveStatus:
        when = now or datetime.now(UTC)
        return await self._call(lambda store: store.status(when, HISTORY))

    async def names(self) -> dict[str, str]:
        """The display names the syncs learned (users, leads, custom fields), by id: what
        the explorer can show for ids on the archive, where it sends no look-up."""
        return await self._call(lambda store: store.names())

    def stored_names(self) -> dict[str, str]:
        """:meth:`names` without awaiting, for the explorer's constructor (one small
        table: a few hundred rows)."""
        with self._lock:
            return self._store.names()

    async def unindexed(self) -> int:
        """Events stored but not yet searchable (an interrupted sync left them)."""
        return await self._call(lambda store: store.unindexed_count())


class ArchivePager:
    """Pages one filter of the archive, newest first: :meth:`next_page` until
    :attr:`exhausted`, like :class:`~close_tui.core.client.EventPager`.

    Keyset paging: a page starts below the last event of the previous one, so events a
    sync adds meanwhile never shift or repeat what was already returned. One call at a
    time.
    """

    def __init__(self, source: ArchiveSource, flt: EventFilter, limit: int = MAX_PAGE_SIZE):
        if isinstance(flt, ArchiveFilter) and flt.search:
            fts_query(flt.search)  # SearchSyntaxError now, not at the first page
        self.filter: EventFilter = flt
        self.limit = max(1, min(int(limit), MAX_ARCHIVE_PAGE))
        self.exhausted = False
        self.pages_fetched = 0
        self.events_yielded = 0
        #: Kept for the feed's sake (an API pager counts refused-cursor recoveries).
        self.recoveries = 0
        #: The path the last page took (an index name, "fts", "table"): for diagnostics.
        self.plan = ""
        self._source = source
        self._cursor: PageCursor | None = None
        self._busy = False

    @property
    def query(self) -> EventFilter:
        """The filter answered (an API pager may narrow it; this one never does)."""
        return self.filter

    @property
    def search(self) -> str | None:
        return self.filter.search if isinstance(self.filter, ArchiveFilter) else None

    async def next_page(self) -> list[Event]:
        if self.exhausted:
            return []
        if self._busy:
            raise RuntimeError("ArchivePager.next_page() is already running")
        self._busy = True
        try:
            cursor, flt, limit = self._cursor, self.filter, self.limit

            def read(store: ArchiveStore) -> tuple[Page, list[Event]]:
                # Parsed in the worker thread too: 50 events cost ~2.5 ms of JSON and
                # validation, ten times the SQLite read, and the event loop draws frames.
                page = read_page(store, flt, cursor, limit)
                return page, [event_from_raw(raw) for raw in page.raws]

            page, events = await self._source._call(read)
        finally:
            self._busy = False
        self.pages_fetched += 1
        self.events_yielded += len(events)
        self.plan = page.plan
        if page.cursor is not None:
            self._cursor = page.cursor
        if not page.more:
            self.exhausted = True
        return events
