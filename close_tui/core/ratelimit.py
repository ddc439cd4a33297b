"""Reading Close's rate-limit headers.

Close sends ``RateLimit: limit=100, remaining=50, reset=5`` on most responses, where
``reset`` is seconds and may be decimal; a live capture has also shown semicolons
(``limit=100; remaining=100; reset=1``), and header names may arrive in any case. On a
``429`` the precise ``reset`` is preferred over ``Retry-After`` (which is rounded up to
whole seconds). Parsing is deliberately forgiving: a header we cannot read yields
``None``, never an exception, because a malformed header must not take down a request
that otherwise succeeded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

_SEPARATORS: Final = re.compile(r"[,;]")
# The split-header form of the IETF draft (``RateLimit-Limit`` etc.): tolerated in case
# a proxy or a future API version sends it.
_SPLIT_HEADERS: Final[dict[str, str]] = {
    "ratelimit-limit": "limit",
    "ratelimit-remaining": "remaining",
    "ratelimit-reset": "reset",
}
# Newer IETF drafts abbreviate the keys (``r=50;t=30``); map them onto ours.
_KEY_ALIASES: Final[dict[str, str]] = {
    "limit": "limit",
    "remaining": "remaining",
    "reset": "reset",
    "r": "remaining",
    "t": "reset",
}


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The rate-limit state one response reported.

    ``reset`` counts seconds from ``observed_at`` (a ``time.monotonic()`` reading), so the
    deadline survives wall-clock jumps.
    """

    limit: int | None
    remaining: int | None
    reset: float | None
    observed_at: float

    def reset_at(self) -> float:
        """The monotonic time at which the window resets (``observed_at`` if unknown)."""
        return self.observed_at + (self.reset or 0.0)

    def seconds_until_reset(self, now: float) -> float:
        """Seconds left until the reset, never negative."""
        return max(0.0, self.reset_at() - now)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that works for plain dicts as well as httpx.Headers."""
    direct = headers.get(name)
    if direct is not None:
        return direct
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _parse_int(text: str) -> int | None:
    number = _parse_float(text)
    if number is None:
        return None
    return int(number)


def _parse_float(text: str) -> float | None:
    cleaned = text.strip().strip('"').strip()
    try:
        number = float(cleaned)
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return number


def _build(values: Mapping[str, str], now: float) -> RateLimit | None:
    limit = _parse_int(values["limit"]) if "limit" in values else None
    remaining = _parse_int(values["remaining"]) if "remaining" in values else None
    reset = _parse_float(values["reset"]) if "reset" in values else None
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimit(limit=limit, remaining=remaining, reset=reset, observed_at=now)


def parse_ratelimit(headers: Mapping[str, str], *, now: float) -> RateLimit | None:
    """Read the ``RateLimit`` header (comma or semicolon form), or ``None``.

    Tolerates spaces, any key order, unknown keys, quoted values and garbage; returns
    ``None`` when no known key carries a usable number. ``now`` is the monotonic time the
    response was received.
    """
    try:
        raw = _header(headers, "RateLimit")
        if raw is not None:
            values: dict[str, str] = {}
            for part in _SEPARATORS.split(raw):
                key, sep, value = part.partition("=")
                if not sep:
                    continue
                name = _KEY_ALIASES.get(key.strip().lower())
                # The first occurrence wins: with several policies (joined by a proxy)
                # the first one is the one the server listed first.
                if name is not None and name not in values:
                    values[name] = value
            return _build(values, now)
        split = {
            ours: value
            for header, ours in _SPLIT_HEADERS.items()
            if (value := _header(headers, header)) is not None
        }
        return _build(split, now) if split else None
    except Exception:  # a header must never break a request that otherwise worked
        return None


def parse_retry_after(value: str | None, *, now_utc: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date.

    A date in the past means "now" (``0.0``); anything unreadable is ``None``.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    seconds = _parse_float(text)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now_utc.tzinfo is None:
        now_utc = now_utc.replace(tzinfo=UTC)
    return max(0.0, (when - now_utc).total_seconds())


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware UTC datetime, or ``None`` if unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
