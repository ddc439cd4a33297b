"""What the client tells its listeners before it waits and tries a request again.

One typed notice instead of a free-text reason: the status bar, follow and the exporter
each subscribe, and none of them has to find "429" in a string or swap a single hook
slot (which broke whenever two parts of the app wanted to hear about retries).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class RetryReason(Enum):
    """Why a request is tried again."""

    RATE_LIMITED = "rate limited (429)"
    SERVER_ERROR = "server error"
    NETWORK = "network error"
    TIMEOUT = "timeout"
    UNREADABLE = "unreadable response"


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """Sent before the client sleeps ``delay`` seconds and sends try ``attempt + 1``.

    ``attempt`` is the 1-based number of the try that just failed; ``status`` the HTTP
    status when there was one; ``detail`` a short, secret-free description for humans
    (``"HTTP 503"``, ``"network error (ConnectError)"``).
    """

    reason: RetryReason
    attempt: int
    delay: float
    status: int | None = None
    detail: str = ""

    @property
    def rate_limited(self) -> bool:
        return self.reason is RetryReason.RATE_LIMITED

    def describe(self) -> str:
        """One line for a status bar: ``HTTP 503: retrying in 1.5 s (attempt 2)``."""
        what = self.detail or self.reason.value
        return f"{what}: retrying in {self.delay:.1f} s (attempt {self.attempt + 1})"


RetryListener = Callable[[RetryNotice], None]


class RetryListeners:
    """A list of listeners; :meth:`add` returns the function that removes it again.
    Adding a listener that is already there (an equal bound method) adds nothing."""

    __slots__ = ("_listeners",)

    def __init__(self) -> None:
        self._listeners: list[RetryListener] = []

    def add(self, listener: RetryListener) -> Callable[[], None]:
        if listener not in self._listeners:
            self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def notify(self, notice: RetryNotice) -> None:
        for listener in tuple(self._listeners):  # a listener may remove itself
            listener(notice)

    def __len__(self) -> int:
        return len(self._listeners)
