"""A cursor walk never loops and never ends short without a word (core.paging).

Scripted servers over ``httpx.MockTransport``: a cursor that repeats, two that take
turns, empty pages with fresh cursors forever, the same events under fresh cursors,
pages with no ``cursor_next`` key, ``has_more: true`` with no cursor. Each is walked by
the app's :class:`EventPager`, by the exporter (the CLI's walk, sequential and parallel)
and by follow, and each must stop with its typed error after a bounded number of
requests. Legitimate quirks (empty pages in the middle, ``cursor_next: null`` at the end,
``has_more: false`` next to a cursor) must still work.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.dates import to_api_datetime
from close_tui.core.errors import (
    InconsistentPaging,
    NoProgress,
    PagingError,
    RepeatedCursor,
)
from close_tui.core.export import JsonlWriter
from close_tui.core.exporter import ExportOptions, export_events
from close_tui.core.filters import EventFilter
from close_tui.core.follow import Follower
from close_tui.core.paging import MAX_PAGES_WITHOUT_PROGRESS, WalkGuard, paging_cursor

T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


def event(n: int) -> dict[str, Any]:
    """Event ``n``: higher n is older (a newest-first walk meets them in order)."""
    when = to_api_datetime(T0 - timedelta(seconds=n))
    return {
        "id": f"ev_{n:022d}",
        "date_created": when,
        "date_updated": when,
        "object_type": "lead",
        "object_id": f"lead_{n}",
        "lead_id": f"lead_{n}",
        "action": "updated",
        "changed_fields": [],
    }


Answer = Callable[[str | None, int], dict[str, Any]]


class Server:
    """Answers ``GET /event/`` with ``answer(cursor, n)`` (n: 1-based request count);
    every other path (the exporter's clock probe) gets one event and no cursor."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests = 0
        self.cursors: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        cursor = request.url.params.get("_cursor")
        self.cursors.append(cursor)
        return httpx.Response(
            200,
            json=self.answer(cursor, self.requests),
            headers={"Date": "Fri, 20 Nov 2026 12:00:00 GMT"},
        )


async def no_sleep(_: float) -> None:
    return None


def client(server: Server) -> CloseClient:
    return CloseClient(
        "https://api.example.test/api/v1",
        api_key="api_test.key",
        transport=httpx.MockTransport(server),
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, jitter=0.0),
        sleep=no_sleep,
    )


def page(events: list[int], cursor: str | None, **extra: Any) -> dict[str, Any]:
    return {"data": [event(n) for n in events], "cursor_next": cursor, **extra}


# ---------------------------------------------------------------------------- servers


def same_cursor_forever(cursor: str | None, n: int) -> dict[str, Any]:
    return page([1, 2, 3], "C")


def cycling(cursor: str | None, n: int) -> dict[str, Any]:
    # A -> B -> A -> ...: each page new events, cursors taking turns.
    return page([3 * n, 3 * n + 1, 3 * n + 2], "B" if cursor == "A" else "A")


def empty_with_fresh_cursors(cursor: str | None, n: int) -> dict[str, Any]:
    return page([], f"c{n}")


def same_events_fresh_cursors(cursor: str | None, n: int) -> dict[str, Any]:
    return page([1, 2, 3], f"c{n}")


def no_cursor_field(cursor: str | None, n: int) -> dict[str, Any]:
    return {"data": [event(n)]}


def has_more_without_cursor(cursor: str | None, n: int) -> dict[str, Any]:
    return page([n], None, has_more=True)


def a_few_empty_pages_then_the_rest(cursor: str | None, n: int) -> dict[str, Any]:
    # 1: events, 2..6: empty (a sparse stretch), 7: events and the end.
    if n == 1:
        return page([1, 2], "p1")
    if n < 7:
        return page([], f"p{n}")
    return page([3, 4], None)


def has_more_false_with_cursor(cursor: str | None, n: int) -> dict[str, Any]:
    return page([n], "next", has_more=False) if n == 1 else page([n], None, has_more=False)


LOOPS: list[tuple[Answer, type[PagingError], int]] = [
    # (server, error, requests an EventPager walk sends before it stops)
    (same_cursor_forever, RepeatedCursor, 2),
    (cycling, RepeatedCursor, 3),
    (empty_with_fresh_cursors, NoProgress, MAX_PAGES_WITHOUT_PROGRESS),
    (same_events_fresh_cursors, NoProgress, MAX_PAGES_WITHOUT_PROGRESS + 1),
    (no_cursor_field, InconsistentPaging, 1),
    (has_more_without_cursor, InconsistentPaging, 1),
]
IDS = [answer.__name__ for answer, _, _ in LOOPS]


# ---------------------------------------------------------------------------- EventPager


async def walk(pager: Any, limit: int = 1000) -> list[str]:
    ids: list[str] = []
    for _ in range(limit):  # a bound of the test itself, far above any expected walk
        if pager.exhausted:
            return ids
        ids += [e.id for e in await pager.next_page()]
    raise AssertionError("the walk did not stop")


@pytest.mark.parametrize(("answer", "error", "requests"), LOOPS, ids=IDS)
async def test_the_pager_stops_a_misbehaving_walk(
    answer: Answer, error: type[PagingError], requests: int
) -> None:
    server = Server(answer)
    async with client(server) as c:
        pager = c.pager(EventFilter())
        with pytest.raises(error) as caught:
            await walk(pager)
        assert server.requests == requests
        # Asking again (the app's retry) repeats the error without a request.
        with pytest.raises(error):
            await pager.next_page()
        assert server.requests == requests
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300


async def test_the_events_of_the_page_that_repeats_a_cursor_are_still_returned() -> None:
    server = Server(cycling)
    async with client(server) as c:
        pager = c.pager(EventFilter())
        ids = [e.id for e in await pager.next_page()]
        ids += [e.id for e in await pager.next_page()]
        ids += [e.id for e in await pager.next_page()]  # answered with "A" again
        assert len(ids) == 9 and len(set(ids)) == 9
        with pytest.raises(RepeatedCursor):
            await pager.next_page()
    assert server.cursors == [None, "A", "B"]


async def test_the_same_events_again_are_dropped_as_replays() -> None:
    server = Server(same_events_fresh_cursors)
    async with client(server) as c:
        pager = c.pager(EventFilter())
        assert len(await pager.next_page()) == 3
        assert await pager.next_page() == []


@pytest.mark.parametrize(
    "answer", [a_few_empty_pages_then_the_rest, has_more_false_with_cursor],
    ids=["empty pages in the middle", "has_more false next to a cursor"],
)
async def test_legitimate_quirks_still_walk_to_the_end(answer: Answer) -> None:
    server = Server(answer)
    async with client(server) as c:
        ids = await walk(c.pager(EventFilter()))
    assert ids == sorted(ids)  # newest (lowest n) first, each once
    assert len(ids) == len(set(ids)) >= 2


def test_an_empty_cursor_is_the_end_as_the_api_reads_it() -> None:
    assert paging_cursor({"data": [], "cursor_next": ""}) is None
    assert paging_cursor({"data": [], "cursor_next": None}) is None
    with pytest.raises(InconsistentPaging):
        paging_cursor({"data": [], "cursor_next": None, "has_more": "yes"})
    with pytest.raises(InconsistentPaging):
        paging_cursor({"data": [], "cursor_next": 7})


def test_the_guard_counts_only_pages_in_a_row() -> None:
    guard = WalkGuard(max_idle_pages=3)
    assert guard.progressed(0, more=True) and guard.progressed(0, more=True)
    assert guard.progressed(5, more=True)  # news resets the run
    assert guard.progressed(0, more=True) and guard.progressed(0, more=True)
    assert guard.progressed(0, more=False)  # the end is the end, even without news
    assert not guard.progressed(0, more=True)
    assert isinstance(guard.failure, NoProgress)


# ---------------------------------------------------------------------------- exporter


@pytest.mark.parametrize("parallel", [1, 4], ids=["sequential", "parallel"])
@pytest.mark.parametrize(("answer", "error", "requests"), LOOPS, ids=IDS)
async def test_the_export_stops_a_misbehaving_walk(
    answer: Answer, error: type[PagingError], requests: int, parallel: int
) -> None:
    import io

    server = Server(answer)
    out = io.StringIO()
    async with client(server) as c:
        with pytest.raises(error):
            await export_events(
                c, EventFilter(), JsonlWriter(out), options=ExportOptions(parallel=parallel),
                sleep=no_sleep,
            )
    # The clock probe, then each window's walk; the prefetch may add one per window.
    assert server.requests <= 1 + parallel * (requests + 1)


# ---------------------------------------------------------------------------- follow


async def test_follow_reports_a_repeating_cursor_and_polls_less_often() -> None:
    server = Server(same_cursor_forever)
    errors: list[Exception] = []
    async with client(server) as c:
        follower = Follower(c, EventFilter(), interval=5.0)
        delays: list[float] = []

        async def sleep(seconds: float) -> None:
            delays.append(seconds)
            if len(delays) >= 3:
                raise _Stop

        with pytest.raises(_Stop):
            await follower.run(lambda batch: None, sleep=sleep, on_error=errors.append)
    assert [type(e) for e in errors] == [RepeatedCursor] * 3
    assert delays == [10.0, 20.0, 40.0]  # backing off, not hammering
    assert server.requests == 6  # two per poll


class _Stop(Exception):
    pass


def test_no_cursor_is_ever_sent_twice_in_one_export() -> None:
    # Sanity of the scripted servers: a cycling server is caught on the first repeat.
    cursors = list(itertools.islice(itertools.cycle(["A", "B"]), 4))
    guard = WalkGuard()
    for cursor in cursors[:2]:
        assert guard.check_cursor(cursor)
        guard.sent(cursor)
    assert not guard.check_cursor(cursors[2])
    assert isinstance(guard.failure, RepeatedCursor)
