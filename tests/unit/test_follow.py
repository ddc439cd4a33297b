"""Live follow against the emulator's live mode: nothing missed, nothing doubled.

The emulator's live mode makes new events every (fake) second, makes some visible late
(up to ~2 minutes after their ``date_updated``) and consolidates recent updates in place
(same id, newer ``date_updated``). The follower re-scans the last five minutes on every
poll; these tests advance the FakeClock between polls and compare what a table fed by the
follower holds with the emulator's truth.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.dates import parse_api_datetime, to_api_datetime
from close_tui.core.errors import RateLimited
from close_tui.core.filters import EventFilter
from close_tui.core.follow import MAX_INTERVAL, FollowBatch, Follower, follow_filter
from close_tui.core.ratelimit import RateLimit
from close_tui.emulator import Emulator, FakeClock

MakeEmulator = Callable[..., tuple[Emulator, FakeClock]]


async def no_sleep(_: float) -> None:
    return None


def client_for(em: Emulator, attempts: int = 3) -> CloseClient:
    return CloseClient(
        "http://127.0.0.1:9/api/v1",
        api_key=em.admin_key,
        transport=em.transport(),
        retry=RetryPolicy(max_attempts=attempts, base_delay=0.0, jitter=0.0),
        sleep=no_sleep,
    )


def stamp(raw: dict[str, Any]) -> float:
    return parse_api_datetime(raw["date_updated"]).timestamp()


class FakeTable:
    """What the app's table does with batches: upsert by id, newest first."""

    def __init__(self) -> None:
        self.rows: dict[str, float] = {}
        self.inserted: list[str] = []

    def shown(self, event_id: str) -> float | None:
        return self.rows.get(event_id)

    def apply(self, batch: FollowBatch) -> None:
        for event in batch.new:
            assert event.id not in self.rows, f"{event.id} reported new twice"
            self.rows[event.id] = event.date_updated.timestamp()
            self.inserted.append(event.id)
        for event in batch.updated:
            assert event.id in self.rows, f"{event.id} updated before it was new"
            assert event.date_updated.timestamp() > self.rows[event.id]
            self.rows[event.id] = event.date_updated.timestamp()


@pytest.mark.parametrize("by_user", [False, True], ids=["all-events", "one-user"])
async def test_follow_ends_equal_to_the_truth(make_emulator: MakeEmulator, by_user: bool) -> None:
    em, clock = make_emulator(live=True)
    flt = EventFilter(user_id=em.users[1]["id"]) if by_user else EventFilter()
    client = client_for(em)
    table = FakeTable()
    follower = Follower(client, flt, clock=clock, shown=table.shown)
    updated = late = 0
    previous_poll: datetime | None = None
    async with client:
        for step in range(150):  # 150 polls, 4-9 s apart: ~16 minutes of live traffic
            batch = await follower.poll()
            table.apply(batch)
            updated += len(batch.updated)
            if previous_poll is not None:
                # New now, yet dated before the previous poll: it became visible late.
                late += sum(1 for e in batch.new if e.date_updated < previous_poll)
            previous_poll = clock()
            clock.advance(4 + step % 6)
        table.apply(await follower.poll())  # the last poll sees what the truth sees
    assert follower.started_since is not None
    since = to_api_datetime(follower.started_since)
    truth = {e["id"]: stamp(e) for e in em.expected({**flt.to_params(),
                                                     "date_updated__gte": since})}
    assert len(truth) >= (40 if by_user else 100)
    missing = set(truth) - set(table.rows)
    assert not missing, f"{len(missing)} events missed"
    stale = {i for i in truth if table.rows[i] != truth[i]}
    assert not stale, f"{len(stale)} events shown with an old date_updated"
    assert len(table.inserted) == len(set(table.inserted))  # never doubled
    # Everything shown belongs to the filter (and to the truth, once in the window).
    assert set(table.rows) <= set(truth)
    if not by_user:
        assert updated > 0, "no consolidated event was met: the test proves less than it says"
        assert late > 0, "no late-visible event was met"
    # The seen map stays bounded by the window, not by the whole follow.
    assert len(follower.seen) < len(truth)


async def test_events_already_shown_are_not_new(make_emulator: MakeEmulator) -> None:
    em, clock = make_emulator(live=True)
    client = client_for(em)
    async with client:
        first_page = await client.list_page(EventFilter())
        table = FakeTable()
        for event in first_page.data:
            table.rows[event.id] = event.date_updated.timestamp()
        follower = Follower(client, EventFilter(), clock=clock, shown=table.shown)
        batch = await follower.poll()
    assert not {e.id for e in batch.new} & set(table.rows)


def test_follow_filter_keeps_the_tighter_lower_bound() -> None:
    since = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert follow_filter(EventFilter(lead_id="lead_x"), since) == EventFilter(
        lead_id="lead_x", date_updated__gte=since
    )
    later = since + timedelta(minutes=1)
    assert follow_filter(EventFilter(date_updated__gte=later), since).date_updated__gte == later
    assert follow_filter(EventFilter(date_updated__gt=since - timedelta(days=1)), since) == (
        EventFilter(date_updated__gte=since)
    )


class _Client:
    """A stand-in client whose pager raises what we tell it to."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.rate_limit: RateLimit | None = None
        self.failure = failure

    def server_time(self) -> datetime | None:
        return datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    def pager(self, flt: EventFilter, limit: int = 50) -> Any:
        outer = self

        class Pager:
            exhausted = False

            async def next_page(self) -> list[Any]:
                if outer.failure is not None:
                    raise outer.failure
                self.exhausted = True
                return []

        return Pager()


class _Stop(Exception):
    pass


async def test_429_slows_the_poll_down_and_recovers() -> None:
    client = _Client(RateLimited("rate limited 429", retry_after=7.0))
    follower = Follower(client, EventFilter(), interval=2.0)  # type: ignore[arg-type]
    delays: list[float] = []
    errors: list[Exception] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 3:
            client.failure = None  # the server has calmed down
        if len(delays) == 6:
            raise _Stop

    with pytest.raises(_Stop):
        await follower.run(lambda _: None, sleep=sleep, on_error=errors.append)
    assert len(errors) == 3
    assert delays[0] >= 7.0 and delays[1] >= delays[0] and delays[2] >= 8.0
    assert all(d <= MAX_INTERVAL for d in delays)
    assert delays[-1] < delays[2]  # clean polls bring the interval back down
    assert delays[-1] == 2.0 or delays[-1] < delays[-2]


def test_an_exhausted_budget_waits_for_the_reset() -> None:
    client = _Client()
    follower = Follower(client, EventFilter(), interval=1.0)  # type: ignore[arg-type]
    assert follower.next_delay() == 1.0
    client.rate_limit = RateLimit(limit=20, remaining=0, reset=4.5, observed_at=0.0)
    assert follower.next_delay() == 4.5


async def test_a_real_429_from_the_emulator_backs_off(make_emulator: MakeEmulator) -> None:
    em, clock = make_emulator(live=True, rate_limit=1, rate_window=10.0)
    client = client_for(em, attempts=1)  # no client-side retry: the follower must cope
    follower = Follower(client, EventFilter(), interval=1.0, clock=clock)
    delays: list[float] = []
    failures: list[Exception] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 4:
            raise _Stop

    async with client:
        with pytest.raises(_Stop):
            await follower.run(lambda _: None, sleep=sleep, on_error=failures.append)
    assert any(isinstance(f, RateLimited) for f in failures)
    assert max(delays) > 1.0
    assert any(r.status == 429 for r in em.request_log)
