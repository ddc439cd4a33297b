"""THE paging property: following cursors yields exactly the truth, in order.

For every supported filter combination (with real values, with and without a
``date_updated`` range in date and date-time forms), walking ``cursor_next`` returns
exactly ``expected(params)`` — nothing lost, nothing repeated, through empty and short
pages — and walking ``cursor_previous`` back from the end rebuilds the same list.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import httpx
import pytest

from close_tui.core.dates import parse_api_datetime, to_api_datetime
from close_tui.core.filters import SUPPORTED_COMBINATIONS, describe
from close_tui.emulator import Emulator


def call_emulator(em: Emulator, path: str, params: dict[str, str]) -> httpx.Response:
    url = httpx.URL("http://emulator.test/api/v1" + path, params=params)
    auth = httpx.BasicAuth(em.admin_key, "")._auth_header
    return em.handle(httpx.Request("GET", url, headers={"Authorization": auth}))


def _page(em: Emulator, params: dict[str, str], cursor: str | None, limit: int) -> dict[str, Any]:
    query = {**params, "_limit": str(limit)}
    if cursor is not None:
        query["_cursor"] = cursor
    response = call_emulator(em, "/event/", query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"data", "cursor_next", "cursor_previous"}
    assert len(body["data"]) <= limit
    return body


def walk_forward(
    em: Emulator, params: dict[str, str], limit: int
) -> tuple[list[list[dict[str, Any]]], dict[str, Any]]:
    """All pages following cursor_next; returns (pages, last answer)."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    for _ in range(100_000):
        body = _page(em, params, cursor, limit)
        pages.append(body["data"])
        cursor = body["cursor_next"]
        if cursor is None:
            return pages, body
    raise AssertionError("cursor_next never became null")


def walk_backward(
    em: Emulator, params: dict[str, str], limit: int, last: dict[str, Any]
) -> list[list[dict[str, Any]]]:
    """From the last page, follow cursor_previous to the top; pages in walking order."""
    pages = [last["data"]]
    cursor = last["cursor_previous"]
    for _ in range(100_000):
        if cursor is None:
            return pages
        body = _page(em, params, cursor, limit)
        pages.append(body["data"])
        cursor = body["cursor_previous"]
    raise AssertionError("cursor_previous never became null")


def _ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["id"] for e in events]


@cache
def _all_with_dates(em: Emulator) -> list[tuple[dict[str, Any], datetime]]:
    return [(ev, parse_api_datetime(ev["date_updated"])) for ev in em.events()]


def brute_force(em: Emulator, params: dict[str, str]) -> list[str]:
    """The truth computed naively from events(), independent of the store's indexes."""
    bounds = [
        (k.rsplit("__")[1], parse_api_datetime(v))
        for k, v in params.items()
        if k.startswith("date_")
    ]
    equal = [(k, v) for k, v in params.items() if not k.startswith("date_")]
    tests = {
        "gt": lambda when, b: when > b,
        "gte": lambda when, b: when >= b,
        "lt": lambda when, b: when < b,
        "lte": lambda when, b: when <= b,
    }
    return [
        ev["id"]
        for ev, when in _all_with_dates(em)
        if all(ev.get(k) == v for k, v in equal) and all(tests[op](when, b) for op, b in bounds)
    ]


@cache
def _values(em: Emulator) -> dict[str, str]:
    """Real filter values that make every supported combination non-empty."""
    events = em.events()
    per_object = Counter(e["object_id"] for e in events)
    pivot = next(
        e
        for e in events
        if e["object_type"] == "activity.note"
        and e["action"] == "updated"
        and e["user_id"]
        and per_object[e["object_id"]] >= 4
    )
    bulk = em.sim.bulk_ids["edit"]
    bulk_request = next(e["request_id"] for e in events if e["meta"].get("bulk_action_id") == bulk)
    return {
        "lead_id": pivot["lead_id"],
        "user_id": pivot["user_id"],
        "object_type": pivot["object_type"],
        "object_id": pivot["object_id"],
        "action": pivot["action"],
        "request_id": bulk_request,
    }


def _date_range(em: Emulator, params: dict[str, str], form: str) -> dict[str, str]:
    """A range around the middle of the combination's results, in the given form."""
    events = em.expected(params)
    middle = parse_api_datetime(events[len(events) // 2]["date_updated"])
    if form == "date":
        return {
            "date_updated__gte": (middle - timedelta(days=3)).date().isoformat(),
            "date_updated__lt": (middle + timedelta(days=2)).date().isoformat(),
        }
    return {
        "date_updated__gt": (middle - timedelta(days=2))
        .replace(microsecond=0)
        .strftime("%Y-%m-%dT%H:%M:%S"),
        "date_updated__lte": to_api_datetime(middle + timedelta(hours=30, microseconds=345678)),
    }


COMBOS = sorted(SUPPORTED_COMBINATIONS, key=lambda c: (len(c), describe(c)))


@pytest.mark.parametrize("form", ["none", "date", "datetime"])
@pytest.mark.parametrize("combo", COMBOS, ids=[describe(c).replace(" + ", "+") for c in COMBOS])
def test_cursor_paging_yields_exactly_the_truth(
    default_emulator: Emulator, combo: frozenset[str], form: str
) -> None:
    em = default_emulator
    values = _values(em)
    params = {field: values[field] for field in combo}
    if form != "none":
        params.update(_date_range(em, params, form))
    expected = _ids(em.expected(params))
    assert expected, f"no events for {params}"
    assert expected == brute_force(em, params)
    dates = [parse_api_datetime(e["date_updated"]) for e in em.expected(params)]
    assert dates == sorted(dates, reverse=True)

    limits = [50] if len(expected) > 1500 else [50, 7]
    for limit in limits:
        pages, last = walk_forward(em, params, limit)
        forward = [e for page in pages for e in page]
        assert _ids(forward) == expected, f"limit={limit}"
        back = walk_backward(em, params, limit, last)
        rebuilt = [e for page in reversed(back) for e in page]
        assert _ids(rebuilt) == expected, f"backwards, limit={limit}"


def test_small_limit_over_the_whole_log_window(default_emulator: Emulator) -> None:
    """_limit 7 over everything in a two-day window, no filter at all."""
    em = default_emulator
    params = {"date_updated__gte": "2026-11-10", "date_updated__lt": "2026-11-12T00:00:00"}
    expected = _ids(em.expected(params))
    assert len(expected) > 1000
    pages, _ = walk_forward(em, params, 7)
    assert _ids([e for p in pages for e in p]) == expected


def test_paging_survives_frequent_empty_and_short_pages(make_emulator: Any) -> None:
    em, _ = make_emulator(empty_page_rate=0.2, n_leads=20)
    lead = next(iter(em.leads))
    empty = short = 0
    for params in ({}, {"lead_id": lead}, {"object_type": "activity.note", "action": "updated"}):
        expected = _ids(em.expected(params))
        for limit in (50, 9):
            pages, last = walk_forward(em, params, limit)
            assert _ids([e for p in pages for e in p]) == expected
            empty += sum(1 for p in pages if not p)
            short += sum(1 for p in pages[:-1] if 0 < len(p) < limit)
            back = walk_backward(em, params, limit, last)
            assert _ids([e for p in reversed(back) for e in p]) == expected
    assert empty >= 3
    assert short >= 3


def test_empty_page_still_carries_cursor_next(make_emulator: Any) -> None:
    em, _ = make_emulator(empty_page_rate=0.45)
    cursor = None
    saw_empty = False
    for _ in range(200):
        body = _page(em, {}, cursor, 10)
        if not body["data"] and cursor is not None:
            saw_empty = True
            assert body["cursor_next"] is not None
        cursor = body["cursor_next"]
        if cursor is None:
            break
    assert saw_empty


def test_date_range_may_be_dropped_with_a_cursor(default_emulator: Emulator) -> None:
    em = default_emulator
    params = {"user_id": _values(em)["user_id"], "date_updated__gte": "2026-11-05"}
    expected = _ids(em.expected(params))
    got: list[str] = []
    cursor: str | None = None
    while True:
        query = dict(params) if cursor is None else {"user_id": params["user_id"]}
        body = _page(em, query, cursor, 50)
        got += _ids(body["data"])
        cursor = body["cursor_next"]
        if cursor is None:
            break
    assert got == expected


def test_same_millisecond_events_keep_true_order(default_emulator: Emulator) -> None:
    """A lead creation emits lead.created then contact.created in one millisecond."""
    events = default_emulator.events()
    for newer, older in itertools.pairwise(events):
        if (
            newer["request_id"] == older["request_id"]
            and newer["date_updated"] == older["date_updated"]
            and newer["object_type"] == "lead"
            and newer["action"] == "created"
            and older["object_type"] == "contact"
            and older["lead_id"] == newer["lead_id"]
        ):
            pytest.fail("a lead's creation was ordered after its contacts'")
    # Merge: children move before the source lead is deleted (true order, same ms).
    merged = next(e for e in events if e["action"] == "merged")
    burst = [e for e in events if e["request_id"] == merged["request_id"]]
    assert burst[0]["object_type"] == "lead" and burst[0]["action"] == "deleted"
