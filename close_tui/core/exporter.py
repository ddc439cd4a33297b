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

The engine never imports Textual and has no notion of a terminal: progress goes to a
callback and cancellation is task cancellation, so the CLI and the app drive it alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final, Protocol

from pydantic import ValidationError

from close_tui.core import jsonnum
from close_tui.core.client import MAX_PAGE_SIZE, CloseClient
from close_tui.core.paging import ResumePoint
from close_tui.core.dates import parse_api_datetime, to_api_datetime
from close_tui.core.errors import BadRequest, ProtocolError
from close_tui.core.export import RenderingWriter
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event, EventPage
from close_tui.core.progress import ExportProgress
from close_tui.core.ratelimit import RateLimit
from close_tui.core.retries import RetryNotice
from close_tui.core.sanitize import visible

#: How far back the event log reaches.
HISTORY: Final = timedelta(days=30)
#: The re-scan the API asks for: late and consolidated events land within five minutes.
OVERLAP: Final = timedelta(minutes=5)
_ONE_US: Final = timedelta(microseconds=1)
_ONE_MS: Final = timedelta(milliseconds=1)
#: Python objects of an event take about this many times its JSON size.
_OBJECT_OVERHEAD: Final = 3.0
#: Bytes a buffered record costs besides its text (tuple, id, datetime).
_RECORD_OVERHEAD: Final = 250
#: Token-bucket capacity: two requests, so a sleep that wakes a little late does not
#: lose its share of the rate (the server's window is guarded separately).
_BURST: Final = 4.0
#: Event-loop turns a new request takes to be written (measured: ~5 with httpx 0.28).
_TURNS_TO_SEND: Final = 10
STATE_VERSION: Final = 1


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

    def __post_init__(self) -> None:
        if self.parallel < 1:
            raise ValueError("parallel must be at least 1")
        if self.max_rate is not None and not self.max_rate > 0:
            raise ValueError("max_rate must be more than 0")
        if not 0 < self.headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        if self.max_events is not None and self.max_events < 1:
            raise ValueError("max_events must be at least 1")


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


# ---------------------------------------------------------------------------- state


class StateMismatch(ValueError):
    """The state file belongs to another filter (or is not a state file)."""


@dataclass(frozen=True)
class ExportState:
    """Where an archive stands, saved as JSON between runs.

    ``watermark`` is the newest ``date_updated`` exported so far; ``overlap`` maps the id
    of every event exported within :data:`OVERLAP` of it to the ``date_updated`` written,
    so the next run can start five minutes early (catching late events) and still write
    each event once. An id met again with a *newer* ``date_updated`` is a consolidated,
    newer form and is written again.
    """

    filter_params: Mapping[str, str]
    watermark: datetime | None
    overlap: Mapping[str, datetime] = field(default_factory=dict)
    #: The snapshot bound of the run that wrote it (for people reading the file).
    until: datetime | None = None

    @property
    def ids_at_watermark(self) -> frozenset[str]:
        return frozenset(i for i, when in self.overlap.items() if when == self.watermark)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "filter": dict(self.filter_params),
            "watermark": to_api_datetime(self.watermark) if self.watermark else None,
            "ids_at_watermark": sorted(self.ids_at_watermark),
            "overlap": {i: to_api_datetime(w) for i, w in sorted(self.overlap.items())},
            "until": to_api_datetime(self.until) if self.until else None,
        }

    @classmethod
    def from_json(cls, body: Any) -> ExportState:
        try:
            if not isinstance(body, dict) or body.get("version") != STATE_VERSION:
                raise StateMismatch("not a close-tui export state (version 1)")
            raw_filter = body["filter"]
            if not isinstance(raw_filter, dict):
                raise StateMismatch("state file: 'filter' is not an object")
            watermark = body.get("watermark")
            overlap = body.get("overlap") or {}
            until = body.get("until")
            return cls(
                filter_params={str(k): str(v) for k, v in raw_filter.items()},
                watermark=parse_api_datetime(watermark) if watermark else None,
                overlap={str(k): parse_api_datetime(str(v)) for k, v in overlap.items()},
                until=parse_api_datetime(until) if until else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, StateMismatch):
                raise
            raise StateMismatch(f"unreadable state file: {exc}") from None


def state_filter_params(flt: EventFilter) -> dict[str, str]:
    """The part of a filter a state file is tied to: the equality filters, not dates."""
    return flt.without_dates().to_params()


def load_state(path: str | os.PathLike[str], flt: EventFilter) -> ExportState | None:
    """The state saved at ``path`` for ``flt``; ``None`` if there is no file yet.

    :class:`StateMismatch` when the file is unreadable or was written for other filters
    (continuing it would leave a gap or mix two archives).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise StateMismatch(f"unreadable state file {os.fspath(path)!r}: {exc}") from None
    state = ExportState.from_json(body)
    wanted = state_filter_params(flt)
    if dict(state.filter_params) != wanted:
        raise StateMismatch(
            f"the state file {os.fspath(path)!r} was written for other filters "
            f"({state.filter_params or 'none'}); use another --state file"
        )
    return state


def save_state(path: str | os.PathLike[str], state: ExportState) -> None:
    """Write ``state`` atomically (temp file + rename): a crash never leaves half a file."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state.to_json(), handle, indent=1)
            handle.write("\n")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------- pacing


@dataclass
class _Ticket:
    seq: int
    sent_at: float


class Pacer:
    """Shared by every worker of an export: call :meth:`acquire` before a request and
    :meth:`release` with the answer's ``RateLimit`` after it.

    Two brakes:

    * a token bucket at :attr:`rate` requests/s (``max_rate``, else ``headroom`` × the
      announced limit per window; the window length is taken as the largest ``reset``
      seen, at least 1 s), with a burst of two requests so late wake-ups lose nothing;
    * the server's window, treated as fixed: each answer's ``remaining``, minus the
      requests sent after that one which the server cannot have counted yet, is this
      window's budget; when it is used up, requests wait for ``reset``. Without an explicit
      ``max_rate``, ``1 − headroom`` of the limit is left unused in every window too.

    After a ``429`` (:meth:`pause`) everybody waits for the reset the server named.
    """

    def __init__(
        self,
        max_rate: float | None = None,
        *,
        headroom: float = 0.8,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._explicit_rate = max_rate
        self._headroom = headroom
        self._monotonic = monotonic
        self._sleep = sleep
        self._limit: int | None = None
        self._window_len = 1.0
        self._window_end: float | None = None
        self._budget: float | None = None
        self._tokens = 1.0
        self._tokens_at = monotonic()
        self._paused_until = 0.0
        self._seq = 0
        self._inflight: set[int] = set()
        self._last_seen: RateLimit | None = None
        #: Seconds spent waiting in :meth:`acquire` (all workers together).
        self.waited = 0.0

    @property
    def limit(self) -> int | None:
        """The limit per window the server announced last."""
        return self._limit

    @property
    def rate(self) -> float | None:
        """Requests per second the bucket allows; ``None`` = unpaced."""
        if self._explicit_rate is not None:
            return self._explicit_rate
        if self._limit is None:
            return None
        return max(0.1, self._headroom * self._limit / self._window_len)

    def _reserve(self) -> float:
        if self._explicit_rate is not None or self._limit is None:
            return 0.0
        return (1.0 - self._headroom) * self._limit

    def _roll_window(self, now: float) -> None:
        end = self._window_end
        if end is None or now < end:
            return
        # Fixed windows follow each other: the next one ends a window length later.
        while end <= now:
            end += self._window_len
        self._window_end = end
        self._budget = None if self._limit is None else self._limit - self._reserve()

    def _wait_needed(self, now: float) -> float:
        if now < self._paused_until:
            return self._paused_until - now
        self._roll_window(now)
        if self._budget is not None and self._budget < 1 and self._window_end is not None:
            # A hair past the reset, so the request lands in the new window.
            return self._window_end - now + 0.005
        rate = self.rate
        if rate is None:
            return 0.0
        self._tokens = min(_BURST, self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now
        wait = (1.0 - self._tokens) / rate
        # Sub-millisecond waits are rounding (a clock with microsecond steps would spin).
        return wait if wait > 1e-4 else 0.0

    async def acquire(self) -> _Ticket:
        while True:
            now = self._monotonic()
            wait = self._wait_needed(now)
            if wait <= 0:
                break
            self.waited += wait
            await self._sleep(wait)
        if self.rate is not None:
            self._tokens -= 1.0
        if self._budget is not None:
            self._budget -= 1
        self._seq += 1
        self._inflight.add(self._seq)
        return _Ticket(self._seq, now)

    def release(self, ticket: _Ticket, rate_limit: RateLimit | None) -> None:
        """The request of ``ticket`` was answered; ``rate_limit`` is what the client saw
        last (ignored if it is older than the request)."""
        self._inflight.discard(ticket.seq)
        if rate_limit is None or rate_limit is self._last_seen:
            return
        if rate_limit.observed_at < ticket.sent_at:
            return  # the answer had no RateLimit header: this is an older one
        self._last_seen = rate_limit
        self.observe(rate_limit, uncounted=sum(1 for s in self._inflight if s > ticket.seq))

    def observe(self, rate_limit: RateLimit, *, uncounted: int = 0) -> None:
        """Learn from one answer's header; ``uncounted`` requests were sent after it."""
        if rate_limit.limit is not None:
            self._limit = rate_limit.limit
        if rate_limit.reset is None:
            return
        self._window_len = max(self._window_len, rate_limit.reset)
        end = rate_limit.observed_at + rate_limit.reset
        if rate_limit.remaining is None:
            return
        estimate = rate_limit.remaining - uncounted - self._reserve()
        current = self._window_end
        tolerance = self._window_len / 2
        if current is None or end > current + tolerance:
            self._window_end = end  # a newer window
            self._budget = estimate
        elif end >= current - tolerance:
            # The same window: the smallest estimate is the most recent knowledge.
            self._budget = estimate if self._budget is None else min(self._budget, estimate)

    def pause(self, seconds: float) -> None:
        """A ``429`` arrived: nobody sends until the reset it named."""
        now = self._monotonic()
        self._paused_until = max(self._paused_until, now + seconds)
        self._budget = 0.0
        self._window_end = now + seconds


# ---------------------------------------------------------------------------- buffers


#: One buffered event: its id, its ``date_updated``, and either the text the writer
#: rendered for it or (for sinks that cannot render ahead) the event itself.
_Record = tuple[str, datetime, "str | Event"]


class _Spool:
    """A later window's events, in order, until their turn to be written: in memory,
    then, once memory is short, in an anonymous temp file (one JSON array per line).

    Appends and reads can interleave (a window keeps fetching while it is replayed).
    ``memory_bytes`` counts the rendered text (or an estimate for kept events).
    """

    def __init__(self) -> None:
        self.items: list[tuple[_Record, int]] = []
        self._mem_read = 0
        self.memory_bytes = 0
        self.file: IO[bytes] | None = None
        self._read_pos = 0
        self._write_pos = 0
        self.pending = 0

    def append(self, record: _Record, size: int) -> int:
        """Add a record; returns the bytes added to memory (0 once spilled)."""
        self.pending += 1
        if self.file is not None:
            self._write([record])
            return 0
        self.items.append((record, size))
        self.memory_bytes += size
        return size

    def _write(self, records: list[_Record]) -> None:
        assert self.file is not None
        lines = []
        for event_id, when, payload in records:
            body: Any = payload if isinstance(payload, str) else payload.to_api()
            kind = 0 if isinstance(payload, str) else 1
            line = jsonnum.dumps([event_id, to_api_datetime(when), kind, body],
                              ensure_ascii=False, separators=(",", ":"))
            lines.append(line.encode("utf-8") + b"\n")
        data = b"".join(lines)
        self.file.seek(self._write_pos)
        self.file.write(data)
        self._write_pos += len(data)

    def spill(self) -> int:
        """Move the records held in memory to a temp file; returns the bytes freed."""
        if self.file is not None:
            return 0
        freed = self.memory_bytes
        # Closed by close(), when the window has been written (or the export ends).
        self.file = tempfile.TemporaryFile(prefix="close-tui-export-")  # noqa: SIM115
        self._write([r for r, _ in self.items[self._mem_read :]])
        self.items = []
        self._mem_read = 0
        self.memory_bytes = 0
        return freed

    def take(self, max_items: int) -> list[_Record]:
        """Up to ``max_items`` unread records, in the order they were appended."""
        if self.file is None:
            batch = self.items[self._mem_read : self._mem_read + max_items]
            self._mem_read += len(batch)
            self.memory_bytes -= sum(size for _, size in batch)
            if self._mem_read == len(self.items):
                self.items = []
                self._mem_read = 0
            self.pending -= len(batch)
            return [r for r, _ in batch]
        out: list[_Record] = []
        self.file.seek(self._read_pos)
        while len(out) < max_items and self._read_pos < self._write_pos:
            line = self.file.readline()
            if not line:
                break
            self._read_pos += len(line)
            event_id, when, kind, body = jsonnum.loads(line)
            payload: str | Event = body if kind == 0 else Event.model_validate(body)
            out.append((event_id, parse_api_datetime(when), payload))
        self.pending -= len(out)
        return out

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        self.items = []
        self.memory_bytes = 0


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
    spool: _Spool = field(default_factory=_Spool)

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
        self._next_cursor: str | None = None
        self.exhausted = False
        self._resume = ResumePoint()
        self._returned = 0
        self._returned_at_last_recovery: int | None = None

    def _launch(self, cursor: str | None) -> asyncio.Future[Any]:
        return asyncio.ensure_future(
            self._exporter._request(self._query, cursor, self._limit)
        )

    async def next_page(self) -> list[Event]:
        future = self._next if self._next is not None else self._launch(self._cursor)
        self._next = None
        try:
            body = await future
        except BadRequest as exc:
            if self._cursor is None:
                raise
            body = await self._recover(exc)
        data = body.get("data") if isinstance(body, dict) else None
        cursor_next = body.get("cursor_next") if isinstance(body, dict) else None
        if (
            isinstance(data, list)
            and isinstance(cursor_next, str)
            and cursor_next
            and self._exporter._worth_prefetching(self._window, data)
        ):
            self._next = self._launch(cursor_next)
            # Let it reach the socket before the CPU work below (httpx's connection pool
            # passes through a few event-loop turns before it writes).
            for _ in range(_TURNS_TO_SEND):
                await asyncio.sleep(0)
        page = _parse_page(body)
        self._cursor = page.cursor_next
        if page.cursor_next is None:
            self.exhausted = True
        fresh = self._resume.keep_unseen(page.data)
        self._returned += len(fresh)
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


def _parse_page(body: Any) -> EventPage:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ProtocolError("unexpected response shape for an event page: no 'data' list")
    try:
        return EventPage.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else None
        where = ".".join(str(p) for p in first["loc"]) if first else ""
        raise ProtocolError(
            visible(f"unexpected response shape for an event page: {where}")[:300]
        ) from exc


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
                record: _Record = (event.id, event.date_updated, text)
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


def new_state(flt: EventFilter) -> ExportState:
    """The state of an archive that has exported nothing yet."""
    return ExportState(filter_params=state_filter_params(flt), watermark=None)
