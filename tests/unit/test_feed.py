"""The view feed (Textual-free): paging state, stale pages, the local scan's words,
leaving and coming back, live follow's queue and the detail cache — against a source
that is not the HTTP client, as a local archive will be."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from close_tui.core.feed import NO_MATCH, EventCache, EventSource, FollowQueue, ViewFeed
from close_tui.core.filters import EventFilter
from close_tui.core.follow import FollowBatch
from close_tui.core.models import Event
from close_tui.core.predicates import parse

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def event(n: int, *, action: str = "created", minutes: int | None = None) -> Event:
    when = T0 - timedelta(minutes=n if minutes is None else minutes)
    return Event.model_validate({
        "id": f"ev_{n}", "date_created": when.isoformat(), "date_updated": when.isoformat(),
        "action": action, "object_type": "lead", "object_id": f"lead_{n}", "lead_id": f"lead_{n}",
        "user_id": None, "request_id": None, "api_key_id": None, "organization_id": "orga_1",
        "changed_fields": [], "meta": {}, "data": {}, "previous_data": {},
    })


class ListPager:
    """Pages of a fixed list, ``size`` at a time; counts concurrent calls."""

    def __init__(self, events: list[Event], size: int) -> None:
        self.events, self.size = events, size
        self.exhausted = not events
        self.position = 0
        self.running = 0
        self.most_at_once = 0
        self.hold: asyncio.Event | None = None

    async def next_page(self) -> list[Event]:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if self.hold is not None:
                await self.hold.wait()
            page = self.events[self.position : self.position + self.size]
            self.position += len(page)
            self.exhausted = self.position >= len(self.events)
            return page
        finally:
            self.running -= 1


class ListSource:
    """A second source behind the same feed: events from memory (as an archive would)."""

    def __init__(self, events: list[Event], size: int = 2) -> None:
        self.events, self.size = events, size
        self.pagers: list[ListPager] = []

    def pager(self, flt: EventFilter) -> ListPager:
        flt.validate()
        pager = ListPager(self.events, self.size)
        self.pagers.append(pager)
        return pager

    async def get_event(self, event_id: str) -> Event:
        return next(e for e in self.events if e.id == event_id)


def test_a_list_source_is_an_event_source() -> None:
    source: EventSource = ListSource([])
    assert isinstance(ViewFeed(source, EventFilter()), ViewFeed)


def test_generations_are_unique_and_fresh_makes_a_new_one() -> None:
    source = ListSource([event(1)])
    feed = ViewFeed(source, EventFilter(), "action=created")
    again = feed.fresh()
    assert again.generation != feed.generation
    assert again.filter == feed.filter and again.predicate_text == "action=created"
    assert len(source.pagers) == 2


def test_an_unsupported_filter_is_refused_at_once() -> None:
    with pytest.raises(ValueError):
        ViewFeed(ListSource([]), EventFilter(action="deleted"))


async def test_paging_phases_and_footer() -> None:
    source = ListSource([event(1), event(2), event(3)], size=2)
    feed = ViewFeed(source, EventFilter())
    assert feed.begin_page() and feed.phase == "loading"
    assert not feed.begin_page()  # one request at a time
    kept = feed.page_loaded(await feed.pager.next_page(), "_limit=2")
    assert [e.id for e in kept] == ["ev_1", "ev_2"]
    assert feed.phase == "more" and feed.footer() == ("more", "")
    assert feed.paging_text == "more available" and feed.sent_query == "_limit=2"
    assert feed.begin_page()
    feed.page_loaded(await feed.pager.next_page())
    assert feed.phase == "end" and feed.footer() == ("end", "")
    assert not feed.begin_page()  # nothing after the end
    assert (feed.scanned, feed.matched) == (3, 3)


async def test_an_empty_result_says_no_events_match() -> None:
    feed = ViewFeed(ListSource([]), EventFilter())
    assert feed.phase == "empty"
    assert feed.footer() == ("end", NO_MATCH) and feed.paging_text == NO_MATCH


async def test_an_error_stops_paging_until_a_fresh_feed() -> None:
    feed = ViewFeed(ListSource([event(1), event(2), event(3)]), EventFilter())
    assert feed.begin_page()
    feed.page_failed("HTTP 503", "_limit=50")
    assert feed.phase == "error" and feed.footer() == ("error", "HTTP 503")
    assert not feed.begin_page()
    assert feed.fresh().begin_page()


async def test_the_local_scan_counts_and_says_scanning_between_pages() -> None:
    events = [event(1), event(2, action="updated"), event(3), event(4, action="updated")]
    feed = ViewFeed(ListSource(events, size=2), EventFilter(), "action=updated")
    assert feed.begin_page()
    assert feed.local_status(0, scanning=False).endswith("scanning… (Esc stops)")
    kept = feed.page_loaded(await feed.pager.next_page())
    assert [e.id for e in kept] == ["ev_2"]
    status = feed.local_status(1, scanning=True)
    assert status == ("local filter: action=updated · scanned 2 · 1 match · "
                      "scanning… (Esc stops)")
    assert feed.local_status(1, scanning=False).endswith("scroll for more")
    assert feed.stop_scan() and not feed.begin_page()
    assert feed.local_status(1, scanning=True).endswith("stopped (End scans on)")
    assert feed.paging_text == "scan stopped"
    assert feed.resume_scan() and feed.begin_page()
    feed.page_loaded(await feed.pager.next_page())
    assert feed.local_status(2, scanning=True).endswith("· end of log")
    assert not feed.stop_scan()  # nothing left to stop


async def test_a_local_filter_that_matches_nothing_says_so() -> None:
    feed = ViewFeed(ListSource([event(1)]), EventFilter(), "action=deleted")
    assert feed.begin_page()
    feed.page_loaded(await feed.pager.next_page())
    assert feed.phase == "empty"
    assert feed.local_status(0, scanning=False).endswith(f"end of log: {NO_MATCH}")


async def test_the_gate_keeps_one_request_at_a_time_across_a_cancellation() -> None:
    source = ListSource([event(n) for n in range(1, 7)], size=2)
    feed = ViewFeed(source, EventFilter())
    pager = source.pagers[0]
    pager.hold = asyncio.Event()

    async def fetch() -> list[Event]:
        async with feed.gate:
            return await feed.pager.next_page()

    first = asyncio.create_task(fetch())
    await asyncio.sleep(0)
    first.cancel()  # the user left the view; the request unwinds
    second = asyncio.create_task(fetch())
    await asyncio.sleep(0)
    pager.hold.set()
    page = await second
    with pytest.raises(asyncio.CancelledError):
        await first
    assert [e.id for e in page] == ["ev_1", "ev_2"]  # the cancelled page was not consumed
    assert pager.most_at_once == 1


def test_leaving_and_coming_back_keeps_rows_and_late_pages() -> None:
    feed = ViewFeed(ListSource([event(1)]), EventFilter())
    assert not feed.restorable
    feed.keep([], 3, 12.0)
    assert feed.restorable and (feed.cursor, feed.scroll_y) == (3, 12.0)
    feed.unshown.extend([event(1), event(2)])
    assert feed.kept_rows == 2
    assert [e.id for e in feed.take_unshown()] == ["ev_1", "ev_2"] and not feed.unshown
    feed.shed()
    assert not feed.restorable and feed.kept_rows == 0


def test_follow_queue_shows_updates_at_once_and_holds_new_ones_below_the_top() -> None:
    queue = FollowQueue()
    nothing = parse("")
    plan = queue.plan(FollowBatch(new=[event(1)], updated=[event(5)]), nothing, at_top=True)
    assert [e.id for e in plan.show] == ["ev_5", "ev_1"] and plan.waiting == 0
    plan = queue.plan(FollowBatch(new=[event(2)], updated=[event(6)]), nothing, at_top=False)
    assert [e.id for e in plan.show] == ["ev_6"] and plan.waiting == 1
    # A waiting event that changes again waits with its news; at the top, new ones
    # still wait behind those already waiting (order is kept).
    newer = event(2, minutes=0)
    plan = queue.plan(FollowBatch(new=[event(3)], updated=[newer]), nothing, at_top=True)
    assert plan.show == [] and plan.waiting == 2
    assert queue.stamp("ev_2") == newer.date_updated.timestamp()
    assert [e.id for e in queue.take()] == ["ev_2", "ev_3"] and len(queue) == 0


def test_follow_queue_respects_the_local_predicate() -> None:
    queue = FollowQueue()
    plan = queue.plan(FollowBatch(new=[event(1), event(2, action="updated")]),
                      parse("action=updated"), at_top=True)
    assert [e.id for e in plan.show] == ["ev_2"]


def test_event_cache_drops_the_least_recently_used() -> None:
    cache = EventCache(size=2)
    cache.put(event(1))
    cache.put(event(2))
    assert cache.get("ev_1") is not None  # ev_1 is now the most recent
    cache.put(event(3))
    assert "ev_2" not in cache and list(cache.ids()) == ["ev_1", "ev_3"]
