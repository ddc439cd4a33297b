"""RateLimit / Retry-After parsing: every form Close (or a proxy) may send, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from close_tui.core.ratelimit import (
    RateLimit,
    parse_http_date,
    parse_ratelimit,
    parse_retry_after,
)

NOW_UTC = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"ratelimit": "limit=100, remaining=50, reset=5"}, (100, 50, 5.0)),
        ({"ratelimit": "limit=100; remaining=50; reset=0.5"}, (100, 50, 0.5)),
        ({"RateLimit": "limit=100, remaining=50, reset=5"}, (100, 50, 5.0)),
        ({"RATELIMIT": "LIMIT=100,REMAINING=50,RESET=1.25"}, (100, 50, 1.25)),
        ({"ratelimit": "  reset = 3 ,limit=20 ,  remaining=0 "}, (20, 0, 3.0)),
        ({"ratelimit": "limit=100, burst=7, remaining=9, reset=2, policy=x"}, (100, 9, 2.0)),
        ({"ratelimit": "remaining=3"}, (None, 3, None)),
        ({"ratelimit": "limit=100, remaining=oops, reset=4"}, (100, None, 4.0)),
        ({"ratelimit": '"default";r=50;t=30'}, (None, 50, 30.0)),  # newer IETF draft
        (
            {"RateLimit-Limit": "10", "RateLimit-Remaining": "4", "RateLimit-Reset": "7"},
            (10, 4, 7.0),
        ),
    ],
)
def test_parse_ratelimit_forms(
    headers: dict[str, str], expected: tuple[int | None, int | None, float | None]
) -> None:
    parsed = parse_ratelimit(headers, now=100.0)
    assert parsed is not None
    assert (parsed.limit, parsed.remaining, parsed.reset) == expected
    assert parsed.observed_at == 100.0


def test_parse_ratelimit_from_httpx_headers_case_insensitive() -> None:
    headers = httpx.Headers([("RateLimit", "limit=100; remaining=1; reset=0.25")])
    parsed = parse_ratelimit(headers, now=10.0)
    assert parsed == RateLimit(limit=100, remaining=1, reset=0.25, observed_at=10.0)
    assert parsed.reset_at() == 10.25
    assert parsed.seconds_until_reset(10.0) == 0.25
    assert parsed.seconds_until_reset(99.0) == 0.0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-rate-limit-remaining": "5"},  # the retired headers mean nothing now
        {"ratelimit": ""},
        {"ratelimit": "garbage"},
        {"ratelimit": "limit=, remaining=,reset="},
        {"ratelimit": "limit=-1, reset=nan, remaining=inf"},
        {"ratelimit": "====;;;,,,"},
    ],
)
def test_parse_ratelimit_unusable_is_none(headers: dict[str, str]) -> None:
    assert parse_ratelimit(headers, now=0.0) is None


@given(st.text())
def test_parse_ratelimit_never_raises(text: str) -> None:
    result = parse_ratelimit({"ratelimit": text}, now=1.0)
    assert result is None or isinstance(result, RateLimit)


@given(
    limit=st.integers(0, 10**6),
    remaining=st.integers(0, 10**6),
    reset=st.decimals(0, 10**4, places=3, allow_nan=False, allow_infinity=False),
    sep=st.sampled_from([",", ";", ", ", " ; "]),
    order=st.permutations(["limit", "remaining", "reset"]),
)
def test_parse_ratelimit_round_trip(
    limit: int, remaining: int, reset: object, sep: str, order: list[str]
) -> None:
    values = {"limit": str(limit), "remaining": str(remaining), "reset": str(reset)}
    header = sep.join(f"{k}={values[k]}" for k in order)
    parsed = parse_ratelimit({"RateLimit": header}, now=0.0)
    assert parsed is not None
    assert parsed.limit == limit
    assert parsed.remaining == remaining
    assert parsed.reset == pytest.approx(float(str(reset)))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        ("Fri, 20 Nov 2026 12:00:07 GMT", 7.0),
        ("Fri, 20 Nov 2026 11:59:00 GMT", 0.0),  # in the past: go now
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now_utc=NOW_UTC) == expected


@given(st.text())
def test_parse_retry_after_never_raises(text: str) -> None:
    result = parse_retry_after(text, now_utc=NOW_UTC)
    assert result is None or result >= 0


def test_parse_http_date() -> None:
    assert parse_http_date("Fri, 20 Nov 2026 12:00:00 GMT") == NOW_UTC
    assert parse_http_date("not a date") is None
    assert parse_http_date(None) is None
