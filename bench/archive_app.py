"""What the explorer waits for on the archive: one page of 50 events, as the app gets it.

    python bench/archive_app.py --db ARCHIVE.sqlite3 [--pages 40]

``close-tui --archive`` pages through :class:`ArchivePager.next_page` (SQLite in a worker
thread via ``asyncio.to_thread``, then 50 JSON texts parsed into ``Event`` models). This
times that, page after page down to ``--pages`` deep, for filters the API accepts and
filters it refuses and a search, next to the SQLite read alone (``read_page``, what
``bench/archive.py`` measures) so the cost of the thread hop and the parsing is seen.
The budget is one frame at 60 Hz (16.7 ms). Build a big archive with
``python bench/archive.py --max-events 100000 --keep DIR`` (``DIR/archive.sqlite3``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from close_tui.core.archive.query import ArchiveFilter, PageCursor, read_page
from close_tui.core.archive.source import ArchivePager, ArchiveSource, event_from_raw
from close_tui.core.archive.store import ArchiveStore
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event

FRAME_MS = 1000 / 60


def filters(store: ArchiveStore) -> list[tuple[str, EventFilter]]:
    row = store.con.execute(
        "SELECT json_extract(raw, '$.user_id') FROM event "
        "WHERE json_extract(raw, '$.action') = 'deleted' "
        "AND json_extract(raw, '$.user_id') IS NOT NULL LIMIT 1"
    ).fetchone()
    user = row[0] if row else None
    cases: list[tuple[str, EventFilter]] = [
        ("no filter", EventFilter()),
        ("action=deleted (API refuses)", EventFilter(action="deleted")),
        ("search call", ArchiveFilter(search="call")),
    ]
    if user:
        cases.insert(2, ("user_id + action=deleted (API refuses)",
                         EventFilter(user_id=user, action="deleted")))
    return cases


class ParseOnLoop:
    """The alternative: SQLite in the thread, the 50 events parsed on the event loop
    (what ``ArchivePager`` did before it parsed in the thread as well)."""

    def __init__(self, source: ArchiveSource, flt: EventFilter) -> None:
        self.source, self.filter = source, flt
        self.cursor: PageCursor | None = None
        self.exhausted = False

    async def next_page(self) -> list[Event]:
        flt, cursor = self.filter, self.cursor
        page = await self.source._call(  # private, for the comparison only
            lambda store: read_page(store, flt, cursor, 50))
        self.cursor = page.cursor or self.cursor
        self.exhausted = not page.more
        return [event_from_raw(raw) for raw in page.raws]


async def app_pages(
    source: ArchiveSource, flt: EventFilter, pages: int, *, parse_on_loop: bool = False,
    idle: bool = False,
) -> tuple[list[float], list[float]]:
    """Milliseconds per ``next_page()``, and the event loop's stalls meanwhile (how late
    a 1 ms heartbeat woke: what the UI could not draw during the paging). ``idle``: the
    heartbeat alone for as long, the machine's own jitter."""
    pager: ArchivePager | ParseOnLoop = (
        ParseOnLoop(source, flt) if parse_on_loop else source.pager(flt, limit=50))
    times: list[float] = []
    stalls: list[float] = []
    done = False

    async def heartbeat() -> None:
        while not done:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append(max(0.0, (time.perf_counter() - started) * 1000 - 1))

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)
    for _ in range(pages):
        if pager.exhausted:
            break
        started = time.perf_counter()
        if idle:
            await asyncio.sleep(0.005)
        else:
            await pager.next_page()
        times.append((time.perf_counter() - started) * 1000)
    done = True
    await beat
    return times, stalls


def sqlite_pages(store: ArchiveStore, flt: EventFilter, pages: int) -> list[float]:
    cursor: PageCursor | None = None
    times = []
    for _ in range(pages):
        started = time.perf_counter()
        page = read_page(store, flt, cursor, 50)
        times.append((time.perf_counter() - started) * 1000)
        cursor = page.cursor
        if not page.more:
            break
    return times


def summary(times: list[float]) -> str:
    if not times:
        return "(no page)"
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(times):5.2f} · p95 {p95:5.2f} · max {max(times):5.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, type=Path, help="an archive file")
    parser.add_argument("--pages", type=int, default=40, help="pages per filter (default 40)")
    args = parser.parse_args()
    with ArchiveStore(args.db, readonly=True) as store:
        count = store.count()
        cases = filters(store)
        print(f"{args.db}: {count:,} events; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs; ms per page of 50, {args.pages} pages deep")
        for name, flt in cases:
            sqlite_pages(store, flt, args.pages)  # warm the cache for both
            print(f"  {name}")
            print(f"    SQLite read alone      {summary(sqlite_pages(store, flt, args.pages))}")

            async def run(
                flt: EventFilter = flt, **kw: bool
            ) -> tuple[list[float], list[float]]:
                async with ArchiveSource(args.db) as source:
                    return await app_pages(source, flt, args.pages, **kw)

            times, stalls = asyncio.run(run())
            within = sum(t < FRAME_MS for t in times)
            print(f"    as the app gets it     {summary(times)}  "
                  f"({within}/{len(times)} within a frame, {FRAME_MS:.1f} ms)")
            print(f"    event loop stalled     {summary(stalls)}")
            times, stalls = asyncio.run(run(parse_on_loop=True))
            print(f"    parsed on the loop     {summary(times)}")
            print(f"      event loop stalled   {summary(stalls)}")
            _, stalls = asyncio.run(run(idle=True))
            print(f"    idle loop (jitter)     stalled {summary(stalls)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
