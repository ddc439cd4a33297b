"""Export at the speed limit: a snapshot of the event log, windowed, paced, in order.

What an export promises, and how:

* **A snapshot.** The upper bound is fixed when the export starts (``until``; by default
  the server's clock, read from its ``Date`` header) and reported in the result, so a
  long export is not chasing events that keep arriving, and the next run knows where
  this one stopped.
* **The API's order, ids unique.** Output is newest first (``date_updated`` desc, ties as
  the API orders them). An id already written is never written again: the first one
  written is the one with the newest ``date_updated``, i.e. its newest form (an event
  consolidated while the export runs can be met twice).
* **Windows, fetched concurrently, written in order.** With ``parallel > 1`` the range is
  cut into half-open windows (``date_updated__gte`` / ``__lt``), each paged by cursor on
  its own. An idle worker splits the unfetched rest of the busiest window (where events
  are dense), so the tail of an export keeps every worker busy. The *head* window (the
  newest one not yet fully written) streams straight to the writer; later windows are
  buffered, and spill to an anonymous temporary file once the buffers pass
  ``memory_budget`` bytes, so memory stays flat however many events there are.
* **Paced, not punished.** One :class:`Pacer` is shared by all workers: a token bucket at
  ``max_rate`` (by default 80 % of the limit the server announces, leaving headroom to
  other integrations sharing the key) plus a model of the server's fixed window from the
  ``RateLimit`` header of every answer, so the last requests of a window wait for its
  reset instead of collecting ``429``.
* **Archiving past 30 days.** :class:`ExportState` records the newest ``date_updated``
  exported and the ids of the last five minutes; the next run starts five minutes before
  it and drops what it already wrote, so daily runs make a gap-free archive.

* **No loop, no silent end.** Every window is walked under the rules of
  :mod:`close_tui.core.paging`: a cursor already sent, a long run of pages without a new
  event, or missing/contradictory paging fields stop the export with a
  :class:`~close_tui.core.errors.PagingError`.

The engine never imports Textual and has no notion of a terminal: progress goes to a
callback and cancellation is task cancellation, so the CLI and the app drive it alike.
Its parts live in their own modules: :mod:`~close_tui.core.export_state` (the archive
state file), :mod:`~close_tui.core.pacer` (the shared pace) and
:mod:`~close_tui.core.spool` (buffers of later windows); all their public names are
importable from here too.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from close_tui.core import jsonnum
from close_tui.core.client import MAX_PAGE_SIZE, CloseClient
from close_tui.core.dates import parse_api_datetime, to_api_datetime
from close_tui.core.errors import BadRequest
from close_tui.core.export import RenderingWriter
from close_tui.core.export_state import (
    OVERLAP,
    STATE_VERSION,
    ExportState,
    StateMismatch,
    check_state_writable,
    load_state,
    new_state,
    save_state,
    state_filter_params,
)
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event
from close_tui.core.pacer import Pacer, Ticket
from close_tui.core.paging import (
    MAX_PAGES_WITHOUT_PROGRESS,
    ResumePoint,
    WalkGuard,
    paging_cursor,
    parse_event_page,
)
from close_tui.core.progress import ExportProgress
from close_tui.core.retries import RetryNotice
from close_tui.core.spool import Record, Spool

#: How far back the event log reaches.
HISTORY: Final = timedelta(days=30)
_ONE_US: Final = timedelta(microseconds=1)
_ONE_MS: Final = timedelta(milliseconds=1)
#: Python objects of an event take about this many times its JSON size.
_OBJECT_OVERHEAD: Final = 3.0
#: Bytes a buffered record costs besides its text (tuple, id, datetime).
_RECORD_OVERHEAD: Final = 250
#: Event-loop turns a new request takes to be written (measured: ~5 with httpx 0.28).
_TURNS_TO_SEND: Final = 10

# Importable from here as before the split (callers and tests use these names).
_Spool = Spool
_Record = Record
_Ticket = Ticket

__all__ = [
    "HISTORY",
    "MAX_PAGES_WITHOUT_PROGRESS",
    "OVERLAP",
    "STATE_VERSION",
    "EventSink",
    "ExportBounds",
    "ExportOptions",
    "ExportResult",
    "ExportState",
    "Exporter",
    "Pacer",
    "StateMismatch",
    "check_state_writable",
    "export_events",
    "load_state",
    "new_state",
    "save_state",
    "state_filter_params",
]


class EventSink(Protocol):
    """Where exported events go: any writer of :mod:`close_tui.core.export` or any object
    with ``write(event)``. The engine never closes it (the caller owns it). A
    :class:`~close_tui.core.export.RenderingWriter` lets later windows be rendered as they
    arrive, so writing them when their turn comes is a plain copy."""

    def write(self, event: Event) -> None: ...


@dataclass(frozen=True)
class ExportOptions:
    """How to export. The defaults are a sequential, streaming export."""

    #: Concurrent workers; 1 = sequential (one cursor walk, nothing buffered).
    parallel: int = 1
    #: Requests per second for all workers together; ``None`` = ``headroom`` × the limit
    #: the server announces (unpaced until it announces one).
    max_rate: float | None = None
    #: Share of the announced limit used when ``max_rate`` is not given.
    headroom: float = 0.8
    #: Stop after this many events (written ones).
    max_events: int | None = None
    #: Bytes of buffered later windows kept in memory (rendered text, or an estimate for
    #: sinks that cannot render) before the largest buffers move to temp files.
    memory_budget: int = 16 * 1024 * 1024
    #: Initial windows per worker (more are split off where events are dense).
    windows_per_worker: int = 1
    #: A running window is split for an idle worker only if about this many events are
    #: estimated to be left in it (each split costs about one extra request).
    min_split_events: int = MAX_PAGE_SIZE
    #: How far back the API's history reaches (the default lower bound's distance).
    history: timedelta = HISTORY
    #: Pages in a row without a new event before a window's walk gives up
    #: (:class:`~close_tui.core.errors.NoProgress`).
    max_idle_pages: int = MAX_PAGES_WITHOUT_PROGRESS

    def __post_init__(self) -> None:
        if self.parallel < 1:
            raise ValueError("parallel must be at least 1")
        if self.max_rate is not None and not self.max_rate > 0:
            raise ValueError("max_rate must be more than 0")
        if not 0 < self.headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        if self.max_events is not None and self.max_events < 1:
            raise ValueError("max_events must be at least 1")
        if self.max_idle_pages < 1:
            raise ValueError("max_idle_pages must be at least 1")


@dataclass(frozen=True)
class ExportBounds:
    """The range an export covers, fixed when it starts: report it to the user."""

    #: The snapshot's upper bound on ``date_updated``.
    until: datetime
    #: Whether ``until`` itself is included (``<=``) or not (``<``).
    until_inclusive: bool
    #: The lower bound sent (inclusive), or ``None`` when none was: then the export
    #: reaches as far back as the server keeps history (nominally ``history_start``).
    since: datetime | None
    #: ``server time − 30 days``: where the API's history nominally begins.
    history_start: datetime

    def describe(self) -> str:
        """``date_updated <= 2026-11-20T12:00:00.000Z, >= …`` for a stderr line."""
        upper = f"date_updated {'<=' if self.until_inclusive else '<'} {_show(self.until)}"
        if self.since is not None:
            return f"{upper}, >= {_show(self.since)}"
        return f"{upper} (history from ~{_show(self.history_start)})"


@dataclass(frozen=True)
class ExportResult:
    """What an export did, including the bounds it used."""

    bounds: ExportBounds
    events: int
    #: Events dropped because their id was already written (or archived by the state).
    duplicates: int
    pages: int
    #: Every HTTP request: pages, retried attempts, and the first clock reading if any.
    requests: int
    retries: int
    rate_limited: int
    windows: int
    elapsed: float
    #: Newest ``date_updated`` written, and the ids written at exactly that instant.
    newest: datetime | None
    newest_ids: frozenset[str]
    #: Whether the export stopped at ``max_events``.
    truncated: bool
    #: Window buffers moved to temp files because they passed ``memory_budget``.
    spilled: int = 0
    #: The state to save for the next run (``None`` unless a state was given).
    state: ExportState | None = None
    warnings: tuple[str, ...] = ()

    @property
    def until(self) -> datetime:
        return self.bounds.until

    @property
    def since(self) -> datetime | None:
        return self.bounds.since

    def describe_bounds(self) -> str:
        return self.bounds.describe()


def _show(when: datetime) -> str:
    return to_api_datetime(when) + "Z"


_PENDING: Final = "pending"
_RUNNING: Final = "running"
_DONE: Final = "done"


@dataclass(eq=False)
class _Window:
    """``[lo, hi)`` on ``date_updated``; ``lo`` is not sent when ``open_below``."""

    lo: datetime
    hi: datetime
    open_below: bool
    status: str = _PENDING
    #: Written straight to the sink (it is the head, its spool replayed).
    streaming: bool = False
    oldest_seen: datetime | None = None
    fetched: int = 0
    spool: Spool = field(default_factory=Spool)

    def remaining_span(self) -> timedelta:
        top = self.oldest_seen if self.oldest_seen is not None else self.hi
        return max(timedelta(0), top - self.lo)

    def estimated_left(self) -> float:
        """Events still to fetch, assuming the density seen so far holds."""
        if self.oldest_seen is None or self.fetched == 0:
            return 0.0
        done = (self.hi - self.oldest_seen).total_seconds()
        left = self.remaining_span().total_seconds()
        if done <= 0:
            return float("inf") if left > 0 else 0.0
        return self.fetched / done * left


class _Stop(Exception):
    """``max_events`` reached: every worker stops."""


# ---------------------------------------------------------------------------- the engine


def _exclusive_upper(flt: EventFilter) -> tuple[datetime, bool] | None:
    """The filter's own upper bound as (instant, inclusive), if it has one."""
    lt, lte = flt.date_updated__lt, flt.date_updated__lte
    if lt is not None and (lte is None or lt <= lte):
        return lt, False
    if lte is not None:
        return lte, True
    return None


def _inclusive_lower(flt: EventFilter) -> datetime | None:
    gte, gt = flt.date_updated__gte, flt.date_updated__gt
    candidates = [w for w in (gte, None if gt is None else gt + _ONE_US) if w is not None]
    return max(candidates) if candidates else None


def _ceil_ms(when: datetime) -> datetime:
    extra = when.microsecond % 1000
    return when if extra == 0 else when + timedelta(microseconds=1000 - extra)


class _WindowPager:
    """Pages one window by cursor, like :class:`~close_tui.core.client.EventPager`, but
    sends the next request as soon as the cursor is read, *before* the page is validated
    and written: that work then overlaps the next round trip. Still one request at a time
    per window, so a sequential export stays sequential.

    The walk keeps the same rules (:mod:`close_tui.core.paging`): paging fields are
    checked before the cursor is followed, a cursor already sent is never sent again, and
    a long run of pages without a new event stops the window; the page that showed the
    problem is still delivered, the error comes with the next call.

    Cursor recovery is EventPager's: when the server refuses a cursor (``400``), the walk
    resumes without it, bounded above by the oldest ``date_updated`` seen, dropping the ids
    already returned at that instant; a refusal without progress is raised.
    """

    def __init__(self, exporter: Exporter, window: _Window, flt: EventFilter, limit: int):
        self._exporter = exporter
        self._window = window
        self.filter = flt
        self._query = flt
        self._limit = limit
        self._cursor: str | None = None
        self._next: asyncio.Future[Any] | None = None
        self.exhausted = False
        self._resume = ResumePoint()
        self._guard = WalkGuard(exporter.options.max_idle_pages)
        self._returned = 0
        self._returned_at_last_recovery: int | None = None

    def _launch(self, cursor: str | None) -> asyncio.Future[Any]:
        self._guard.sent(cursor)
        return asyncio.ensure_future(
            self._exporter._request(self._query, cursor, self._limit)
        )

    async def next_page(self) -> list[Event]:
        self._guard.raise_if_failed()
        future = self._next if self._next is not None else self._launch(self._cursor)
        self._next = None
        try:
            body = await future
        except BadRequest as exc:
            if self._cursor is None:
                raise
            body = await self._recover(exc)
        cursor_next = paging_cursor(body)
        follow = self._guard.check_cursor(cursor_next)
        if (
            follow
            and cursor_next is not None
            and self._exporter._worth_prefetching(self._window, body["data"])
        ):
            self._next = self._launch(cursor_next)
            # Let it reach the socket before the CPU work below (httpx's connection pool
            # passes through a few event-loop turns before it writes).
            for _ in range(_TURNS_TO_SEND):
                await asyncio.sleep(0)
        page = parse_event_page(body)
        fresh = self._resume.keep_unseen(page.data)
        self._returned += len(fresh)
        if follow and self._guard.progressed(len(fresh), more=cursor_next is not None):
            self._cursor = cursor_next
            if cursor_next is None:
                self.exhausted = True
        else:
            await self._drop_next()
        if not fresh:
            self._guard.raise_if_failed()
        return fresh

    async def _recover(self, refused: BadRequest) -> Any:
        if self._returned_at_last_recovery == self._returned:
            raise BadRequest(
                f"the server refused the cursor again without progress; giving up ({refused})"
            ) from refused
        self._returned_at_last_recovery = self._returned
        await self._drop_next()
        self._query = self._resume.resume_filter(self.filter)
        self._cursor = None
        # No cursor here: if this is refused too, BadRequest propagates (no loop).
        return await self._launch(None)

    async def _drop_next(self) -> None:
        if self._next is not None:
            self._next.cancel()
            await asyncio.gather(self._next, return_exceptions=True)
            self._next = None

    async def aclose(self) -> None:
        """Cancel a request sent ahead that is no longer wanted."""
        await self._drop_next()


class Exporter:
    """One export run. Use :func:`export_events` unless you need the live counters."""

    def __init__(
        self,
        client: CloseClient,
        flt: EventFilter,
        sink: EventSink,
        *,
        options: ExportOptions = ExportOptions(),  # frozen, so one shared default is safe
        state: ExportState | None = None,
        on_progress: Callable[[ExportProgress], None] | None = None,
        on_start: Callable[[ExportBounds], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.filter = flt.validate()
        self.sink = sink
        self.options = options
        self.state = state
        self.on_progress = on_progress
        self.on_start = on_start
        self._monotonic = monotonic
        self.pacer = Pacer(options.max_rate, headroom=options.headroom, monotonic=monotonic,
                           sleep=sleep)
        self._windows: list[_Window] = []
        self._head = 0
        self._written_ids: set[str] = set()
        self._changed = asyncio.Event()
        self._memory = 0
        self._started = 0.0
        self._span_lo = datetime.now(UTC)
        self._span_hi = self._span_lo
        # counters
        self.events = 0
        self.duplicates = 0
        self.pages = 0
        self.retries = 0
        self.rate_limited = 0
        self._extra_requests = 0
        #: Buffers of later windows moved to temp files (memory stays flat).
        self.spilled = 0
        self._renderer = sink if isinstance(sink, RenderingWriter) else None
        self._sized = 0
        self._avg_json = 2000.0
        self._round_trip: float | None = None
        self.newest: datetime | None = None
        self.newest_ids: set[str] = set()
        self._overlap_new: dict[str, datetime] = {}
        self._overlap_floor: datetime | None = None
        self._truncated = False

    # ------------------------------------------------------------------ progress

    def progress(self, *, done: bool = False) -> ExportProgress:
        total = (self._span_hi - self._span_lo).total_seconds()
        covered = 0.0
        if total > 0:
            left = sum(
                min(w.remaining_span(), self._span_hi - w.lo).total_seconds()
                for w in self._windows
                if w.status != _DONE
            )
            covered = min(1.0, max(0.0, 1.0 - left / total))
        elif self._windows and all(w.status == _DONE for w in self._windows):
            covered = 1.0
        return ExportProgress(
            events=self.events,
            pages=self.pages,
            requests=self.pages + self.retries + self._extra_requests,
            rate_limited=self.rate_limited,
            elapsed=max(0.0, self._monotonic() - self._started),
            covered=1.0 if done else covered,
            windows_done=sum(1 for w in self._windows if w.status == _DONE),
            windows_total=len(self._windows),
            buffered=sum(w.spool.pending for w in self._windows),
            done=done,
        )

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress())

    # ------------------------------------------------------------------ run

    async def run(self) -> ExportResult:
        self._started = self._monotonic()

        def on_retry(notice: RetryNotice) -> None:
            self.retries += 1
            if notice.rate_limited:
                self.rate_limited += 1
                self.pacer.pause(notice.delay)

        stop_listening = self.client.retry_listeners.add(on_retry)
        try:
            return await self._run()
        finally:
            stop_listening()
            for window in self._windows:
                window.spool.close()

    async def _server_now(self) -> datetime:
        now = self.client.server_time()
        if now is None:
            # One cheap request: its Date header gives the server's clock (and its
            # RateLimit header the limit to pace by). It also checks key and filter.
            ticket = await self.pacer.acquire()
            try:
                await self.client.list_page(self.filter.without_dates(), None, 1)
            finally:
                self.pacer.release(ticket, self.client.rate_limit)
            self._extra_requests += 1  # a request that is not a page of the export
            now = self.client.server_time()
        return now if now is not None else datetime.now(UTC)

    async def _run(self) -> ExportResult:
        opts = self.options
        server_now = await self._server_now()
        history_start = server_now - opts.history
        own_upper = _exclusive_upper(self.filter)
        if own_upper is None:
            until, inclusive = server_now, True
        else:
            until, inclusive = own_upper
        hi = until + _ONE_US if inclusive else until
        since = _inclusive_lower(self.filter)
        warnings: list[str] = []
        state = self.state
        if state is not None and state.watermark is not None:
            since = state.watermark - OVERLAP
            if since < history_start:
                warnings.append(
                    f"the state's watermark {_show(state.watermark)} is older than the "
                    f"{opts.history.days}-day history: events before {_show(history_start)} "
                    "are gone and missing from the archive"
                )
        lo = since if since is not None else history_start
        # Split points stay within what exists now, even if --until is in the future.
        self._span_hi = min(hi, max(server_now + _ONE_US, lo))
        self._span_lo = min(lo, self._span_hi)
        bounds = ExportBounds(until, inclusive, since, history_start)
        if self.on_start is not None:
            self.on_start(bounds)
        self._plan(lo, hi, open_below=since is None)
        if self._windows:
            self._windows[0].streaming = True
        try:
            await self._work()
        except _Stop:
            self._truncated = True
        self._report_final()
        return ExportResult(
            bounds=bounds,
            events=self.events,
            duplicates=self.duplicates,
            pages=self.pages,
            requests=self.pages + self.retries + self._extra_requests,
            retries=self.retries,
            rate_limited=self.rate_limited,
            windows=len(self._windows),
            elapsed=self._monotonic() - self._started,
            newest=self.newest,
            newest_ids=frozenset(self.newest_ids),
            truncated=self._truncated,
            spilled=self.spilled,
            state=self._next_state(until) if state is not None else None,
            warnings=tuple(warnings),
        )

    def _report_final(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress(done=True))

    def _plan(self, lo: datetime, hi: datetime, *, open_below: bool) -> None:
        if hi <= lo and not open_below:
            return  # an empty range: nothing to ask
        count = 1 if self.options.parallel == 1 else self.options.parallel * max(
            1, self.options.windows_per_worker
        )
        top = self._span_hi
        step = (top - lo) / count if top > lo else timedelta(0)
        if step < _ONE_MS:
            count = 1
        edges = [hi] + [_ceil_ms(top - step * i) for i in range(1, count)] + [lo]
        for i in range(count):
            upper, lower = edges[i], edges[i + 1]
            if i < count - 1 and not lower < upper:
                continue
            self._windows.append(
                _Window(lo=lower, hi=upper, open_below=open_below and i == count - 1)
            )

    async def _work(self) -> None:
        if not self._windows:
            return
        workers = [
            asyncio.create_task(self._worker(), name=f"export-worker-{i}")
            for i in range(self.options.parallel)
        ]
        try:
            done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                error = task.exception()
                if error is not None:
                    raise error
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _worker(self) -> None:
        while True:
            window = self._claim()
            if window is None:
                if all(w.status == _DONE for w in self._windows):
                    return
                self._changed.clear()
                await self._changed.wait()
                continue
            await self._fetch(window)

    def _claim(self) -> _Window | None:
        for window in self._windows[self._head :]:
            if window.status == _PENDING:
                window.status = _RUNNING
                return window
        if self.options.parallel == 1:
            return None
        return self._split_busiest()

    def _split_busiest(self) -> _Window | None:
        """Cut the unfetched older half off the running window with most left to do."""
        if self._enough_running():
            return None
        running = [w for w in self._windows if w.status == _RUNNING and w.oldest_seen]
        if not running:
            return None
        busiest = max(running, key=lambda w: w.estimated_left())
        if busiest.estimated_left() < self.options.min_split_events:
            return None
        top = busiest.oldest_seen
        assert top is not None
        mid = _ceil_ms(busiest.lo + (top - busiest.lo) / 2)
        if not busiest.lo < mid < top:
            return None
        child = _Window(lo=busiest.lo, hi=mid, open_below=busiest.open_below,
                        status=_RUNNING)
        busiest.lo = mid
        busiest.open_below = False
        self._windows.insert(self._windows.index(busiest) + 1, child)
        return child

    def _window_filter(self, window: _Window) -> EventFilter:
        return self.filter.without_dates().replace(
            date_updated__gte=None if window.open_below else window.lo,
            date_updated__lt=window.hi,
        )

    def _page_size(self) -> int:
        left = None if self.options.max_events is None else self.options.max_events - self.events
        return MAX_PAGE_SIZE if left is None else max(1, min(MAX_PAGE_SIZE, left))

    def _enough_running(self) -> bool:
        """Whether the windows being fetched already keep the pacer busy.

        Each window has one request in flight at a time, so ``rate × round trip``
        windows saturate the rate; splitting beyond that buys nothing and costs a
        partial page per split.
        """
        rate = self.pacer.rate
        running = sum(1 for w in self._windows if w.status == _RUNNING)
        if rate is None or self._round_trip is None:
            return running >= self.options.parallel
        needed = math.ceil(rate * self._round_trip * 2) + 1
        return running >= min(self.options.parallel, needed)

    async def _request(self, query: EventFilter, cursor: str | None, limit: int) -> Any:
        """One paced GET of the event list; the decoded JSON body."""
        ticket = await self.pacer.acquire()
        try:
            body = await self.client.get_json(
                "event/", self.client.event_params(query, cursor, limit)
            )
        finally:
            self.pacer.release(ticket, self.client.rate_limit)
        took = self._monotonic() - ticket.sent_at
        self._round_trip = took if self._round_trip is None else 0.8 * self._round_trip + 0.2 * took
        return body

    def _worth_prefetching(self, window: _Window, data: list[Any]) -> bool:
        """Whether to request the next page before this one is even validated: not when
        this page already crosses ``lo`` (the rest belongs to a split-off window) or
        may complete ``max_events`` (``--max 7`` makes exactly one request)."""
        if self._may_reach_max(len(data)):
            return False
        if window.open_below or not data:
            return True
        last = data[-1]
        try:
            when = parse_api_datetime(str(last["date_updated"]))
        except (TypeError, KeyError, ValueError):
            return False  # let validation report it
        return when >= window.lo

    async def _fetch(self, window: _Window) -> None:
        pager = _WindowPager(self, window, self._window_filter(window), self._page_size())
        try:
            while not pager.exhausted:
                events = await pager.next_page()
                self.pages += 1
                # A split may have raised ``lo`` while the page was in flight.
                cut = window.lo if not window.open_below else None
                kept = events if cut is None else [e for e in events if e.date_updated >= cut]
                if kept:
                    window.oldest_seen = kept[-1].date_updated
                    window.fetched += len(kept)
                self._deliver(window, kept)
                self._changed.set()
                self._report()
                if len(kept) < len(events):
                    break  # past ``lo``: the rest belongs to the window split off this one
        finally:
            await pager.aclose()
        window.status = _DONE
        window.oldest_seen = window.lo
        await self._advance_head()
        self._changed.set()
        self._report()

    def _may_reach_max(self, incoming: int) -> bool:
        """Whether these events may complete ``max_events`` (then no page is prefetched,
        so ``--max 7`` makes exactly one request)."""
        limit = self.options.max_events
        return limit is not None and self.events + incoming >= limit

    # ------------------------------------------------------------------ writing

    def _deliver(self, window: _Window, events: list[Event]) -> None:
        if window.streaming:
            for event in events:
                self._write(event.id, event.date_updated, event)
            return
        renderer = self._renderer
        for event in events:
            if renderer is not None:
                text = renderer.render(event)
                record: Record = (event.id, event.date_updated, text)
                size = len(text) + _RECORD_OVERHEAD
            else:
                record = (event.id, event.date_updated, event)
                size = self._estimated_size(event)
            self._memory += window.spool.append(record, size)
        if self._memory > self.options.memory_budget:
            self._spill_largest()

    def _estimated_size(self, event: Event) -> int:
        """Memory an event held in a buffer costs, roughly: its JSON size, sampled every
        32 events, times the overhead of Python objects over JSON text."""
        self._sized += 1
        if self._sized % 32 == 1:
            size = len(jsonnum.dumps(event.to_api(), ensure_ascii=False, separators=(",", ":")))
            self._avg_json = 0.8 * self._avg_json + 0.2 * size if self._sized > 1 else size
        return int(self._avg_json * _OBJECT_OVERHEAD)

    def _spill_largest(self) -> None:
        while self._memory > self.options.memory_budget:
            biggest = max(self._windows, key=lambda w: w.spool.memory_bytes)
            if biggest.spool.memory_bytes == 0:
                return
            self._memory -= biggest.spool.spill()
            self.spilled += 1

    async def _advance_head(self) -> None:
        """Write finished head windows, and replay the next one's buffer so it can stream.

        Only one coroutine advances at a time: the head is whichever window is first in
        order and not yet fully written.
        """
        while self._head < len(self._windows) and self._windows[self._head].status == _DONE:
            current = self._windows[self._head]
            if not current.streaming:
                return  # another coroutine is replaying it
            self._head += 1
            if self._head >= len(self._windows):
                return
            nxt = self._windows[self._head]
            await self._replay(nxt)
            nxt.streaming = True

    async def _replay(self, window: _Window) -> None:
        while True:
            before = window.spool.memory_bytes
            batch = window.spool.take(500)
            self._memory -= before - window.spool.memory_bytes
            if not batch:
                break
            for event_id, when, payload in batch:
                self._write(event_id, when, payload)
            await asyncio.sleep(0)  # let workers keep fetching during a long replay
        window.spool.close()

    def _write(self, event_id: str, when: datetime, payload: str | Event) -> None:
        """Write one event in output order, unless its id was written already."""
        if event_id in self._written_ids:
            self.duplicates += 1
            return
        if self.state is not None:
            archived = self.state.overlap.get(event_id)
            if archived is not None and when <= archived:
                self.duplicates += 1
                return
        limit = self.options.max_events
        if limit is not None and self.events >= limit:
            raise _Stop
        self._written_ids.add(event_id)
        if isinstance(payload, str):
            assert self._renderer is not None
            self._renderer.write_rendered(payload)
        else:
            self.sink.write(payload)
        self.events += 1
        if self.newest is None or when > self.newest:
            self.newest = when
            self.newest_ids = {event_id}
        elif when == self.newest:
            self.newest_ids.add(event_id)
        if self.state is not None:
            self._remember_overlap(event_id, when)
        if limit is not None and self.events >= limit:
            raise _Stop

    def _remember_overlap(self, event_id: str, when: datetime) -> None:
        # Output is newest first, so the first event written sets the floor.
        if self._overlap_floor is None:
            assert self.newest is not None
            self._overlap_floor = self.newest - OVERLAP
        if when >= self._overlap_floor:
            self._overlap_new[event_id] = when

    def _next_state(self, until: datetime) -> ExportState:
        assert self.state is not None
        old = self.state
        marks = [w for w in (old.watermark, self.newest) if w is not None]
        watermark = max(marks) if marks else None
        overlap: dict[str, datetime] = {}
        if watermark is not None:
            floor = watermark - OVERLAP
            for source in (old.overlap, self._overlap_new):
                for event_id, when in source.items():
                    if when >= floor and when >= overlap.get(event_id, when):
                        overlap[event_id] = when
        return ExportState(
            filter_params=state_filter_params(self.filter),
            watermark=watermark,
            overlap=overlap,
            until=until,
        )


async def export_events(
    client: CloseClient,
    flt: EventFilter,
    sink: EventSink,
    *,
    options: ExportOptions = ExportOptions(),
    state: ExportState | None = None,
    on_progress: Callable[[ExportProgress], None] | None = None,
    on_start: Callable[[ExportBounds], None] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> ExportResult:
    """Export every event of ``flt`` (a snapshot, newest first) to ``sink``.

    Cancel the task to stop: buffers and temp files are released, ``sink`` is left as
    it is (close or delete it yourself). ``on_start`` gets the bounds once they are fixed
    (before the first page); ``on_progress`` is called after every page and once at the
    end (``done=True``); keep both cheap. ``monotonic`` must be the client's clock (the
    ``RateLimit`` deadlines are read against it). Raises the client's errors
    (:mod:`close_tui.core.errors`) when a request fails for good.
    """
    exporter = Exporter(
        client,
        flt,
        sink,
        options=options,
        state=state,
        on_progress=on_progress,
        on_start=on_start,
        monotonic=monotonic,
        sleep=sleep,
    )
    return await exporter.run()
