"""How many name look-ups may go out now: a share of the rate limit the server announces.

Names are hints; event pages and details are what the user asked for, and the user's
other integrations share the key's limit too. So look-ups get a fixed share (default
10 %) of what the ``RateLimit`` header announces, per endpoint group:

* **Our own count.** At most ``q = max(1, floor(share × limit))`` look-ups of a group in
  any sliding window of the limit's length (the longest ``reset`` seen, at least 1 s).
* **The server's count.** While the last answer of that group is in the same window, it
  says how much of the window others used: a look-up goes out only while
  ``used + ours since < q``. A group that events share (Close's grouping is unknown) so
  leaves look-ups for the next window, never the events' requests.
* **The event queries' headroom.** When the event group's last answer says it is down to
  ``q`` requests or fewer in this window, look-ups wait for the reset.

Before any header is seen for a group, the event group's limit stands in (the same
numbers are likely); with no header at all, look-ups go at :data:`FALLBACK_RATE` per
second. Time is injected (``monotonic``) so tests need no sleeps.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Final

from close_tui.core.ratelimit import RateLimit

#: The share of the announced limit that look-ups may use.
DEFAULT_SHARE: Final = 0.10
#: Look-ups per second when no server ever announced a limit.
FALLBACK_RATE: Final = 1.0
#: The group of the event list and single events, whose headroom look-ups must leave.
EVENTS_GROUP: Final = "events"
#: Shortest window assumed (Close's documented example is per second).
MIN_WINDOW: Final = 1.0


class RequestBudget:
    """Decides when the next look-up of a group may be sent; never blocks by itself."""

    def __init__(
        self, share: float = DEFAULT_SHARE, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if not 0.0 < share <= 1.0:
            raise ValueError("share must be in (0, 1]")
        self.share = share
        self._monotonic = monotonic
        self._seen: dict[str, RateLimit] = {}
        self._sent: dict[str, deque[float]] = {}
        self._window = MIN_WINDOW
        #: Groups a 429 was met on, and until when to leave them alone.
        self._blocked_until: dict[str, float] = {}

    # ------------------------------------------------------------------ observations

    def observe(self, group: str, rate: RateLimit | None) -> None:
        """What an answer of ``group`` said (``None``: it said nothing)."""
        if rate is None:
            return
        self._seen[group] = rate
        if rate.reset is not None and rate.reset > self._window:
            self._window = min(rate.reset, 3600.0)

    def rate_limited(self, group: str, retry_after: float | None) -> None:
        """A look-up of ``group`` was refused with 429: wait what it said (else a window)."""
        wait = retry_after if retry_after is not None else self._window
        self._blocked_until[group] = self._monotonic() + max(wait, 0.0)

    def spend(self, group: str) -> None:
        """A look-up of ``group`` is being sent now."""
        sent = self._sent.setdefault(group, deque())
        sent.append(self._monotonic())
        while len(sent) > 1000:  # bounded: only the last window matters
            sent.popleft()

    # ------------------------------------------------------------------ decisions

    def limit_for(self, group: str) -> int | None:
        """The announced limit of ``group`` (the event group's as a stand-in)."""
        for name in (group, EVENTS_GROUP):
            seen = self._seen.get(name)
            if seen is not None and seen.limit is not None and seen.limit > 0:
                return seen.limit
        return None

    def quota(self, group: str) -> int | None:
        """Look-ups of ``group`` allowed per window (``None``: no limit known)."""
        limit = self.limit_for(group)
        return None if limit is None else max(1, math.floor(self.share * limit))

    def wait_time(self, group: str) -> float:
        """Seconds until a look-up of ``group`` may go (``0.0``: now)."""
        now = self._monotonic()
        waits = [self._blocked_until.get(group, now) - now]
        sent = self._sent.get(group, deque())
        quota = self.quota(group)
        if quota is None:
            if sent:
                waits.append(sent[-1] + 1.0 / FALLBACK_RATE - now)
            return max(0.0, *waits)
        window = self._window
        recent = [t for t in sent if t > now - window]
        if len(recent) >= quota:
            waits.append(recent[-quota] + window - now)
        limit = self.limit_for(group) or 0
        if sent and 0 < self.share * limit < 1:
            # Under one look-up per window (a tiny limit): one every few windows, so the
            # share holds on average (2/window at 10 %: one look-up every 5 windows).
            waits.append(sent[-1] + window / (self.share * limit) - now)
        seen = self._seen.get(group)
        if seen is not None and seen.remaining is not None and now < seen.reset_at():
            limit = seen.limit if seen.limit is not None else self.limit_for(group) or 0
            used = max(0, limit - seen.remaining)
            ours_since = sum(1 for t in sent if t >= seen.observed_at)
            if used + ours_since >= quota:
                waits.append(seen.reset_at() - now)
        events = self._seen.get(EVENTS_GROUP)
        if (
            group != EVENTS_GROUP
            and events is not None
            and events.remaining is not None
            and now < events.reset_at()
            and events.remaining <= quota
        ):
            waits.append(events.reset_at() - now)
        return max(0.0, *waits)

    def exhausted_for(self, group: str) -> float:
        """Seconds until ``group``'s window resets when its last answer said nothing is
        left (``0.0`` otherwise): for requests a person waits on, which skip the share."""
        seen = self._seen.get(group)
        now = self._monotonic()
        if seen is not None and seen.remaining == 0 and now < seen.reset_at():
            return seen.reset_at() - now
        return 0.0

    def describe(self) -> str:
        """For logs and the benchmark: the share and the quotas known."""
        parts = [f"share {self.share:.0%}", f"window {self._window:.1f} s"]
        for group in sorted(self._seen):
            parts.append(f"{group}: quota {self.quota(group)}")
        return ", ".join(parts)
