"""What names cost: requests per 50 events shown, 429s, and the lead finder's latency.

Run: ``/work/venv/bin/python bench/requests.py`` (about half a minute). Prints two
tables; no pass/fail.

Setup: ``close-tui demo-server --latency-ms 50 --rate 20 --rate-groups`` in a subprocess
(the default organization, seed 7, served over loopback HTTP with 50 ms latency per request and 20
requests per 1-second window per key *and endpoint group*: the event log, searches, other
GETs). Requests and their statuses are counted client-side by a wrapping transport.

1. **Scrolling.** 20 pages of the unfiltered view, the way the screen feeds names: each
   page as soon as the previous one is in (the pager one request at a time), then some
   seconds on it (:data:`PACES`: holding PgDn, reading); after the last page, the look-ups still
   queued are given up to :data:`SETTLE` seconds to finish and are counted too.
   * *today*: :class:`NameDirectory` as ``app.py`` drives it (``learn`` each page; while
     ``remaining >= max(5, limit // 4)``, ``users()`` once and ``resolve_leads`` for the
     leads still unnamed: one ``GET /lead/{id}/`` each, 4 at a time);
   * *new*: :class:`Directory` (``see`` each page: one organization request, the custom
     field lists the page needs, one search naming the 400 most recently updated leads
     in pages of 200, then batched ``POST /data/search/`` for leads still unnamed, all
     within 10 % of the limit).
2. **Lead finder.** A headless Textual app with :class:`NameFinder` over
   ``Directory.search_leads`` (the widget's default debounce): for each of several name
   prefixes, the time from the last keystroke to the list of matches drawn.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

sys.path.insert(0, ".")

from close_tui.core.client import CloseClient
from close_tui.core.directory import Directory
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event
from close_tui.core.names import NameDirectory

PAGES = 20
#: Seconds on each page: holding PgDn, and reading each page.
PACES = (0.05, 0.5)
SETTLE = 15.0
LATENCY_MS = 50
RATE = 20
FINDER_TEXTS = ("sapph", "acme", "blue", "north", "hool", "pied", "glob", "ster")
APP_NAME_FLOOR = 5  # app.py's NAME_BUDGET_FLOOR


@dataclass
class Tally:
    """Requests as the client sent them: (method, group, status)."""

    sent: Counter[tuple[str, int]] = field(default_factory=Counter)

    def record(self, request: httpx.Request, status: int) -> None:
        path = request.url.path.split("/api/v1/", 1)[-1]
        kind = "event" if path.startswith("event/") else path.split("/")[0]
        if kind == "data":
            kind = "search"
        self.sent[(kind, status)] += 1

    def total(self, kind: str | None = None) -> int:
        return sum(n for (k, _), n in self.sent.items() if kind is None or k == kind)

    def lookups(self) -> int:
        return self.total() - self.total("event")

    def too_many(self, events: bool) -> int:
        return sum(n for (k, s), n in self.sent.items() if s == 429 and (k == "event") == events)

    def by_kind(self) -> str:
        kinds = Counter[str]()
        for (kind, _), n in self.sent.items():
            if kind != "event":
                kinds[kind] += n
        return ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "none"


class CountingTransport(httpx.AsyncHTTPTransport):
    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        self.tally.record(request, response.status_code)
        return response


def start_server() -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "close_tui", "demo-server", "--port", "0",
         "--latency-ms", str(LATENCY_MS), "--rate", str(RATE), "--rate-groups"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    info: dict[str, str] = {}
    assert proc.stdout is not None
    while len(info) < 3:
        line = proc.stdout.readline()
        if not line:
            error = proc.stderr.read() if proc.stderr else ""
            raise SystemExit(f"demo-server ended early: {error}")
        key, _, value = line.strip().partition("=")
        info[key] = value
    return proc, info["base_url"], info["admin_key"]


def client_for(base_url: str, key: str, tally: Tally) -> CloseClient:
    return CloseClient(base_url, api_key=key, transport=CountingTransport(tally))


def unnamed(names: NameDirectory, events: list[Event]) -> int:
    return len({e.lead_id for e in events if e.lead_id and names.name(e.lead_id) is None})


async def scroll(base_url: str, key: str, design: str, dwell: float) -> dict[str, Any]:
    tally = Tally()
    async with client_for(base_url, key, tally) as client:
        pager = client.pager(EventFilter())
        shown: list[Event] = []
        background: list[asyncio.Task[Any]] = []
        if design == "today":
            names: NameDirectory = NameDirectory(client)
        else:
            names = Directory(client)
        users_asked = False
        started = time.perf_counter()
        for _ in range(PAGES):
            page = await pager.next_page()
            shown += page
            if isinstance(names, Directory):
                names.see(page)
            else:
                names.learn(page)
                rate = client.rate_limit
                allowed = (
                    rate is not None and rate.limit is not None and rate.remaining is not None
                    and rate.remaining >= max(APP_NAME_FLOOR, rate.limit // 4)
                )
                if allowed:
                    if not users_asked:
                        users_asked = True
                        background.append(asyncio.ensure_future(names.users()))
                    wanted = {e.lead_id for e in page if e.lead_id and not names.name(e.lead_id)}
                    if wanted:
                        background.append(asyncio.ensure_future(names.resolve_leads(wanted)))
            await asyncio.sleep(dwell)
        scrolled = time.perf_counter() - started
        if isinstance(names, Directory):
            await names.settle(timeout=SETTLE)
        elif background:
            await asyncio.wait(background, timeout=SETTLE)
        settled = time.perf_counter() - started
        last_screen = shown[-35:]
        return {
            "design": design,
            "dwell": dwell,
            "events": len(shown),
            "requests": tally.total(),
            "events_requests": tally.total("event"),
            "lookups": tally.lookups(),
            "per50": tally.total() / (len(shown) / 50),
            "429_events": tally.too_many(events=True),
            "429_lookups": tally.too_many(events=False),
            "kinds": tally.by_kind(),
            "unnamed_last_screen": unnamed(names, last_screen),
            "scrolled": scrolled,
            "settled": settled,
        }


async def finder_latency(base_url: str, key: str) -> tuple[list[float], float]:
    """Keystroke-to-suggestions in a headless app; plus the bare search round trip."""
    from textual.app import App, ComposeResult

    from close_tui.ui.widgets.name_finder import NameFinder

    shown_at: list[float] = []

    class TimedFinder(NameFinder):
        def _show(self, matches: list[Any], text: str) -> None:
            super()._show(matches, text)
            shown_at.append(time.perf_counter())

    tally = Tally()
    async with client_for(base_url, key, tally) as client:
        directory = Directory(client)

        class Bench(App[None]):
            def compose(self) -> ComposeResult:
                yield TimedFinder(directory.search_leads, input_id="lead")

        latencies: list[float] = []
        app = Bench()
        async with app.run_test(size=(100, 30)) as pilot:
            finder = app.query_one(TimedFinder)
            await pilot.click("#lead")
            for text in FINDER_TEXTS:
                finder.input.value = ""
                await pilot.pause(0.3)
                await pilot.press(*text[:-1])
                before = len(shown_at)
                typed = time.perf_counter()
                await pilot.press(text[-1])
                for _ in range(400):  # bounded: 400 × 5 ms
                    if len(shown_at) > before and finder.input.value == text:
                        break
                    await pilot.pause(0.005)
                else:
                    raise SystemExit(f"no suggestions for {text!r}")
                latencies.append(shown_at[-1] - typed)
        bare_started = time.perf_counter()
        await directory.search_leads("zzz-uncached")
        bare = time.perf_counter() - bare_started
    return latencies, bare


def table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'s/page':>6} {'design':<7} {'events':>6} {'requests':>8} {'events':>6} "
            f"{'lookups':>7} {'req/50 ev':>9} {'429 ev':>6} {'429 lk':>6} "
            f"{'unnamed':>7} {'settled':>8}  "
            "lookups by endpoint")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['dwell']:>6.2f} {r['design']:<7} {r['events']:>6} {r['requests']:>8} "
            f"{r['events_requests']:>6} {r['lookups']:>7} {r['per50']:>9.2f} "
            f"{r['429_events']:>6} {r['429_lookups']:>6} "
            f"{r['unnamed_last_screen']:>7} {r['settled']:>7.1f}s  {r['kinds']}"
        )
    return "\n".join(lines)


async def main() -> int:
    proc, base_url, key = start_server()
    try:
        rows = []
        for dwell in PACES:
            for design in ("today", "new"):
                rows.append(await scroll(base_url, key, design, dwell))
                await asyncio.sleep(2.0)  # fresh rate windows for the next run
        latencies, bare = await finder_latency(base_url, key)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"Scrolling {PAGES} pages of the unfiltered view, loopback demo-server, "
          f"{LATENCY_MS} ms latency, {RATE} requests/s per group")
    print("(unnamed = leads still shown as ids on the last screen of 35 rows; lk = look-ups)")
    print(table(rows))
    print()
    print(f"Lead finder over loopback ({LATENCY_MS} ms latency): keystroke to suggestions, "
          f"{len(latencies)} texts {', '.join(FINDER_TEXTS)}")
    print(f"  median {statistics.median(latencies) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms "
          f"(debounce included; one bare search round trip {bare * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
