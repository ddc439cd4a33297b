"""Time as an input of the emulator.

The dataset's "now", cursor expiry, rate-limit windows, the member privacy hour and live
mode all read one injected clock, so tests drive them with :class:`FakeClock` and run in
milliseconds instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

#: A clock returns an aware UTC datetime.
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Real time, aware UTC."""
    return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to; callable like any :data:`Clock`."""

    def __init__(self, start: datetime | None = None) -> None:
        when = start if start is not None else datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
        self._now = _aware(when)

    def __call__(self) -> datetime:
        return self._now

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move forward (never backward: real clocks used here are monotonic enough)."""
        if seconds < 0:
            raise ValueError("a FakeClock only moves forward")
        self._now = self._now + timedelta(seconds=seconds)
        return self._now

    def set(self, when: datetime) -> datetime:
        self._now = _aware(when)
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
