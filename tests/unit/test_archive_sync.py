"""``sync_archive`` against the emulator: the truth, live traffic, interruptions, two syncs
at once, another organization's key, and payloads a non-admin key could not read.

Time is virtual (the emulator's FakeClock drives the client, the export engine's pacing
and live mode), so minutes of live traffic cost milliseconds.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from close_tui.core import jsonnum
from close_tui.core.archive.errors import ArchiveLocked, OrganizationMismatch
from close_tui.core.archive.lock import sync_lock
from close_tui.core.archive.store import ArchiveStore, to_us
from close_tui.core.archive.sync import SyncOptions, SyncResult, sync_archive
from close_tui.core.errors import NetworkError
from close_tui.emulator import Emulator, FakeClock
from tests.unit.archive_support import VirtualTime, client_for, stored, truth

MakeEmulator = Callable[..., tuple[Emulator, FakeClock]]
#: Small batches, so an interruption falls between commits.
OPTIONS = SyncOptions(batch_size=100)
#: A small organization (~1,400 events) for the tests that sync it several times.
SMALL = {"n_leads": 10, "n_users": 4}


async def sync(
    em: Emulator,
    clock: FakeClock,
    path: Path,
    *,
    key: str = "admin",
    transport: Any = None,
    attempts: int = 6,
    options: SyncOptions = OPTIONS,
) -> SyncResult:
    vt = VirtualTime(clock)
    async with client_for(em, vt, key=key, transport=transport, attempts=attempts) as client:
        return await sync_archive(
            client, path, options=options, monotonic=vt.monotonic, sleep=vt.sleep, clock=clock
        )


def requests_since(em: Emulator, before: int) -> int:
    return len(em.request_log) - before


def integrity(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


async def test_the_first_sync_equals_the_truth_and_covers_30_days(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    em, clock = make_emulator()
    path = tmp_path / "a.sqlite3"
    start = clock()
    result = await sync(em, clock, path)
    assert result.server_time == start
    assert stored(path) == truth(em)  # same ids, the same JSON byte for byte
    assert result.counts.inserted == len(truth(em)) > 1000
    assert result.requests == len(em.request_log)
    with ArchiveStore(path) as store:
        assert store.coverage() == [(to_us(start - timedelta(days=30)), to_us(start))]
        assert store.organization_id == em.organization["id"]
        assert store.unindexed_count() == 0
        assert [run.status for run in store.runs()] == ["ok"]


async def test_a_sync_with_nothing_new_costs_two_requests(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    em, clock = make_emulator(**SMALL)
    path = tmp_path / "a.sqlite3"
    await sync(em, clock, path)
    clock.advance(60)
    before = len(em.request_log)
    result = await sync(em, clock, path)
    assert requests_since(em, before) == result.requests == 2  # /me/ and one page
    assert result.counts.written == 0
    assert [w.kind for w in result.windows] == ["recent"]


async def test_incremental_syncs_with_live_traffic_lose_nothing_and_double_nothing(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    em, clock = make_emulator(live=True)
    path = tmp_path / "a.sqlite3"
    await sync(em, clock, path)
    rng = random.Random(15)
    updated = 0
    costs = []
    for _ in range(25):
        clock.advance(rng.choice((7, 30, 90, 240, 600)))
        before = len(em.request_log)
        result = await sync(em, clock, path)
        cost = requests_since(em, before)
        # /me/, then a page per 50 events fetched (new ones and the five-minute re-scan;
        # the emulator's live organization is busy), plus a short page now and then.
        assert cost <= 3 + result.fetched // 50, (cost, result.fetched)
        costs.append(cost)
        updated += result.counts.updated
        assert integrity(path) == "ok"
    # The organization goes quiet (late events still pending stay invisible), and one more
    # sync catches up with the last snapshot: anything an earlier sync missed is older
    # than this one's window, so it would show here as missing or stale.
    em.events()
    em.config.live = False
    clock.advance(600)
    await sync(em, clock, path)
    expected = truth(em)
    assert stored(path) == expected  # newest forms, nothing missing, nothing extra
    assert updated > 0, "no consolidated event was met: the test proves less than it says"
    late = [
        i for i in expected
        if jsonnum.loads(expected[i])["date_updated"] != jsonnum.loads(expected[i])["date_created"]
    ]
    assert late, "no consolidated event in the truth"
    assert min(costs) == 2, costs


class FailAfter(httpx.AsyncBaseTransport):
    """Serves ``allowed`` requests, then the network goes away (or the sync is stopped)."""

    def __init__(self, em: Emulator, allowed: int, cancel: asyncio.Task[Any] | None = None):
        self.inner = em.transport()
        self.allowed = allowed
        self.cancel = cancel
        self.served = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.served >= self.allowed:
            if self.cancel is not None:
                self.cancel.cancel()
                await asyncio.sleep(0)
            raise httpx.ConnectError("emulated outage", request=request)
        self.served += 1
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("allowed", [1, 3, 9, 20])
async def test_an_interrupted_sync_leaves_whole_batches_and_the_next_completes_it(
    make_emulator: MakeEmulator, tmp_path: Path, allowed: int
) -> None:
    em, clock = make_emulator(**SMALL)
    path = tmp_path / "a.sqlite3"
    with pytest.raises(NetworkError):
        await sync(em, clock, path, transport=FailAfter(em, allowed), attempts=1)
    assert integrity(path) == "ok"
    expected = truth(em)
    partial = stored(path)
    assert set(partial.items()) <= set(expected.items())  # nothing invented or half-written
    assert len(partial) < len(expected)
    with ArchiveStore(path) as store:
        assert store.runs()[-1].status == "failed"
        assert store.holes(to_us(clock() - timedelta(days=30)), to_us(clock()))
    clock.advance(120)
    result = await sync(em, clock, path)
    assert stored(path) == expected
    if partial:
        assert "hole" in [w.kind for w in result.windows]
    with ArchiveStore(path) as store:
        assert store.unindexed_count() == 0
        top = result.server_time
        assert store.holes(to_us(top - timedelta(days=30)), to_us(top)) == []


async def test_a_cancelled_sync_keeps_what_it_stored_and_the_next_completes_it(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    em, clock = make_emulator(**SMALL)
    path = tmp_path / "a.sqlite3"

    async def run() -> None:
        task = asyncio.current_task()
        assert task is not None
        await sync(em, clock, path, transport=FailAfter(em, 15, cancel=task))

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(run())
    assert integrity(path) == "ok"
    partial = stored(path)
    assert 0 < len(partial) < len(truth(em))
    with ArchiveStore(path) as store:
        assert store.runs()[-1].detail == "interrupted"
    await sync(em, clock, path)
    assert stored(path) == truth(em)


async def test_two_syncs_at_once_one_is_refused_with_a_clear_line(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    em, clock = make_emulator(**SMALL)
    path = tmp_path / "a.sqlite3"
    results = await asyncio.gather(
        sync(em, clock, path), sync(em, clock, path), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, ArchiveLocked)]
    done = [r for r in results if isinstance(r, SyncResult)]
    assert len(refused) == 1 and len(done) == 1, results
    assert "another archive sync is running" in str(refused[0])
    assert "\n" not in str(refused[0])
    assert stored(path) == truth(em)
    # Released by the finished sync; held here, refused there.
    with sync_lock(path), pytest.raises(ArchiveLocked, match=r"\(process \d+\)"):
        await sync(em, clock, path)


async def test_another_organizations_key_is_refused_before_anything_is_written(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    em, clock = make_emulator(**SMALL)
    other, other_clock = make_emulator(seed=8, **SMALL)
    assert other.organization["id"] != em.organization["id"]
    path = tmp_path / "a.sqlite3"
    await sync(em, clock, path)
    before = stored(path)
    with pytest.raises(OrganizationMismatch) as refused:
        await sync(other, other_clock, path)
    message = str(refused.value)
    assert em.organization["id"] in message and other.organization["id"] in message
    assert "\n" not in message
    assert [r.path for r in other.request_log] == ["/api/v1/me/"]
    assert stored(path) == before


async def test_payloads_a_member_key_cannot_read_are_stored_absent_never_invented(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    em, clock = make_emulator(**SMALL)
    path = tmp_path / "a.sqlite3"
    await sync(em, clock, path, key="member")
    member_truth = truth(em, admin=False)
    assert stored(path) == member_truth
    raws = [jsonnum.loads(text) for text in member_truth.values()]
    hidden = [r for r in raws if "data" not in r]
    shown = [r for r in raws if "data" in r]
    assert hidden and shown  # older than an hour: absent; younger: present
    assert all("previous_data" not in r for r in hidden)
    young = {r["id"]: r for r in shown}
    # Two hours later those are hidden from this key too; the archive keeps what it saw.
    clock.advance(2 * 3600)
    await sync(em, clock, path, key="member")
    kept = {i: jsonnum.loads(t) for i, t in stored(path).items() if i in young}
    assert kept == young
    with ArchiveStore(path) as store:
        assert store.status(clock(), timedelta(days=30)).hidden_payloads == len(hidden)


async def test_a_sync_after_more_than_30_days_records_the_lost_gap(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    em, clock = make_emulator(**SMALL)
    path = tmp_path / "a.sqlite3"
    first = await sync(em, clock, path)
    clock.advance(40 * 86400)
    result = await sync(em, clock, path)
    reach = result.server_time - timedelta(days=30)
    assert [(w.kind, w.lo) for w in result.windows] == [("recent", reach)]
    with ArchiveStore(path) as store:
        status = store.status(result.server_time, timedelta(days=30))
    one = timedelta(microseconds=1)
    assert [(g.lost, g.lo, g.hi) for g in status.gaps] == [
        (True, first.server_time + one, reach - one)
    ]
