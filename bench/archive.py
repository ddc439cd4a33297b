"""Archive benchmark: pages for any filter, full-text search, bytes per event, and an
incremental sync, at 100k and 1M stored events; against scanning JSONL files.

Run: ``/work/venv/bin/python bench/archive.py`` (builds both sizes: ~10-25 minutes on a
shared 2-core machine, most of it storing and indexing 1M events; ``--max-events 100000``
for the 100k half only; ``--keep DIR`` keeps the databases and JSONL files there, and a
later run with the same DIR reuses them). Prints tables; no pass/fail.

Data: the emulator's default organization (seed 7: 22,398 events over 30 days, 8 users)
is the newest month; older months are copies of it shifted back by 30 days each, with
fresh ids for events, requests, leads and every object (users, object types and actions
stay), so 1M events are ~45 months of one organization, as an archive grows. They are
stored the way a first sync stores them (newest first, batches through
``ArchiveStore.upsert``, names learned, documents indexed per month).

Timings are the median of 7 runs after one warm-up (the file in the OS cache, as in a
session), in milliseconds, for a 50-event page (``read_page``: term look-ups, the chosen
index, JSON text out; ``ArchiveSource`` adds ~1-2 ms to parse 50 events). "deep" is the
page after 40 pages of the same filter (keyset, so it should cost the same).

The alternative, in the same run: the JSONL files ``close-tui events --state`` appends
today, scanned for some of the same filters (``json.loads`` per line; for search a
case-folded substring test per line, which is cheaper than parsing and still a full scan).

The incremental sync runs against the emulator over loopback HTTP (``serve()``) whose
newest month is the archive's: nothing is new, so it costs ``/me/`` plus one page of the
five-minute overlap. The alternative is ``events --state`` (the export engine with a state
file at the same watermark). Requests are counted by the server.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from close_tui.core import jsonnum
from close_tui.core.archive.query import ArchiveFilter, read_page
from close_tui.core.archive.store import ArchiveStore, encode, to_us
from close_tui.core.archive.sync import sync_archive
from close_tui.core.client import CloseClient
from close_tui.core.exporter import ExportState, export_events
from close_tui.core.filters import EventFilter, is_supported
from close_tui.core.models import Event
from close_tui.core.names import NameDirectory
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.emulator.server import serve

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
SIZES = (100_000, 1_000_000)
RUNS = 7
#: Cases also answered by scanning the JSONL file (every scan reads the whole file, so a
#: few show its cost; at 1M each takes ~30 s).
SCANNED = frozenset({"user + action=deleted", "lead", "rare word", "word + user"})
BATCH = 2_000
_ID = re.compile(r"\b(ev|req|lead|cont|oppo|acti|task)_([A-Za-z0-9]{19,43})")
_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# ---------------------------------------------------------------------------- data


def month_copies(templates: list[str]) -> Iterator[str]:
    """The templates (newest first), then copies shifted back 30, 60, … days, forever."""
    replica = 0
    while True:
        if replica == 0:
            yield from templates
        else:
            shift = timedelta(days=30 * replica)
            ids: dict[str, str] = {}
            dates: dict[str, str] = {}

            def new_id(m: re.Match[str], ids: dict[str, str] = ids, r: int = replica) -> str:
                # The last three characters advanced by the replica number: the same
                # length and alphabet, never the original, never another replica's.
                old = m.group(0)
                found = ids.get(old)
                if found is None:
                    tail = sum(_B62.index(c) * 62**i for i, c in enumerate(reversed(old[-3:])))
                    tail = (tail + r) % 62**3
                    found = ids[old] = old[:-3] + "".join(
                        _B62[tail // 62**i % 62] for i in (2, 1, 0)
                    )
                return found

            def new_date(
                m: re.Match[str], dates: dict[str, str] = dates, shift: timedelta = shift
            ) -> str:
                old = m.group(0)
                found = dates.get(old)
                if found is None:
                    when = datetime.fromisoformat(old) - shift
                    found = dates[old] = when.isoformat(timespec="microseconds")
                return found

            for text in templates:
                yield _ID.sub(new_id, _DATE.sub(new_date, text))
        replica += 1


def build(
    store: ArchiveStore, stream: Iterator[str], count: int, users: dict[str, str],
    jsonl: Any,
) -> float:
    """Store ``count`` more events from ``stream`` as a sync would; returns seconds."""
    directory = NameDirectory(client=None)  # type: ignore[arg-type]  # learn() only
    started = time.perf_counter()
    done = 0
    while done < count:
        texts = [next(stream) for _ in range(min(BATCH, count - done))]
        batch = [Event.model_validate(jsonnum.loads(t)) for t in texts]
        directory.learn(batch)
        with store.transaction():
            store.upsert(batch)
            store.save_names(directory.names())
        jsonl.write("".join(t + "\n" for t in texts))
        done += len(batch)
        if store.unindexed_count() >= 25_000:
            store.index_pending({**store.names(), **users})
        print(f"\r  stored {store.count():,}", end="", file=sys.stderr, flush=True)
    store.index_pending({**store.names(), **users})
    print(file=sys.stderr)
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- timing


def timed(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, Any]:
    result = fn()  # warm-up
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), result


def deep_cursor(store: ArchiveStore, flt: EventFilter, pages: int = 40) -> Any:
    cursor = None
    for _ in range(pages):
        page = read_page(store, flt, cursor, 50)
        if not page.more:
            return None
        cursor = page.cursor
    return cursor


def scan_jsonl(path: Path, flt: EventFilter, limit: int = 50) -> list[str]:
    """What one can do with --state's JSONL today: parse every line, keep the newest."""
    wanted = {k: v for k, v in flt.to_params().items() if not k.startswith("date_")}
    search = wanted.pop("search", None)
    needle = search.casefold() if search else None
    newest: list[tuple[str, str]] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if needle is not None:
                if needle not in line.casefold():
                    continue
                if not wanted:
                    event = json.loads(line)
                    item = (event["date_updated"], event["id"])
                    heapq.heappush(newest, item)
                    if len(newest) > limit:
                        heapq.heappop(newest)
                    continue
            event = json.loads(line)
            if all(event.get(k) == v for k, v in wanted.items()):
                item = (event["date_updated"], event["id"])
                heapq.heappush(newest, item)
                if len(newest) > limit:
                    heapq.heappop(newest)
    return [i for _, i in sorted(newest, reverse=True)]


# ---------------------------------------------------------------------------- cases


def cases(templates: list[Json], users: list[Json]) -> list[tuple[str, EventFilter]]:
    note = next(
        e for e in templates
        if e["object_type"] == "activity.note" and e["action"] == "updated" and e["user_id"]
    )
    user = note["user_id"]
    lead = note["lead_id"]
    year_ago = NOW - timedelta(days=365)
    out: list[tuple[str, EventFilter]] = [
        ("no filter", EventFilter()),
        ("action=deleted", EventFilter(action="deleted")),
        ("action=merged (rare)", EventFilter(action="merged")),
        ("user + action=deleted", EventFilter(user_id=user, action="deleted")),
        ("lead + action=updated", EventFilter(lead_id=lead, action="updated")),
        ("object_type=lead + action=merged", EventFilter(object_type="lead", action="merged")),
        ("user + type + action", EventFilter(user_id=user, object_type="activity.note",
                                             action="updated")),
        ("lead", EventFilter(lead_id=lead)),
        ("a week a year ago", EventFilter(date_updated__gte=year_ago - timedelta(days=7),
                                          date_updated__lt=year_ago)),
        ("user + deleted, a year ago", EventFilter(
            user_id=user, action="deleted", date_updated__gte=year_ago - timedelta(days=90),
            date_updated__lt=year_ago)),
    ]
    return out


Json = dict[str, Any]


def search_cases(users: list[Json], templates: list[Json]) -> list[tuple[str, ArchiveFilter]]:
    user = next(e["user_id"] for e in templates if e["user_id"])
    last_name = next(u["last_name"] for u in users if u["id"] == user)
    lead = next(e["lead_id"] for e in templates if e["lead_id"])
    return [
        ("rare word", ArchiveFilter(search="questionnaire")),
        ("phrase", ArchiveFilter(search='"security questionnaire"')),
        ("common word", ArchiveFilter(search="call")),
        ("a user's name", ArchiveFilter(search=last_name)),
        ("word + user", ArchiveFilter(search="questionnaire", user_id=user)),
        ("word + action=deleted", ArchiveFilter(search="questionnaire", action="deleted")),
        ("word + action=merged (rare)", ArchiveFilter(search="questionnaire", action="merged")),
        ("common word + lead", ArchiveFilter(search="call", lead_id=lead)),
        ("no such word", ArchiveFilter(search="zyzzogeton")),
    ]


def measure(store: ArchiveStore, jsonl: Path, templates: list[Json], users: list[Json],
            with_jsonl: bool) -> None:
    size = store.size_bytes()
    count = store.count()
    print(f"\n### {count:,} events: {size / count:,.0f} bytes per event "
          f"({size / 2**20:,.0f} MB; JSONL {jsonl.stat().st_size / count:,.0f} bytes per event)")
    print(f"{'page of 50':34} {'API?':>5} {'plan':>20} {'first ms':>9} {'deep ms':>8} "
          f"{'rows':>5} {'JSONL scan ms':>14}")
    for name, flt in cases(templates, users):
        ms, page = timed(lambda flt=flt: read_page(store, flt, None, 50))
        cursor = deep_cursor(store, flt)
        deep = "-"
        if cursor is not None:
            deep_ms, _ = timed(lambda flt=flt, c=cursor: read_page(store, flt, c, 50))
            deep = f"{deep_ms:.2f}"
        scan = "-"
        if with_jsonl and name in SCANNED:
            t = time.perf_counter()
            scan_jsonl(jsonl, flt)
            scan = f"{(time.perf_counter() - t) * 1000:,.0f}"
        supported = "yes" if is_supported(flt.field_names) else "no"
        print(f"{name:34} {supported:>5} {page.plan:>20} {ms:9.2f} {deep:>8} "
              f"{len(page.raws):5} {scan:>14}")
    print(f"{'search (page of 50)':34} {'':>5} {'plan':>20} {'first ms':>9} {'deep ms':>8} "
          f"{'rows':>5} {'JSONL scan ms':>14}")
    for name, sflt in search_cases(users, templates):
        ms, page = timed(lambda f=sflt: read_page(store, f, None, 50), runs=5)
        cursor = deep_cursor(store, sflt, pages=10)
        deep = "-"
        if cursor is not None:
            deep_ms, _ = timed(lambda f=sflt, c=cursor: read_page(store, f, c, 50), runs=5)
            deep = f"{deep_ms:.2f}"
        scan = "-"
        if with_jsonl and name in SCANNED:
            t = time.perf_counter()
            scan_jsonl(jsonl, sflt)
            scan = f"{(time.perf_counter() - t) * 1000:,.0f}"
        print(f"{name:34} {'no':>5} {page.plan:>20} {ms:9.2f} {deep:>8} "
              f"{len(page.raws):5} {scan:>14}")


async def incremental_sync(path: Path, em: Emulator) -> None:
    with serve(em) as running:
        async with CloseClient(running.base_url, api_key=em.admin_key) as client:
            before = len(em.request_log)
            t = time.perf_counter()
            result = await sync_archive(client, path)
            took = time.perf_counter() - t
            sync_requests = len(em.request_log) - before
        newest = max(parse(e["date_updated"]) for e in em.events())
        overlap = {e["id"]: parse(e["date_updated"]) for e in em.events()
                   if parse(e["date_updated"]) >= newest - timedelta(minutes=5)}
        state = ExportState(filter_params={}, watermark=newest, overlap=overlap)

        class Null:
            def write(self, event: Event) -> None:
                pass

        async with CloseClient(running.base_url, api_key=em.admin_key) as client:
            before = len(em.request_log)
            t = time.perf_counter()
            await export_events(client, EventFilter(), Null(), state=state)
            state_took = time.perf_counter() - t
            state_requests = len(em.request_log) - before
    print(f"{'incremental, nothing new':34} archive sync: {sync_requests} requests "
          f"({result.counts.written} written) in {took * 1000:,.0f} ms; "
          f"events --state: {state_requests} requests in {state_took * 1000:,.0f} ms")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-events", type=int, default=SIZES[-1],
                        help="stop after this size (100000 = the first half only)")
    parser.add_argument("--keep", metavar="DIR", help="keep (and reuse) the data here")
    parser.add_argument("--no-jsonl-scan", action="store_true",
                        help="leave out the JSONL scans (a minute at 1M)")
    args = parser.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="close-tui-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; data in {root}")
    em = Emulator(EmulatorConfig(), clock=FakeClock(NOW))
    raw_events = em.events()
    templates = [encode(e) for e in raw_events]
    users = {u["id"]: f"{u['first_name']} {u['last_name']}" for u in em.users}
    stream = month_copies(templates)
    for _ in templates:
        next(stream)  # the month itself is copied verbatim: time the shifted copies
    t = time.perf_counter()
    for _ in range(30_000):
        next(stream)
    per_event = (time.perf_counter() - t) / 30_000 * 1e6
    print(f"synthesis: {per_event:.1f} µs per event (shifted copies of the emulator's month)")
    path = root / "archive.sqlite3"
    jsonl_path = root / "events.jsonl"
    fresh = not path.exists()
    stream = month_copies(templates)
    with ArchiveStore(path, create=True) as store:
        if fresh:
            with store.transaction():
                store.claim_organization(em.organization["id"], em.organization["name"])
        have = store.count()
        for _ in range(have):
            next(stream)
        with open(jsonl_path, "a", encoding="utf-8") as jsonl:
            for size in SIZES:
                if size > args.max_events:
                    break
                if store.count() > size:
                    print(f"(reusing {store.count():,} events: no {size:,} measurement)")
                    continue
                if store.count() < size:
                    seconds = build(store, stream, size - store.count(), users, jsonl)
                    print(f"stored {store.count():,} events: {seconds:,.0f} s "
                          f"({(size - have) / seconds:,.0f} events/s, documents indexed)")
                    have = store.count()
                    jsonl.flush()
                # Covered from the oldest month to the emulator's now: a synced archive.
                with store.transaction():
                    oldest = store.oldest_us()
                    assert oldest is not None
                    store.add_coverage(oldest, to_us(NOW))
                store.tidy()
                measure(store, jsonl_path, raw_events, em.users, not args.no_jsonl_scan)
                asyncio.run(incremental_sync(path, em))
    if not args.keep:
        for file in root.iterdir():
            file.unlink()
        root.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
