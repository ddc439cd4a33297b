"""Directory: names from few requests, within a budget, never raising.

Against the emulator in-process through the real client. Time is one FakeClock shared
by the emulator (rate windows), the client and the directory (budget, sleeps), so the
pacing is exact and no test sleeps for real. Counts are asserted on the emulator's
request log.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.directory import DELETED_FIELD, RECENT_PAGE, Directory, LeadMatch, short_id
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event
from close_tui.core.summary import summarize
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


class World:
    """An emulator, a client and a directory on one fake clock."""

    def __init__(self, **config: Any) -> None:
        settings: dict[str, Any] = {"n_leads": 30, "n_users": 6, "empty_page_rate": 0.0,
                                    "rate_groups": True}
        settings.update(config)
        self.clock = FakeClock(NOW)
        self.emulator = Emulator(EmulatorConfig(**settings), clock=self.clock)
        self.transport: httpx.AsyncBaseTransport = self.emulator.transport()
        self.client = self.make_client()
        self.directory = Directory(self.client, monotonic=self.monotonic, sleep=self.sleep)

    def make_client(self) -> CloseClient:
        return CloseClient(
            "http://127.0.0.1:9/api/v1", api_key=self.emulator.admin_key,
            transport=self.transport, retry=RetryPolicy(max_attempts=3, jitter=0.0),
            sleep=self.sleep, monotonic=self.monotonic,
        )

    def monotonic(self) -> float:
        return self.clock().timestamp()

    async def sleep(self, seconds: float) -> None:
        self.clock.advance(max(seconds, 0.001))
        await asyncio.sleep(0)

    async def pages(self, n: int, flt: EventFilter | None = None) -> list[Event]:
        """``n`` pages of the view, each handed to the directory as the screen does."""
        pager = self.client.pager(flt or EventFilter())
        shown: list[Event] = []
        for _ in range(n):
            if pager.exhausted:
                break
            page = await pager.next_page()
            shown += page
            self.directory.see(page)
        return shown

    def requests(self, prefix: str = "", method: str | None = None) -> list[Any]:
        return [r for r in self.emulator.request_log if r.path.startswith("/api/v1/" + prefix)
                and (method is None or r.method == method)]

    def lookups(self) -> Counter[str]:
        return Counter(
            r.path.split("/")[3] for r in self.emulator.request_log
            if not r.path.startswith("/api/v1/event/")
        )


def unnamed_leads(directory: Directory, events: list[Event]) -> set[str]:
    return {e.lead_id for e in events if e.lead_id and directory.name(e.lead_id) is None}


async def test_a_view_is_named_with_one_request_per_list_and_batched_searches() -> None:
    world = World()
    shown = await world.pages(6)
    assert await world.directory.settle()
    counts = world.lookups()
    assert counts["organization"] == 1
    assert counts["custom_field"] == 2  # lead, then shared (the deleted field is in neither)
    # One search for the recently updated leads, then at most one batch per page.
    assert 1 <= counts["data"] <= 1 + 6
    assert counts["lead"] == 0 and counts["user"] == 0 and counts["me"] == 0
    alive = set(world.emulator.leads)
    assert not {lid for lid in unnamed_leads(world.directory, shown) if lid in alive}
    searches = world.emulator.lookups.searches
    assert searches[0] == {"query": {"type": "object_type", "object_type": "lead"},
                           "_fields": {"lead": ["id", "display_name"]},
                           "_limit": RECENT_PAGE}
    for batch in searches[1:]:
        assert batch["_fields"] == {"lead": ["id", "display_name"]}
        ids = [q["value"] for q in batch["query"].get("queries", [batch["query"]])]
        assert all(i.startswith("lead_") for i in ids) and len(ids) == len(set(ids))
    assert not [r for r in world.emulator.request_log if r.status == 429]
    assert not world.directory.limited and world.directory.failures == 0


async def test_the_deactivated_user_is_named_from_the_inactive_memberships() -> None:
    world = World(user_list_includes_inactive=False)  # /user/ would not name them
    left = world.emulator.sim.left_user
    assert left is not None
    events = [e for e in await world.pages(40) if e.user_id == left]
    assert events, "the deactivated user has events"
    assert await world.directory.settle()
    assert world.directory.name(left) == world.emulator.sim.user_names[left]
    (match,) = world.directory.find_users(world.emulator.sim.user_names[left].split()[0])
    assert match.id == left and not match.active and match.status == "deactivated"
    assert world.lookups()["organization"] == 1 and world.lookups()["user"] == 0


async def test_without_the_organization_endpoint_users_come_from_the_user_list_once() -> None:
    world = World(endpoints_off={"organization": 403})
    await world.pages(2)
    assert await world.directory.settle()
    await world.pages(2)
    assert await world.directory.settle()
    assert world.lookups()["organization"] == 1 and world.lookups()["user"] == 1
    assert world.directory.off == {"organization": 403}
    assert world.directory.name(world.emulator.sim.admin_user)


async def test_the_deleted_field_is_marked_and_existing_fields_named_in_summaries() -> None:
    world = World()
    shown = await world.pages(20)
    assert await world.directory.settle()
    deleted = world.emulator.lookups.deleted_field_id
    names = world.directory.names()
    assert names[deleted] == f"{short_id(deleted)} {DELETED_FIELD}"
    region = world.emulator.sim.cf_region.removeprefix("custom.")
    assert names[region] == "Region"
    lead_updates = [e for e in shown if e.object_type == "lead" and e.action == "updated"]
    sentences = {summarize(e, names) for e in lead_updates}
    assert any("Region" in s or "Industry" in s for s in sentences), sentences
    assert not any("custom.cf_" in s for s in sentences)
    # Fields are asked for once per directory, whatever comes next.
    await world.pages(20)
    assert await world.directory.settle()
    assert world.lookups()["custom_field"] == 2


async def test_a_field_list_that_is_off_is_not_asked_again_and_says_names_limited() -> None:
    world = World(endpoints_off={"custom_field": 405})
    await world.pages(3)
    assert await world.directory.settle()
    assert world.lookups()["custom_field"] == 1
    assert world.directory.off["custom_field"] == 405
    deleted = world.emulator.lookups.deleted_field_id
    assert deleted not in world.directory.names()  # not claimed deleted: we do not know
    assert world.directory.limited and world.directory.status_text == "names limited"
    await world.pages(10)
    assert await world.directory.settle()
    assert world.lookups()["custom_field"] == 1


async def test_a_server_without_search_falls_back_to_one_get_per_lead_within_budget() -> None:
    world = World(endpoints_off={"search": 404}, rate_limit=20)
    inner = world.transport
    sent_at: list[float] = []

    async def timed(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/v1/lead/"):
            sent_at.append(world.monotonic())
        return await inner.handle_async_request(request)

    world.transport = httpx.MockTransport(timed)
    world.client = world.make_client()
    world.directory = Directory(world.client, monotonic=world.monotonic, sleep=world.sleep)
    shown = await world.pages(4)
    assert await world.directory.settle(timeout=600)
    assert world.lookups()["data"] == 1  # asked once, then remembered as off
    paths = [r.path for r in world.requests("lead/")]
    assert len(paths) == len(set(paths))  # each lead at most once
    assert len(paths) <= len({e.lead_id for e in shown if e.lead_id})
    # Paced: at most the share (10 % of 20 = 2) in any one-second window.
    assert len(sent_at) > 4
    assert max(sum(1 for t in sent_at if start <= t < start + 1.0) for start in sent_at) <= 2
    assert not [r for r in world.emulator.request_log if r.status == 429]
    assert world.directory.off == {"search": 404}
    alive = set(world.emulator.leads)
    assert not {lid for lid in unnamed_leads(world.directory, shown) if lid in alive}


async def test_a_server_without_search_or_lead_causes_no_request_storm() -> None:
    world = World(endpoints_off={"search": 404, "lead": 404})
    shown = await world.pages(10)
    assert await world.directory.settle(timeout=600)
    await world.pages(10)
    assert await world.directory.settle(timeout=600)
    counts = world.lookups()
    assert counts["data"] == 1
    assert counts["lead"] == 3  # three 404s and no lead found: the endpoint is taken as gone
    assert world.directory.off == {"search": 404, "lead": 404}
    assert unnamed_leads(world.directory, shown)  # names fall back to ids...
    assert world.directory.failures == 0  # ...quietly
    assert world.directory.limited


async def test_search_by_many_ids_refused_falls_back_to_gets_and_the_finder_still_works() -> None:
    world = World()
    inner = world.transport

    async def refuse_or_queries(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and b'"type":"or"' in request.content.replace(b" ", b""):
            return httpx.Response(400, json={"error": "or of ids not supported"})
        return await inner.handle_async_request(request)

    world.transport = httpx.MockTransport(refuse_or_queries)
    world.client = world.make_client()
    # No up-front search of recent leads: every lead goes through the id batches here.
    world.directory = Directory(world.client, monotonic=world.monotonic, sleep=world.sleep,
                                recent_leads=0)
    shown = await world.pages(2)
    assert await world.directory.settle(timeout=600)
    assert world.requests("lead/")
    assert world.directory.off == {}
    alive = set(world.emulator.leads)
    assert not {lid for lid in unnamed_leads(world.directory, shown) if lid in alive}
    name = next(iter(world.emulator.leads.values()))["display_name"]
    found = await world.directory.search_leads(name)
    assert found and any(m.name == name for m in found)


async def test_lookups_in_a_shared_bucket_never_cause_a_429_on_event_queries() -> None:
    """One budget for everything (a server that does not group its limits): event
    queries that keep within the limit minus the look-ups' share (18 of 20) never meet
    a 429, however busy the directory is."""
    world = World(rate_limit=20, rate_groups=False, n_leads=60)
    pager = world.client.pager(EventFilter())
    page: list[Event] = []
    for _ in range(150):
        rate = world.client.rate_limit
        if rate is not None and rate.remaining is not None and rate.remaining <= 2:
            await world.sleep(rate.seconds_until_reset(world.monotonic()))  # next window
        if pager.exhausted:
            await world.client.get_event(page[0].id)
        else:
            page = await pager.next_page() or page
            world.directory.see(page)
        await asyncio.sleep(0)
    assert await world.directory.settle(timeout=600)
    assert sum(world.lookups().values()) >= 3  # the directory did work meanwhile
    assert not [r for r in world.emulator.request_log if r.status == 429]


async def test_lookups_wait_while_event_queries_are_near_their_limit() -> None:
    world = World(rate_limit=20, rate_groups=False)
    world.clock.set(datetime(2026, 11, 20, 12, 0, 0, 100000, tzinfo=UTC))
    waits: list[float] = []
    release = asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        waits.append(seconds)
        await release.wait()
        await world.sleep(seconds)

    world.directory = Directory(world.client, monotonic=world.monotonic, sleep=held_sleep)
    pager = world.client.pager(EventFilter())
    page = await pager.next_page()
    for _ in range(17):
        await world.client.get_event(page[0].id)
    before = len(world.emulator.request_log)
    world.directory.see(page)
    for _ in range(5):
        await asyncio.sleep(0)
    # 2 left in this window: the look-ups leave them to the event queries.
    assert world.emulator.request_log[before:] == []
    assert waits == [pytest.approx(0.9)]  # until the window resets
    assert world.directory.limited  # waiting for budget: "names limited"
    await world.client.get_event(page[0].id)
    await world.client.get_event(page[0].id)
    world.clock.advance(0.9)
    release.set()
    assert await world.directory.settle(timeout=60)
    assert len(world.emulator.request_log) > before + 2
    assert not [r for r in world.emulator.request_log if r.status == 429]
    assert not world.directory.limited


async def test_the_lead_finder_caches_and_the_newest_text_wins() -> None:
    world = World()
    lead = next(iter(world.emulator.leads.values()))
    word = lead["display_name"].split()[0]
    gate = asyncio.Event()
    inner = world.transport

    async def slow(request: httpx.Request) -> httpx.Response:
        await gate.wait()
        return await inner.handle_async_request(request)

    world.transport = httpx.MockTransport(slow)
    world.client = world.make_client()
    directory = Directory(world.client, monotonic=world.monotonic, sleep=world.sleep)
    first = asyncio.ensure_future(directory.search_leads(word[:2]))
    await asyncio.sleep(0)
    middle = asyncio.ensure_future(directory.search_leads(word[:3]))
    newest = asyncio.ensure_future(directory.search_leads(word))
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(first, middle, newest)
    assert results[1] is None  # superseded before it was sent
    assert results[0] is not None and results[2] is not None
    assert any(m.id == lead["id"] and m.name == lead["display_name"] for m in results[2])
    assert all(isinstance(m, LeadMatch) and m.status for m in results[2])
    searches = len(world.emulator.lookups.searches)
    assert searches == 2  # one in flight at a time, the middle one never sent
    again = await directory.search_leads(f"  {word.upper()} ")
    assert again == results[2] and len(world.emulator.lookups.searches) == searches
    assert directory.name(lead["id"]) == lead["display_name"]  # found leads are named


async def test_the_finder_falls_back_to_a_text_mode_the_server_accepts() -> None:
    world = World()
    inner = world.transport

    async def no_prefix_mode(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and b"beginning_of_words" in request.content:
            return httpx.Response(400, json={"error": "unknown mode"})
        return await inner.handle_async_request(request)

    world.transport = httpx.MockTransport(no_prefix_mode)
    world.client = world.make_client()
    directory = Directory(world.client, monotonic=world.monotonic, sleep=world.sleep)
    lead = next(iter(world.emulator.leads.values()))
    found = await directory.search_leads(lead["display_name"])
    assert found is not None and lead["id"] in {m.id for m in found}
    modes = [json.dumps(b) for b in world.emulator.lookups.searches]
    assert any('"phrase"' in m for m in modes)
    await directory.search_leads(lead["display_name"].split()[0])
    last = world.emulator.lookups.searches[-1]
    assert last["query"]["queries"][1]["condition"]["mode"] == "phrase"  # remembered


async def test_the_finder_without_search_says_why_and_never_raises() -> None:
    world = World(endpoints_off={"search": 403})
    assert await world.directory.search_leads("acme") == []
    assert await world.directory.search_leads("other") == []
    assert world.lookups()["data"] == 1
    assert "not available" in world.directory.finder_note


@pytest.mark.parametrize("answer", [
    lambda r: httpx.Response(500, json={"error": "boom"}),
    lambda r: httpx.Response(200, content=b"<html>", headers={"content-type": "text/html"}),
    lambda r: httpx.Response(200, json={"data": "not a list"}),
    lambda r: httpx.Response(200, json=[1, 2]),
])
async def test_nothing_a_server_answers_makes_the_directory_raise(
    answer: Callable[[httpx.Request], httpx.Response],
) -> None:
    world = World()
    page = await world.pages(1)
    broken = Directory(
        CloseClient("http://127.0.0.1:9/api/v1", api_key="api_x.y",
                    transport=httpx.MockTransport(answer),
                    retry=RetryPolicy(max_attempts=1), sleep=world.sleep,
                    monotonic=world.monotonic),
        monotonic=world.monotonic, sleep=world.sleep,
    )
    broken.see(page)
    assert await broken.settle(timeout=600)
    assert await broken.resolve_leads([e.lead_id for e in page if e.lead_id]) == {
        i: n for i, n in broken.names().items() if i.startswith("lead_")
        and i in {e.lead_id for e in page}
    }
    assert await broken.search_leads("acme") == []
    assert await broken.users() == {}
    assert broken.failures >= 1


async def test_refresh_asks_the_lists_again_and_reset_forgets_endpoints() -> None:
    world = World(endpoints_off={"search": 404})
    await world.pages(2)
    assert await world.directory.settle(timeout=600)
    before = world.lookups()
    await world.directory.refresh()
    after = world.lookups()
    assert after["custom_field"] == before["custom_field"] * 2
    assert after["organization"] == before["organization"] + 1
    assert "search" in world.directory.off
    world.directory.reset()
    assert world.directory.off == {} and not world.directory.names()


async def test_statuses_are_asked_only_for_ids_no_payload_labels() -> None:
    world = World()
    await world.pages(3)
    assert await world.directory.settle()
    assert world.lookups()["status"] == 0  # payloads carried every label
    status_id, label = world.emulator.sim.opp_statuses[0][:2]
    listed = world.emulator.lookups.data.opportunity_statuses
    unknown = next(s for s in listed if world.directory.name(s["id"]) is None)
    bare = Event.model_validate({
        "id": "ev_1", "date_created": "2026-11-20T11:00:00", "date_updated":
        "2026-11-20T11:00:00", "object_type": "opportunity", "action": "updated",
        "changed_fields": ["status_id"], "lead_id": None,
        "data": {"status_id": unknown["id"]},
        "previous_data": {"status_id": status_id},
    })
    world.directory.see([bare])
    assert await world.directory.settle()
    assert world.lookups()["status"] == 1
    assert world.directory.name(unknown["id"]) == unknown["label"]
    assert summarize(bare, world.directory.names()) == (
        f"Opportunity {label} → {unknown['label']}"
    )
    world.directory.see([bare])
    assert await world.directory.settle()
    assert world.lookups()["status"] == 1


async def test_users_do_not_wait_for_lead_batches_that_are_still_coalescing() -> None:
    world = World()
    page = await world.pages(1)
    assert await world.directory.settle()  # the world's own directory is done
    start = len(world.emulator.lookups.searches)
    held = asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        await held.wait()  # the lead batch waits for more pages: until the test says
        await world.sleep(seconds)

    directory = Directory(world.client, monotonic=world.monotonic, sleep=held_sleep,
                          recent_leads=0)
    directory.see(page)
    names = await asyncio.wait_for(directory.users(), timeout=10)
    assert names[world.emulator.sim.admin_user] == world.emulator.sim.user_names[
        world.emulator.sim.admin_user]
    assert len(world.emulator.lookups.searches) == start  # the leads are still waiting
    assert [m.id for m in await directory.search_users("")] == []
    held.set()
    assert await directory.settle()
