"""Live follow: re-scan the last five minutes on every poll and upsert by id.

The event log is not a stream. Events can become visible later than their
``date_updated`` says, and recent events are *consolidated*: the same id comes back with
a newer ``date_updated`` and more ``changed_fields``. A follower that asked only for
"newer than the newest I have" would miss the late ones and show the consolidated ones
twice. Close's advice, followed here: every poll asks for the current filter plus
``date_updated__gte = now − 5 minutes`` (``now`` from the server's ``Date`` header, so a
skewed local clock cannot open a gap), pages through all of it, and compares each event
with what was already seen: unknown ids are *new*, known ids with a newer
``date_updated`` are *updated*, the rest is dropped.

The seen map stays small: an entry older than the window can be forgotten, because the
only way it can come back is consolidated (a newer ``date_updated``), and then the
caller's ``shown`` look-up (the table) still knows it is not new.

Time is injected (``clock``, ``sleep``) so tests run many polls in milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from close_tui.core.errors import PagingError, RateLimited
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event
from close_tui.core.ratelimit import RateLimit

#: Close's advice: late and consolidated events land within five minutes.
RESCAN_WINDOW: Final = timedelta(minutes=5)
DEFAULT_INTERVAL: Final = 5.0
#: However rate-limited, poll at least this often (a follow that goes quiet for ten
#: minutes looks broken).
MAX_INTERVAL: Final = 120.0


class PagerLike(Protocol):
    exhausted: bool

    async def next_page(self) -> list[Event]: ...


class FollowSource(Protocol):
    """What the follower needs of :class:`~close_tui.core.client.CloseClient`."""

    rate_limit: RateLimit | None

    def server_time(self) -> datetime | None: ...

    def pager(self, flt: EventFilter, limit: int = ...) -> PagerLike: ...


@dataclass
class FollowBatch:
    """One poll's outcome: events never seen, and known ones that changed (newest first)."""

    new: list[Event] = field(default_factory=list)
    updated: list[Event] = field(default_factory=list)
    scanned: int = 0
    since: datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.new or self.updated)

    @property
    def events(self) -> list[Event]:
        return [*self.new, *self.updated]


def follow_filter(flt: EventFilter, since: datetime) -> EventFilter:
    """``flt`` restricted to ``date_updated >= since`` (a tighter lower bound of the
    user's filter is kept; an upper bound is kept too, so a past range follows nothing)."""
    lower = since
    if flt.date_updated__gte is not None and flt.date_updated__gte > lower:
        lower = flt.date_updated__gte
    gt = flt.date_updated__gt
    if gt is not None and gt < lower:
        gt = None
    return flt.replace(date_updated__gte=lower, date_updated__gt=gt)


class Follower:
    """Polls one filter. :meth:`poll` does one re-scan; :meth:`run` loops with a sleeper.

    ``shown(event_id)`` returns the ``date_updated`` (POSIX seconds) under which the
    caller already shows an event, or ``None``: it lets an event that left the seen map
    (older than the window) and then came back consolidated count as updated, not new.
    """

    def __init__(
        self,
        client: FollowSource,
        flt: EventFilter,
        *,
        window: timedelta = RESCAN_WINDOW,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], datetime] | None = None,
        shown: Callable[[str], float | None] | None = None,
    ) -> None:
        self.client = client
        self.filter = flt.validate()
        self.window = window
        self.interval = interval
        self.clock = clock or (lambda: datetime.now(UTC))
        self.shown = shown
        self.polls = 0
        self.errors = 0
        #: id -> date_updated (POSIX seconds) of everything seen within the window.
        self.seen: dict[str, float] = {}
        #: The lower bound of the first poll: follow covers everything from here on.
        self.started_since: datetime | None = None
        self._slowdown = 1.0
        self._wait_at_least = 0.0

    def now(self) -> datetime:
        """The server's clock (its ``Date`` header), or the local one before any answer."""
        return self.client.server_time() or self.clock()

    async def poll(self) -> FollowBatch:
        """Re-scan the window once: every page of ``filter`` since ``now − window``.

        The walk is an :class:`~close_tui.core.client.EventPager`'s, so a repeating cursor
        or a run of pages without news raises a
        :class:`~close_tui.core.errors.PagingError` instead of polling forever."""
        # Whole seconds: the window only grows a little, and the query reads (and
        # repeats) cleanly instead of carrying the microseconds of a clock reading.
        since = (self.now() - self.window).replace(microsecond=0)
        if self.started_since is None:
            self.started_since = since
        pager = self.client.pager(follow_filter(self.filter, since))
        batch = FollowBatch(since=since)
        seen = self.seen
        while not pager.exhausted:
            for event in await pager.next_page():
                batch.scanned += 1
                stamp = event.date_updated.timestamp()
                prior = seen.get(event.id)
                if prior is None and self.shown is not None:
                    prior = self.shown(event.id)
                if prior is None:
                    batch.new.append(event)
                elif stamp > prior:
                    batch.updated.append(event)
                else:
                    seen[event.id] = max(prior, stamp)
                    continue
                seen[event.id] = stamp
        self.polls += 1
        self._forget_before(since.timestamp())
        return batch

    def _forget_before(self, cutoff: float) -> None:
        stale = [event_id for event_id, stamp in self.seen.items() if stamp < cutoff]
        for event_id in stale:
            del self.seen[event_id]

    # ------------------------------------------------------------------ pacing

    def next_delay(self) -> float:
        """Seconds until the next poll: the interval, stretched after a ``429`` and never
        shorter than the server's ``reset`` when the budget is used up."""
        delay = self.interval * self._slowdown
        rate = self.client.rate_limit
        if rate is not None and rate.remaining == 0 and rate.reset is not None:
            delay = max(delay, rate.reset)
        return min(max(delay, self._wait_at_least), MAX_INTERVAL)

    def rate_limited(self, wait: float | None) -> None:
        """A poll ran into ``429`` (after the client's own retries): poll less often."""
        self._slowdown = min(self._slowdown * 2, MAX_INTERVAL / max(self.interval, 0.001))
        self._wait_at_least = wait or 0.0

    def succeeded(self) -> None:
        """A clean poll: come back towards the configured interval."""
        self._slowdown = max(1.0, self._slowdown / 2)
        self._wait_at_least = 0.0

    async def run(
        self,
        on_batch: Callable[[FollowBatch], None],
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        """Poll forever (until cancelled): poll, report, sleep :meth:`next_delay`."""
        while True:
            try:
                batch = await self.poll()
            except RateLimited as exc:
                self.errors += 1
                self.rate_limited(exc.retry_after)
                if on_error is not None:
                    on_error(exc)
            except PagingError as exc:
                # The poll's walk stopped before looping (a repeating cursor, pages that
                # bring nothing): reported, and polled less often while it lasts, so a
                # broken server costs a bounded walk every few minutes at most.
                self.errors += 1
                self.rate_limited(None)
                if on_error is not None:
                    on_error(exc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reported; the next poll may well work
                self.errors += 1
                if on_error is not None:
                    on_error(exc)
            else:
                self.succeeded()
                on_batch(batch)
            await sleep(self.next_delay())
