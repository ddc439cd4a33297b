from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from close_tui.core.dates import (
    DateParseError,
    format_duration,
    parse_api_datetime,
    parse_user_datetime,
    to_api_datetime,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PLUS2 = timezone(timedelta(hours=2))


def test_api_datetimes_are_naive_utc() -> None:
    parsed = parse_api_datetime("2026-11-20T12:48:23.395000")
    assert parsed == datetime(2026, 11, 20, 12, 48, 23, 395000, tzinfo=UTC)
    assert to_api_datetime(parsed) == "2026-11-20T12:48:23.395000"
    assert parse_api_datetime("2026-11-20") == datetime(2026, 11, 20, tzinfo=UTC)
    assert parse_api_datetime("2026-11-20T13:48:23+01:00").hour == 12


@pytest.mark.parametrize(
    ("text", "bound", "expected", "inclusive"),
    [
        ("90m", "since", NOW - timedelta(minutes=90), True),
        ("2h", "since", NOW - timedelta(hours=2), True),
        ("3d", "until", NOW - timedelta(days=3), True),
        ("2026-11-01", "since", datetime(2026, 10, 31, 22, 0, tzinfo=UTC), True),
        # A bare-date until includes that whole (local) day: next local midnight, exclusive.
        ("2026-11-01", "until", datetime(2026, 11, 1, 22, 0, tzinfo=UTC), False),
        ("2026-11-01T14:30", "since", datetime(2026, 11, 1, 12, 30, tzinfo=UTC), True),
        ("2026-11-01T14:30Z", "since", datetime(2026, 11, 1, 14, 30, tzinfo=UTC), True),
        ("2026-11-01T14:30:00-05:00", "until", datetime(2026, 11, 1, 19, 30, tzinfo=UTC), True),
    ],
)
def test_user_dates(text: str, bound: str, expected: datetime, inclusive: bool) -> None:
    got = parse_user_datetime(text, now=NOW, bound=bound, local_tz=PLUS2)  # type: ignore[arg-type]
    assert got == (expected, inclusive)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "12x", "2026-11-01T25:00"])
def test_bad_user_dates_raise_clear_error(text: str) -> None:
    with pytest.raises(DateParseError):
        parse_user_datetime(text, now=NOW, bound="since", local_tz=PLUS2)


@pytest.mark.parametrize(
    ("seconds", "spaced", "compact"),
    [(0, "0s", "0s"), (59.9, "59s", "59s"), (70, "1m 10s", "1m10s"),
     (3599, "59m 59s", "59m59s"), (3900, "1h 05m", "1h05m")],
)
def test_format_duration_spaced_for_sentences_and_compact_for_progress(
    seconds: float, spaced: str, compact: str
) -> None:
    assert format_duration(seconds) == spaced
    assert format_duration(seconds, sep="") == compact
