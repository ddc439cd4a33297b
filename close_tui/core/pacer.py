"""One pace for every worker of an export: a token bucket plus the server's window.

The ``RateLimit`` header of every answer tells the limit, what is left of the window and
when it resets; :class:`Pacer` turns that into waits before requests, so the last
requests of a window wait for its reset instead of collecting ``429``. Time is injected
(``monotonic``, ``sleep``), so tests assert exact waits without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from close_tui.core.ratelimit import RateLimit

#: Token-bucket capacity: two requests, so a sleep that wakes a little late does not
#: lose its share of the rate (the server's window is guarded separately).
_BURST: Final = 4.0


@dataclass
class Ticket:
    """One request's place: its sequence number and when it was let through."""

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

    async def acquire(self) -> Ticket:
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
        return Ticket(self._seq, now)

    def release(self, ticket: Ticket, rate_limit: RateLimit | None) -> None:
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




#: The name the exporter used before the split.
_Ticket = Ticket
