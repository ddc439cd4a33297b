"""The export engine, in-process against the emulator: exactness, order, snapshot, pacing.

Time is virtual: the client's and the exporter's ``monotonic`` read the emulator's
FakeClock and their ``sleep`` advances it, so backoff, rate windows and pacing waits cost
nothing and no assertion depends on real time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.dates import parse_api_datetime, to_api_datetime
from close_tui.core.exporter import ExportOptions, ExportResult, export_events
from close_tui.core.filters import DOCUMENTED_COMBINATIONS, EventFilter
from close_tui.core.models import Event
from close_tui.core.progress import ExportProgress
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


class VirtualTime:
    """One clock for the emulator, the client and the exporter; sleeping moves it."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.clock().timestamp()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.clock.advance(seconds)
            self.slept += seconds
        await asyncio.sleep(0)


class Sink:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def write(self, event: Event) -> None:
        self.events.append(event.to_api())


def make_world(**config: Any) -> tuple[Emulator, VirtualTime]:
    clock = FakeClock(NOW)
    return Emulator(EmulatorConfig(**config), clock=clock), VirtualTime(clock)


def client_for(em: Emulator, vt: VirtualTime, *, transport: Any = None) -> CloseClient:
    return CloseClient(
        "https://emulator.test/api/v1",
        api_key=em.admin_key,
        transport=transport or em.transport(),
        retry=RetryPolicy(max_attempts=12),
        sleep=vt.sleep,
        monotonic=vt.monotonic,
    )


async def run_export(
    em: Emulator,
    vt: VirtualTime,
    flt: EventFilter,
    options: ExportOptions,
    **kw: Any,
) -> tuple[list[dict[str, Any]], ExportResult]:
    sink = Sink()
    async with client_for(em, vt) as client:
        result = await export_events(
            client, flt, sink, options=options, monotonic=vt.monotonic, sleep=vt.sleep, **kw
        )
    return sink.events, result


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Emulator, VirtualTime]]:
    """The default organization (~22k events) with its own advancing clock."""
    yield make_world()


@pytest.fixture(scope="module")
def faulty_world() -> Iterator[tuple[Emulator, VirtualTime]]:
    """The same organization behind a server that fails 15 % of requests."""
    yield make_world(fault_rate=0.15)


def combination_params(em: Emulator) -> list[dict[str, str]]:
    """One real query per supported combination (plus none and dates only)."""
    events = em.events()
    note = next(
        e for e in events
        if e["object_type"] == "activity.note" and e["action"] == "updated" and e["user_id"]
    )
    values = {
        "lead_id": note["lead_id"],
        "user_id": note["user_id"],
        "object_type": note["object_type"],
        "object_id": note["object_id"],
        "action": note["action"],
        "request_id": note["request_id"],
    }
    queries: list[dict[str, str]] = [
        {},
        {"date_updated__gte": "2026-11-12", "date_updated__lt": "2026-11-14T06:00:00"},
    ]
    for combo in DOCUMENTED_COMBINATIONS:
        queries.append({name: values[name] for name in sorted(combo)})
    # a documented combination with a date range too
    queries.append({"user_id": note["user_id"], "date_updated__gte": "2026-11-10T08:00:00"})
    return queries


def test_every_combination_sequential_and_parallel_equals_the_truth(
    world: tuple[Emulator, VirtualTime],
) -> None:
    em, vt = world
    for params in combination_params(em)[2:]:  # the big ones have their own tests
        truth = em.expected(params)
        flt = EventFilter.from_params(params)
        for parallel in (1, 3):
            got, result = asyncio.run(run_export(em, vt, flt, ExportOptions(parallel=parallel)))
            assert got == truth, (params, parallel)
            assert result.events == len(truth)


def test_whole_organization_in_parallel_equals_the_truth(
    world: tuple[Emulator, VirtualTime],
) -> None:
    """(Sequentially, the whole organization is exported by the fault tests below.)"""
    em, vt = world
    parallel = 4
    truth = em.expected({})
    assert len(truth) > 20_000
    got, result = asyncio.run(run_export(em, vt, EventFilter(), ExportOptions(parallel=parallel)))
    assert [e["id"] for e in got] == [e["id"] for e in truth]
    assert got == truth
    assert result.duplicates == 0
    assert result.bounds.until_inclusive and result.bounds.since is None
    assert result.windows >= parallel


def test_date_range_export_equals_the_truth(world: tuple[Emulator, VirtualTime]) -> None:
    em, vt = world
    params = {"date_updated__gte": "2026-11-12", "date_updated__lt": "2026-11-14T06:00:00"}
    truth = em.expected(params)
    got, result = asyncio.run(
        run_export(em, vt, EventFilter.from_params(params), ExportOptions(parallel=4))
    )
    assert got == truth
    assert result.bounds.until == parse_api_datetime("2026-11-14T06:00:00")
    assert not result.bounds.until_inclusive
    assert result.bounds.since == parse_api_datetime("2026-11-12")


@pytest.mark.parametrize("parallel", [1, 4])
def test_fifteen_percent_faults_change_nothing(
    faulty_world: tuple[Emulator, VirtualTime], parallel: int
) -> None:
    em, vt = faulty_world
    truth = em.expected({})
    got, result = asyncio.run(run_export(em, vt, EventFilter(), ExportOptions(parallel=parallel)))
    assert got == truth
    assert result.retries > 0
    faults = [r for r in em.request_log if r.fault]
    assert faults


def test_faults_with_a_filter_and_dates(faulty_world: tuple[Emulator, VirtualTime]) -> None:
    em, vt = faulty_world
    params = combination_params(em)[-1]
    truth = em.expected(params)
    for parallel in (1, 3):
        got, _ = asyncio.run(
            run_export(em, vt, EventFilter.from_params(params), ExportOptions(parallel=parallel))
        )
        assert got == truth


def test_later_windows_spill_to_disk_and_stay_in_order(
    world: tuple[Emulator, VirtualTime],
) -> None:
    em, vt = world
    params = {"date_updated__gte": "2026-11-16"}
    truth = em.expected(params)
    got, result = asyncio.run(
        run_export(
            em, vt, EventFilter.from_params(params),
            ExportOptions(parallel=4, memory_budget=20_000),
        )
    )
    assert result.spilled > 0
    assert got == truth


def test_snapshot_bound_is_the_server_clock_at_the_start() -> None:
    em, vt = make_world(n_leads=30, n_users=6, live=True)
    seen: list[Any] = []

    async def go() -> tuple[list[dict[str, Any]], ExportResult]:
        sink = Sink()
        async with client_for(em, vt) as client:

            def on_progress(p: ExportProgress) -> None:
                vt.clock.advance(7)  # the organization keeps changing while we export
                seen.append(p)

            result = await export_events(
                client, EventFilter(), sink, options=ExportOptions(parallel=2),
                monotonic=vt.monotonic, sleep=vt.sleep, on_progress=on_progress,
                on_start=seen.append,
            )
        return sink.events, result

    got, result = asyncio.run(go())
    assert result.bounds.until == NOW  # the Date header at the start (plus no time)
    # One cheap request for the clock, then every page carries the fixed bound.
    first, *pages = [r for r in em.request_log if r.path.endswith("/event/")]
    assert first.params["_limit"] == "1" and "date_updated__lt" not in first.params
    bound = NOW + timedelta(microseconds=1)
    uppers = {parse_api_datetime(r.params["date_updated__lt"]) for r in pages}
    assert max(uppers) == bound  # the newest window; older ones end where the next begins
    assert seen[0] == result.bounds
    assert all(parse_api_datetime(e["date_updated"]) <= NOW for e in got)
    assert em.expected({"date_updated__lte": to_api_datetime(NOW)}) == got
    assert len(em.events()) > len(got)  # newer events arrived and were left out
    assert seen[-1].done and seen[-1].covered == 1.0


def test_a_known_server_clock_needs_no_extra_request() -> None:
    em, vt = make_world(n_leads=30, n_users=6)

    async def go() -> ExportResult:
        async with client_for(em, vt) as client:
            await client.me()
            em.request_log.clear()
            return await export_events(
                client, EventFilter(), Sink(), monotonic=vt.monotonic, sleep=vt.sleep
            )

    result = asyncio.run(go())
    assert result.requests == len(em.request_log) == result.pages


def test_max_events_makes_one_request_for_a_small_n() -> None:
    em, vt = make_world(n_leads=30, n_users=6)

    async def go() -> tuple[list[dict[str, Any]], ExportResult]:
        sink = Sink()
        async with client_for(em, vt) as client:
            await client.me()
            em.request_log.clear()
            result = await export_events(
                client, EventFilter(), sink, options=ExportOptions(max_events=7),
                monotonic=vt.monotonic, sleep=vt.sleep,
            )
        return sink.events, result

    got, result = asyncio.run(go())
    assert got == em.expected({})[:7]
    assert result.truncated
    assert len(em.request_log) == 1 and em.request_log[0].params["_limit"] == "7"


def test_max_events_with_parallel_windows() -> None:
    em, vt = make_world(n_leads=30, n_users=6)
    got, _result = asyncio.run(
        run_export(em, vt, EventFilter(), ExportOptions(parallel=3, max_events=120))
    )
    assert got == em.expected({})[:120]


def test_a_rate_limited_server_sees_few_429s_and_the_export_is_exact() -> None:
    em, vt = make_world(n_leads=30, n_users=6, rate_limit=10)
    truth = em.expected({})
    got, _result = asyncio.run(
        run_export(em, vt, EventFilter(), ExportOptions(parallel=6, max_rate=10))
    )
    assert got == truth
    statuses = [r.status for r in em.request_log]
    assert statuses.count(429) <= 0.02 * len(statuses)


def test_the_default_pace_keeps_headroom_for_other_integrations() -> None:
    em, vt = make_world(n_leads=30, n_users=6, rate_limit=10)
    start = vt.monotonic()
    got, _ = asyncio.run(run_export(em, vt, EventFilter(), ExportOptions(parallel=6)))
    assert got == em.expected({})
    log = [r for r in em.request_log if r.status != 429]
    assert not [r for r in em.request_log if r.status == 429]
    # 80 % of 10 requests/s: the virtual time spent shows the pace held.
    assert len(log) / (vt.monotonic() - start) <= 8.5


def _crafted_transport(events: list[dict[str, Any]]) -> httpx.MockTransport:
    """A server with a fixed list (newest first), one page per query, honouring the
    date range: enough to replay an event met twice, as consolidation can cause."""

    def handle(request: httpx.Request) -> httpx.Response:
        p = request.url.params
        lo = parse_api_datetime(p["date_updated__gte"]) if "date_updated__gte" in p else None
        hi = parse_api_datetime(p["date_updated__lt"]) if "date_updated__lt" in p else None
        hits = [
            e for e in events
            if (lo is None or parse_api_datetime(e["date_updated"]) >= lo)
            and (hi is None or parse_api_datetime(e["date_updated"]) < hi)
        ]
        body = {"data": hits[: int(p.get("_limit", "50"))], "cursor_next": None,
                "cursor_previous": None}
        return httpx.Response(200, json=body, headers={"Date": "Fri, 20 Nov 2026 12:00:00 GMT"})

    return httpx.MockTransport(handle)


@pytest.mark.parametrize("parallel", [1, 2])
def test_an_event_met_twice_is_written_once_in_its_newest_form(parallel: int) -> None:
    em, vt = make_world(n_leads=30, n_users=6)
    base = em.expected({})[:6]
    newer = dict(base[4], date_updated="2026-11-20T11:59:59.000000",
                 changed_fields=["note", "custom.cf_x"])
    events = sorted([*base, newer], key=lambda e: e["date_updated"], reverse=True)
    assert len({e["id"] for e in events}) == 6

    async def go() -> tuple[list[dict[str, Any]], ExportResult]:
        sink = Sink()
        async with client_for(em, vt, transport=_crafted_transport(events)) as client:
            result = await export_events(
                client, EventFilter(date_updated__gte=NOW - timedelta(days=2)), sink,
                options=ExportOptions(parallel=parallel), monotonic=vt.monotonic,
                sleep=vt.sleep,
            )
        return sink.events, result

    got, result = asyncio.run(go())
    assert [e["id"] for e in got] == [e["id"] for e in events if e is not base[4]]
    assert newer in got and base[4] not in got
    assert result.duplicates == 1


def test_cancelling_the_task_stops_the_export_and_restores_the_client() -> None:
    em, vt = make_world(n_leads=60, n_users=6)

    async def go() -> None:
        async with client_for(em, vt) as client:
            task: asyncio.Task[ExportResult] | None = None

            def on_progress(p: ExportProgress) -> None:
                if p.pages >= 5 and task is not None:
                    task.cancel()

            task = asyncio.create_task(
                export_events(
                    client, EventFilter(), Sink(), options=ExportOptions(parallel=3),
                    on_progress=on_progress, monotonic=vt.monotonic, sleep=vt.sleep,
                )
            )
            with pytest.raises(asyncio.CancelledError):
                await task
            assert len(client.retry_listeners) == 0
            before = len(em.request_log)
            await asyncio.sleep(0)
            assert len(em.request_log) == before  # nothing keeps running

    asyncio.run(go())


def test_progress_reports_coverage_and_ends_done(world: tuple[Emulator, VirtualTime]) -> None:
    em, vt = world
    reports: list[ExportProgress] = []
    asyncio.run(
        run_export(
            em, vt, EventFilter.from_params({"date_updated__gte": "2026-11-17"}),
            ExportOptions(parallel=3), on_progress=reports.append,
        )
    )
    covered = [r.covered for r in reports]
    assert covered[-1] == 1.0 and reports[-1].done
    assert 0 < covered[len(covered) // 2] < 1
    assert reports[-1].events == len(em.expected({"date_updated__gte": "2026-11-17"}))
    assert all(b.events >= a.events for a, b in itertools.pairwise(reports))


def test_jsonl_written_by_the_engine_round_trips(world: tuple[Emulator, VirtualTime]) -> None:
    import io

    from close_tui.core.export import open_writer

    em, vt = world
    params = next(q for q in combination_params(em) if set(q) == {"lead_id"})
    stream = io.StringIO()

    async def go() -> None:
        async with client_for(em, vt) as client:
            writer = open_writer("jsonl", stream)
            await export_events(
                client, EventFilter.from_params(params), writer,
                options=ExportOptions(parallel=2), monotonic=vt.monotonic, sleep=vt.sleep,
            )
            writer.close()

    asyncio.run(go())
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines == em.expected(params)




@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json", "table"])
def test_buffered_windows_write_the_same_bytes_as_a_sequential_export(
    world: tuple[Emulator, VirtualTime], fmt: str
) -> None:
    """Later windows are rendered ahead (or kept as events, for the table) and spilled;
    the file must not differ by a byte from the sequential one."""
    import io

    from close_tui.core.export import open_writer

    em, vt = world
    flt = EventFilter.from_params({"date_updated__gte": "2026-11-18"})

    async def export(options: ExportOptions) -> tuple[str, ExportResult]:
        stream = io.StringIO()
        async with client_for(em, vt) as client:
            writer = open_writer(fmt, stream)
            result = await export_events(
                client, flt, writer, options=options, monotonic=vt.monotonic, sleep=vt.sleep
            )
            writer.close()
        return stream.getvalue(), result

    sequential, _ = asyncio.run(export(ExportOptions()))
    parallel, result = asyncio.run(export(ExportOptions(parallel=4, memory_budget=30_000)))
    assert result.spilled > 0
    assert parallel == sequential
