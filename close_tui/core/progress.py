"""Progress of an export, and a one-line progress bar for a terminal.

The event log gives no totals, so "how much is left" is estimated from *time coverage*:
the share of the export's ``date_updated`` range whose events have been fetched. It is
exact at 0 % and 100 % and assumes events are spread evenly in between, which is good
enough to say "about two minutes left" and honest about being an estimate (``~``).

No Rich, no Textual: one ``\\r``-rewritten line on a stream that is a terminal; callers
decide whether there is one (quiet when piped).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from close_tui.core.dates import format_duration
from close_tui.core.sanitize import visible


@dataclass(frozen=True, slots=True)
class ExportProgress:
    """A snapshot of a running export, as given to ``on_progress`` callbacks."""

    #: Events written to the output so far (after removing duplicates).
    events: int
    #: Pages received (each one a successful request).
    pages: int
    #: HTTP requests made: pages plus every retried attempt.
    requests: int
    #: Of those, answered ``429``.
    rate_limited: int
    #: Seconds since the export started.
    elapsed: float
    #: Estimated share (0..1) of the ``date_updated`` range already fetched.
    covered: float
    windows_done: int
    windows_total: int
    #: Events fetched but held back until the windows before them are written.
    buffered: int = 0
    done: bool = False

    @property
    def fetched(self) -> int:
        """Events received so far: written plus held back."""
        return self.events + self.buffered

    @property
    def events_per_second(self) -> float:
        """Events received per second (what the network and the pacing allow)."""
        return self.fetched / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        """Remaining time by the coverage estimate; ``None`` until it means something."""
        if self.done:
            return 0.0
        if self.covered <= 0.01 or self.elapsed <= 0:
            return None
        return self.elapsed * (1.0 - self.covered) / self.covered


def format_progress(progress: ExportProgress, width: int = 80) -> str:
    """``[#####.....]  42% ~1m10s left · 12,345 events · 250 pages · 19.8 req/s``."""
    share = min(1.0, max(0.0, 1.0 if progress.done else progress.covered))
    left = progress.seconds_left
    if progress.done:
        eta = "done"
    else:
        eta = "" if left is None else f"~{format_duration(max(0, round(left)), sep='')} left"
    parts = [
        f"{share * 100:3.0f}%",
        eta,
        f"{progress.fetched:,} events",
        f"{progress.pages:,} pages",
        f"{progress.requests_per_second:.1f} req/s",
        f"{progress.events_per_second:,.0f} ev/s",
    ]
    if progress.rate_limited:
        parts.append(f"{progress.rate_limited} × 429")
    if progress.windows_total > 1:
        parts.append(f"windows {progress.windows_done}/{progress.windows_total}")
    text = " · ".join(p for p in parts if p)
    bar_width = max(0, min(30, width - len(text) - 4))
    if bar_width >= 5:
        filled = int(share * bar_width)
        text = "[" + "#" * filled + "." * (bar_width - filled) + "] " + text
    return visible(text)[: max(1, width - 1)]


class ProgressLine:
    """Rewrites one line of a terminal stream (``\\r`` + erase), at most ~10 times a second.

    Callers create it only when the stream is a terminal; :meth:`finish` leaves the last
    state on screen and moves to the next line so later messages do not overwrite it.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        width: int = 80,
        min_interval: float = 0.1,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._width = width
        self._min_interval = min_interval
        self._monotonic = monotonic
        self._last_draw: float | None = None
        self._drawn = False

    def update(self, progress: ExportProgress) -> None:
        now = self._monotonic()
        if (
            not progress.done
            and self._last_draw is not None
            and now - self._last_draw < self._min_interval
        ):
            return
        self._last_draw = now
        self._stream.write("\r\x1b[2K" + format_progress(progress, self._width))
        self._stream.flush()
        self._drawn = True

    def finish(self, progress: ExportProgress | None = None) -> None:
        if progress is not None:
            self.update(progress)
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False
