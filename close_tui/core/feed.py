"""The view feed: one view of the event log as the explorer shows it, without Textual.

A *view* is a server filter plus an optional local predicate. Its :class:`ViewFeed` holds
everything about it that is not a widget: the source's pager, whether a page is in
flight, the last error, the local scan's counters, what the footer and the status line
say, and, while the view is not on screen (the history keeps it for Back), the rows,
cursor and scroll position it had. A history entry holds one feed instead of twenty
copied fields, so leaving a view and coming back cannot forget one of them.

Events come from an :class:`EventSource`: anything with ``pager(filter)`` (an object
with ``async next_page()`` and ``exhausted``) and ``async get_event(id)``. The HTTP client
(:class:`~close_tui.core.client.CloseClient`) is the first source; a local archive is
the next one behind the same feed. The feed never does I/O itself: the UI's workers call
``next_page()``/``get_event()`` and hand the results back with the feed's
:attr:`~ViewFeed.generation`, and the feed drops what no longer belongs to it.

* **Generation.** Every feed has a unique generation (a process-wide counter). A page
  loaded "for generation G" belongs to the feed with that generation: refreshing a view
  makes a new feed, so an answer to the old query can never mix into the new one.
* **One request at a time.** :attr:`~ViewFeed.gate` is held around each
  ``next_page()``: a request whose worker was cancelled (the user left the view) has
  finished unwinding before the next one starts, so "the pager is busy" is not a state
  anybody has to guess from a ``RuntimeError``.
* **No page is lost.** A page that arrives after its view was left is kept in the feed
  (:attr:`~ViewFeed.unshown`) and shown when the user comes back: the pager has already
  moved past it.

Also here, because they are facts about what is shown rather than widgets:
:class:`FollowQueue` (where live follow's events go: in place, on top, or behind
"+N new") and :class:`EventCache` (events fetched for the detail pane, by id).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol

from close_tui.core.filters import EventFilter
from close_tui.core.follow import FollowBatch
from close_tui.core.models import Event
from close_tui.core.predicates import Predicate, parse
from close_tui.core.rows import EventRow

#: What the footer line says when a view has no event at all.
NO_MATCH: Final = "no events match this filter"
#: Fetched events kept for the detail pane (by id).
DETAIL_CACHE: Final = 256

Phase = Literal["loading", "more", "end", "empty", "error"]


class EventPager(Protocol):
    """Pages one filter, newest first; ``next_page()`` may return an empty list while
    more remain. One call at a time (the feed's gate sees to it)."""

    exhausted: bool

    async def next_page(self) -> list[Event]: ...


class EventSource(Protocol):
    """Where events come from: the Close API today, a local archive next."""

    def pager(self, flt: EventFilter) -> EventPager: ...

    async def get_event(self, event_id: str) -> Event: ...


_generations = itertools.count(1)


class ViewFeed:
    """One view: a filter, a predicate, a pager, and what the view shows about them.

    Created validated: ``source.pager(flt)`` rejects an unsupported filter at once.
    """

    def __init__(self, source: EventSource, flt: EventFilter, predicate: str = "") -> None:
        self.source = source
        self.filter = flt
        self.predicate: Predicate = parse(predicate)
        #: The predicate in its canonical form ("" for none).
        self.predicate_text = self.predicate.describe()
        self.pager: EventPager = source.pager(flt)
        self.generation = next(_generations)
        self.gate = asyncio.Lock()
        #: A page request is in flight for this feed.
        self.loading = False
        #: Why the last page failed ("" after a success); shown until a retry.
        self.error = ""
        #: Events the server sent (before the local predicate) and events kept.
        self.scanned = 0
        self.matched = 0
        #: The user stopped a local scan (Esc); End resumes it.
        self.scan_stopped = False
        #: The query of the last page request, as the status line shows it.
        self.sent_query = ""
        # What the view had on screen when it was left (kept for Back/Forward).
        self.rows: list[EventRow] | None = None
        self.cursor: int | None = None
        self.scroll_y = 0.0
        #: Matching events of pages that arrived while the view was not shown.
        self.unshown: list[Event] = []

    def __repr__(self) -> str:
        return (f"ViewFeed(generation={self.generation}, filter={self.filter.describe()!r}, "
                f"predicate={self.predicate_text!r}, phase={self.phase!r})")

    def fresh(self) -> ViewFeed:
        """The same view from the newest event, with a new pager (refresh, retry)."""
        return ViewFeed(self.source, self.filter, self.predicate_text)

    # ------------------------------------------------------------------ paging

    @property
    def exhausted(self) -> bool:
        return self.pager.exhausted

    def begin_page(self) -> bool:
        """Whether a page should be requested now; if so, the feed is loading from here.

        Not while one is in flight, after the end, after an error (``r`` retries) or
        while the user has stopped a local scan.
        """
        if self.loading or self.error or self.scan_stopped or self.pager.exhausted:
            return False
        self.loading = True
        return True

    def page_loaded(self, events: Sequence[Event], query: str = "") -> list[Event]:
        """A page of this feed arrived: count it, keep what the predicate matches."""
        self.loading = False
        self.error = ""
        if query:
            self.sent_query = query
        self.scanned += len(events)
        kept = [event for event in events if self.predicate.matches(event)] if (
            self.predicate) else list(events)
        self.matched += len(kept)
        return kept

    def page_failed(self, message: str, query: str = "") -> None:
        self.loading = False
        self.error = message
        if query:
            self.sent_query = query

    def page_abandoned(self) -> None:
        """The request in flight was cancelled (the view was left): ask again later."""
        self.loading = False

    def stop_scan(self) -> bool:
        """Esc during a local scan: no further pages until :meth:`resume_scan`."""
        if not self.predicate or self.scan_stopped or self.pager.exhausted:
            return False
        self.scan_stopped = True
        return True

    def resume_scan(self) -> bool:
        if not self.scan_stopped:
            return False
        self.scan_stopped = False
        return True

    # ------------------------------------------------------------------ what it says

    @property
    def phase(self) -> Phase:
        if self.error:
            return "error"
        if self.loading:
            return "loading"
        if self.pager.exhausted:
            return "end" if self.matched else "empty"
        return "more"

    def footer(self) -> tuple[Literal["loading", "more", "end", "error"], str]:
        """The table's last line: ``(state, message)`` for ``EventTable.set_footer``."""
        phase = self.phase
        if phase == "empty":
            return "end", NO_MATCH
        if phase == "error":
            return "error", self.error
        return phase, ""

    @property
    def paging_text(self) -> str:
        """The status line's word on paging."""
        return {
            "loading": "loading…",
            "more": "scan stopped" if self.scan_stopped else "more available",
            "end": "end of log",
            "empty": NO_MATCH,
            "error": "stopped",
        }[self.phase]

    def local_status(self, shown: int, *, scanning: bool) -> str:
        """The local filter's line (``""`` without a predicate).

        ``scanning``: the view will page on by itself (the screen is not yet full of
        matches), so a moment between two pages still reads "scanning…", not "scroll for
        more".
        """
        if not self.predicate:
            return ""
        phase = self.phase
        if phase == "error":
            state = "stopped by an error (r retries)"
        elif phase in ("end", "empty"):
            state = "end of log" if shown else f"end of log: {NO_MATCH}"
        elif self.scan_stopped:
            state = "stopped (End scans on)"
        elif self.loading or scanning:
            state = "scanning… (Esc stops)"
        else:
            state = "scroll for more"
        return (f"local filter: {self.predicate_text} · scanned {self.scanned:,} · "
                f"{shown:,} match · {state}")

    # ------------------------------------------------------------------ leaving, returning

    def keep(self, rows: list[EventRow], cursor: int | None, scroll_y: float) -> None:
        """The view is left: remember what it showed, so Back needs no request."""
        self.rows, self.cursor, self.scroll_y = rows, cursor, scroll_y

    def take_unshown(self) -> list[Event]:
        events, self.unshown = self.unshown, []
        return events

    @property
    def kept_rows(self) -> int:
        """Rows this feed holds while off screen (the history's memory budget)."""
        return (len(self.rows) if self.rows is not None else 0) + len(self.unshown)

    def shed(self) -> None:
        """Give up the kept rows (memory budget): coming back reloads from the newest."""
        self.rows = None
        self.unshown = []

    @property
    def restorable(self) -> bool:
        return self.rows is not None


# --------------------------------------------------------------------------- follow


@dataclass
class FollowPlan:
    """What one follow poll changes on screen."""

    #: Upserted now: known rows (moved to their place by ``date_updated``) and new rows
    #: shown at once (the reader is at the top).
    show: list[Event] = field(default_factory=list)
    #: How many new events wait behind the "+N new" badge after this poll.
    waiting: int = 0


class FollowQueue:
    """Where live follow's events go.

    Updated events are shown at once: the row store moves each one to its place by
    ``date_updated`` (newest first), so times stay in order. New events go on top while
    the reader is at the top; while they read further down, new events wait here and
    the badge says "+N new" until Home shows them.
    """

    def __init__(self) -> None:
        self.pending: OrderedDict[str, Event] = OrderedDict()

    def __len__(self) -> int:
        return len(self.pending)

    def plan(
        self,
        batch: FollowBatch,
        predicate: Predicate,
        *,
        at_top: bool,
        shown: Callable[[str], float | None] | None = None,
    ) -> FollowPlan:
        """Sort one poll. ``shown(event_id)`` is the ``date_updated`` (POSIX seconds) the
        table shows an event under: an event the follower forgot (older than its window)
        that comes back is then an update if it is newer, and nothing if it is not."""
        new: list[Event] = []
        updated = list(batch.updated)
        for event in batch.new:
            prior = self.stamp(event.id)
            if prior is None and shown is not None:
                prior = shown(event.id)
            if prior is None:
                new.append(event)
            elif event.date_updated.timestamp() > prior:
                updated.append(event)
        if predicate:
            new = [e for e in new if predicate.matches(e)]
            updated = [e for e in updated if predicate.matches(e)]
        show: list[Event] = []
        for event in updated:
            if event.id in self.pending:
                self.pending[event.id] = event  # still waiting: wait with its news
            else:
                show.append(event)
        if at_top and not self.pending:
            show.extend(new)
        else:
            for event in new:
                self.pending[event.id] = event
        return FollowPlan(show=show, waiting=len(self.pending))

    def take(self) -> list[Event]:
        """The waiting events (Home, or follow stopped): to show now."""
        events = list(self.pending.values())
        self.pending.clear()
        return events

    def stamp(self, event_id: str) -> float | None:
        """``date_updated`` of a waiting event (POSIX seconds), for the follower's
        "already shown" look-up."""
        event = self.pending.get(event_id)
        return None if event is None else event.date_updated.timestamp()


# --------------------------------------------------------------------------- details


class EventCache:
    """Events fetched by id for the detail pane, least recently used dropped first."""

    def __init__(self, size: int = DETAIL_CACHE) -> None:
        self.size = size
        self._events: OrderedDict[str, Event] = OrderedDict()

    def get(self, event_id: str) -> Event | None:
        event = self._events.get(event_id)
        if event is not None:
            self._events.move_to_end(event_id)
        return event

    def put(self, event: Event) -> None:
        self._events[event.id] = event
        self._events.move_to_end(event.id)
        while len(self._events) > self.size:
            self._events.popitem(last=False)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._events

    def __len__(self) -> int:
        return len(self._events)

    def ids(self) -> Iterable[str]:
        return tuple(self._events)
