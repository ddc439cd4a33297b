"""Timestamps as Close writes them, and dates as people type them.

Close's event timestamps are naive ISO date-times in UTC with microsecond digits
(``2026-11-20T12:48:23.395000``). We read naive values as UTC, keep datetimes aware
inside the program, and send filters back in the events' own naive-UTC form.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SPAN_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_api_datetime(value: str) -> datetime:
    """Parse an ISO date or date-time from the API; naive means UTC. Always aware."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if len(text) == 10:
        parsed = datetime.combine(date.fromisoformat(text), time())
    else:
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_api_datetime(value: datetime) -> str:
    """The naive-UTC ISO form with microseconds, as the events themselves carry."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


class DateParseError(ValueError):
    """A date the user typed that we cannot read."""


def parse_user_datetime(
    text: str,
    *,
    now: datetime,
    bound: Literal["since", "until"],
    local_tz: tzinfo | None = None,
) -> tuple[datetime, bool]:
    """Read a since/until value as a person types it.

    Accepts an ISO date (``2026-11-01``), a date-time (naive = local time; ``Z`` or an
    offset as given) or a relative span back from ``now`` (``90m``, ``2h``, ``3d``).
    Returns the aware UTC instant and whether it is *inclusive*: a bare-date ``until``
    means "to the end of that day", so it comes back as the next midnight, exclusive.
    """
    raw = text.strip()
    if not raw:
        raise DateParseError("empty date")
    span = _SPAN.match(raw)
    if span:
        seconds = float(span.group(1)) * _SPAN_SECONDS[span.group(2)]
        return (now - timedelta(seconds=seconds)).astimezone(UTC), True
    tz = local_tz if local_tz is not None else _local_tz()
    try:
        if len(raw) == 10 and raw[4] == "-" and raw[7] == "-":
            day = date.fromisoformat(raw)
            if bound == "until":
                return datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC), False
            return datetime.combine(day, time(), tz).astimezone(UTC), True
        iso = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
        parsed = datetime.fromisoformat(iso.replace(" ", "T", 1))
    except ValueError as exc:
        raise DateParseError(
            f"cannot read {text!r} as a date: use 2026-11-01, 2026-11-01T14:30, "
            "2026-11-01T14:30Z or a span like 90m, 2h, 3d"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC), True


def _local_tz() -> tzinfo:
    local = datetime.now().astimezone().tzinfo
    return local if local is not None else UTC


def format_http_date(value: datetime) -> str:
    """RFC 7231 ``Date`` header form."""
    return value.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def format_duration(seconds: float, sep: str = " ") -> str:
    """``42s``, ``3m 12s``, ``1h 05m`` (``sep=""``: ``3m12s``); whole seconds, cut down."""
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{sep}{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{sep}{minutes:02d}m"
