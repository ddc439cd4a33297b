"""Event table benchmark: our Line-API EventTable against Textual's DataTable.

Run: ``/work/venv/bin/python bench/table.py`` (headless, 120x40, ~2.5 minutes on 2 cores).
Prints one table of figures; no pass/fail. What each column measures:

* **append 50** — CPU time (``time.process_time``) from the call that adds a 50-event page
  (events already parsed into ``Event`` objects; turning them into rows/cells is included)
  until the screen has processed every pending message, laid out and repainted
  (``await pilot.pause()``, which ends with a forced screen update). Median of several
  appends on top of N loaded rows. The cost of an idle ``pilot.pause()`` is printed
  separately so it can be subtracted by eye.
* **down / PgDn / End** — CPU time of ``await pilot.press(key)`` plus ``pilot.pause()``,
  median of 5, at N rows (DataTable's "bottom" key is ctrl+end: its End goes to the last
  column). "unbound key" is the same measurement for a key nothing is bound to: the
  baseline cost of a key press through Pilot.
* **bytes/row** — ``tracemalloc`` growth while the N rows are loaded into the mounted
  widget, divided by N (after the first paint). For our table at 10k/100k rows, the rows
  are made from ``Event`` objects through the real path (``append_events``); the events
  are validated before tracing starts, so the strings a row shares with its event (ids)
  are added by size (``untraced_strings``). At 1M, building a million
  pydantic events would take most of the time budget, so rows are built directly with
  strings of the same sizes, and the 100k figure serves as the cross-check.
* DataTable gets the same texts as our rows show, as ``rich.text.Text`` cells: plain
  ``str`` cells would be parsed as markup, which CRM text breaks.
* Last: JSON decoding and pydantic validation of one 50-event page (median of 50).
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable

from close_tui.core import jsonnum
from close_tui.core.models import Event, EventPage
from close_tui.core.rows import EventRow, RowStore, format_time, short_id
from close_tui.ui.widgets.event_table import EventTable

SIZE = (120, 40)
PAGE = 50
START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WORDS = (
    "call", "back", "about", "the", "renewal", "quote", "discussed", "on", "Monday", "with",
    "procurement", "legal", "pricing", "sent", "follow-up", "demo", "next", "week", "budget",
    "approved", "contract", "draft", "review",
)  # fmt: skip


def b62(number: int, width: int) -> str:
    """An id-like string of ``width`` characters (hex is enough: only sizes matter)."""
    return f"{(number * 2654435761) % 16**width:0{width}x}"


def object_id(prefix: str, number: int) -> str:
    return prefix + b62(number * 7919 + 12345, 43)


def raw_event(index: int) -> dict[str, Any]:
    """An event shaped like the API's: five kinds, 5000 leads, 20 users, varied text."""
    stamp = (
        (START - timedelta(milliseconds=index * 997))
        .replace(tzinfo=None)
        .isoformat(timespec="microseconds")
    )
    lead = object_id("lead_", index % 5000)
    words = " ".join(WORDS[(index + k * 7) % len(WORDS)] for k in range(4 + index % 9))
    kind = index % 5
    base: dict[str, Any] = {
        "id": "ev_" + b62(index * 104729 + 7, 22),
        "date_created": stamp,
        "date_updated": stamp,
        "organization_id": "orga_RbREgmiiwcr1w2b4cOnCMQaQPSIFxMqAD2Dh243uxcH",
        "user_id": None if index % 17 == 0 else object_id("user_", index % 20),
        "request_id": "req_" + b62(index * 31 + 3, 22),
        # Every seventh change through one of three integration keys.
        "api_key_id": None if index % 7 else "api_" + b62(index % 3 + 11, 22),
        "lead_id": lead,
        "meta": {"request_method": "POST", "request_path": "/api/v1/activity/note/"},
    }
    if kind == 0:
        oid = object_id("acti_", index)
        base.update(object_type="activity.note", object_id=oid, action="created",
                    changed_fields=[], previous_data={},
                    data={"id": oid, "lead_id": lead, "note": words.capitalize() + ".",
                          "user_name": "Gob Bluth"})  # fmt: skip
    elif kind == 1:
        oid = object_id("oppo_", index)
        base.update(object_type="opportunity", object_id=oid, action="updated",
                    changed_fields=["confidence", "date_updated", "status_id", "status_label"],
                    previous_data={"status_label": "Active", "confidence": 70},
                    data={"id": oid, "status_label": "Won", "confidence": 100,
                          "lead_name": "Lead " + str(index % 5000)})  # fmt: skip
    elif kind == 2:
        base.update(object_type="lead", object_id=lead, action="updated",
                    changed_fields=["name", "url", "custom.cf_" + b62(index % 30, 43)],
                    previous_data={"name": "Old name"},
                    data={"id": lead, "name": "Lead " + str(index % 5000)})  # fmt: skip
    elif kind == 3:
        oid = object_id("cont_", index)
        base.update(object_type="contact", object_id=oid, action="deleted",
                    changed_fields=[], data=None,
                    previous_data={"id": oid, "name": words.title()[:30]})  # fmt: skip
    else:
        oid = object_id("acti_", index)
        base.update(object_type="activity.email", object_id=oid, action="sent",
                    changed_fields=[], previous_data={},
                    data={"id": oid, "subject": "Re: " + words[:50], "status": "sent"})  # fmt: skip
    return base


def events(start: int, count: int) -> list[Event]:
    return [Event.model_validate(raw_event(index)) for index in range(start, start + count)]


def chunks(items: list[Event], size: int = 10_000) -> Iterator[list[Event]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def direct_rows(count: int) -> Iterator[list[EventRow]]:
    """Rows with the sizes of real ones, without building 1M pydantic events first.

    Summaries, actions and types come from 500 real rows (made by ``make_row``); ids,
    times and summaries are made distinct per row. Few temporary objects per row, since
    every allocation is slow under tracemalloc.
    """
    store = RowStore()
    template = [store.make_row(event) for event in events(0, 500)]
    heads = [row.summary[:-8] if len(row.summary) > 8 else "" for row in template]
    leads = [object_id("lead_", n) for n in range(5000)]
    users = [object_id("user_", n) for n in range(20)]
    base = START.timestamp()
    for start in range(0, count, 50_000):
        chunk = []
        for index in range(start, min(count, start + 50_000)):
            model = template[index % 500]
            chunk.append(
                EventRow(
                    f"ev_{index:022x}",
                    base - index,
                    model.action,
                    model.object_type,
                    f"acti_{index & 0xFFF:03x}…{index >> 12:03x}",  # as short_id() makes them
                    leads[index % 5000],
                    None if index % 17 == 0 else users[index % 20],
                    f"{heads[index % 500]}{index:08x}",
                    model.api_key_id,
                )
            )
        yield chunk


def cells(row: EventRow) -> tuple[Text, ...]:
    """The texts our table shows for ``row``, as DataTable cells."""
    return (
        Text(format_time(row.updated, "local")),
        Text(row.action),
        Text(row.object_type),
        Text(row.object_short),
        Text(short_id(row.lead_id)),
        Text(short_id(row.user_id) if row.user_id else "system"),
        Text(row.summary),
    )


class BenchApp(App[None]):
    def __init__(self, widget_factory: Callable[[], Any]) -> None:
        super().__init__()
        self._factory = widget_factory

    def compose(self) -> ComposeResult:
        yield self._factory()


def cpu() -> float:
    return time.process_time()


async def cpu_of(action: Callable[[], Awaitable[None]]) -> float:
    start = cpu()
    await action()
    return (cpu() - start) * 1000


class Result(dict[str, str]):
    pass


async def bench_ours(rows: int, loaded: list[Event] | None, appends: int = 7) -> Result:
    """``loaded``: the events to load (validated beforehand, outside the measurement);
    ``None``: build ``rows`` rows directly."""
    app = BenchApp(lambda: EventTable())
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.focus()
        await pilot.pause()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        if loaded is not None:
            for chunk in chunks(loaded[:rows]):
                table.append_events(chunk)
        else:
            for row_chunk in direct_rows(rows):
                table.append_rows(row_chunk)
            del row_chunk
        await pilot.pause()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        if loaded is not None:
            grown += untraced_strings(table, rows)
        tracemalloc.stop()
        idle = await idle_pause(pilot)
        append_ms = []
        for n in range(appends):
            page_events = events(rows + n * PAGE + 10_000_000, PAGE)

            async def append(page_events: list[Event] = page_events) -> None:
                table.append_events(page_events)
                await pilot.pause()

            append_ms.append(await cpu_of(append))
        assert table.row_count == rows + appends * PAGE
        keys = await key_costs(pilot, "end", "home")
        return Result(
            widget="EventTable", rows=f"{rows:,}",
            append=f"{statistics.median(append_ms):.1f}", idle=f"{idle:.1f}",
            **keys, bytes_per_row=f"{grown / rows:.0f}" + ("" if loaded is not None else "*"),
        )  # fmt: skip


def untraced_strings(table: EventTable, rows: int) -> int:
    """Bytes of strings rows keep but tracemalloc did not see being made.

    The events were validated before tracing started, so strings a row shares with its
    event (the event id, lead and user ids) were allocated untraced; in the app the event
    is dropped and the row keeps them, so they count.
    """
    seen: set[int] = set()
    total = 0
    for index in range(rows):
        row = table.row_at(index)
        for value in (row.event_id, row.lead_id, row.user_id, row.action, row.object_type,
                      row.object_short, row.summary, row.api_key_id):  # fmt: skip
            if value is None or id(value) in seen:
                continue
            seen.add(id(value))
            if tracemalloc.get_object_traceback(value) is None:
                total += sys.getsizeof(value)
    return total


async def bench_datatable(rows: int, loaded: list[Event], appends: int) -> Result:
    app = BenchApp(lambda: DataTable(cursor_type="row"))
    async with app.run_test(size=SIZE) as pilot:
        table: DataTable[Text] = app.query_one(DataTable)
        table.add_columns("TIME", "ACTION", "OBJECT TYPE", "OBJECT", "LEAD", "USER", "SUMMARY")
        table.focus()
        await pilot.pause()
        store = RowStore()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for chunk in chunks(loaded[:rows]):
            table.add_rows([cells(store.make_row(event)) for event in chunk])
        await pilot.pause()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        idle = await idle_pause(pilot)
        append_ms = []
        for n in range(appends):
            page_events = events(rows + n * PAGE + 10_000_000, PAGE)

            async def append(page_events: list[Event] = page_events) -> None:
                table.add_rows([cells(store.make_row(event)) for event in page_events])
                await pilot.pause()

            append_ms.append(await cpu_of(append))
        keys = await key_costs(pilot, "ctrl+end", "ctrl+home")
        return Result(
            widget="DataTable", rows=f"{rows:,}",
            append=f"{statistics.median(append_ms):.1f}", idle=f"{idle:.1f}",
            **keys, bytes_per_row=f"{grown / rows:.0f}",
        )  # fmt: skip


async def idle_pause(pilot: Pilot[None]) -> float:
    samples = []
    for _ in range(5):
        samples.append(await cpu_of(pilot.pause))
    return statistics.median(samples)


async def key_costs(pilot: Pilot[None], end: str, home: str) -> dict[str, str]:
    async def press(key: str) -> float:
        async def run() -> None:
            await pilot.press(key)
            await pilot.pause()

        return await cpu_of(run)

    unbound = [await press("f19") for _ in range(5)]
    down = [await press("down") for _ in range(5)]
    page_down = [await press("pagedown") for _ in range(5)]
    to_end = []
    for _ in range(5):
        await pilot.press(home)
        await pilot.pause()
        to_end.append(await press(end))
    return {
        "unbound": f"{statistics.median(unbound):.1f}",
        "down": f"{statistics.median(down):.1f}",
        "pgdn": f"{statistics.median(page_down):.1f}",
        "end": f"{statistics.median(to_end):.1f}",
    }


def bench_parse() -> tuple[float, float, float]:
    """Median ms to decode one 50-event page with the client's number-exact
    ``jsonnum.loads``, with plain ``json.loads`` (the alternative), and to validate it."""
    body = json.dumps({"data": [raw_event(i) for i in range(PAGE)], "cursor_next": "c2",
                       "cursor_previous": None})  # fmt: skip
    decode, plain, validate = [], [], []
    for _ in range(50):
        start = time.perf_counter()
        json.loads(body)
        plain.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        decoded = jsonnum.loads(body)
        middle = time.perf_counter()
        EventPage.model_validate(decoded)
        end = time.perf_counter()
        decode.append((middle - start) * 1000)
        validate.append((end - middle) * 1000)
    return statistics.median(decode), statistics.median(plain), statistics.median(validate)


async def main() -> None:
    started = time.perf_counter()
    loaded = events(0, 100_000)
    results = [
        await bench_ours(10_000, loaded),
        await bench_ours(100_000, loaded),
        await bench_ours(1_000_000, None),
        await bench_datatable(10_000, loaded, appends=5),
        await bench_datatable(100_000, loaded, appends=3),
    ]
    del loaded
    decode_ms, plain_ms, validate_ms = bench_parse()
    columns = (
        ("widget", "widget", 10), ("rows", "rows", 9), ("append", "append 50 ms", 12),
        ("idle", "idle pause ms", 13), ("unbound", "unbound key ms", 14), ("down", "down ms", 8),
        ("pgdn", "PgDn ms", 8), ("end", "End ms", 8), ("bytes_per_row", "bytes/row", 9),
    )  # fmt: skip
    print(f"Event table benchmark, headless {SIZE[0]}x{SIZE[1]}, CPU ms (process_time)")
    print("  ".join(title.rjust(width) for _, title, width in columns))
    for result in results:
        print("  ".join(result[key].rjust(width) for key, _, width in columns))
    print(
        "append 50 = append call + pilot.pause() (messages, layout, repaint); idle pause = "
        "pilot.pause() alone.\nkeys = pilot.press + pilot.pause, median of 5 (DataTable bottom: "
        "ctrl+end); unbound key = the same for a key nothing is bound to (Pilot's own cost).\n"
        "* = rows built directly (same string sizes), not from 1M pydantic events."
    )
    print(
        f"parse one 50-event page: jsonnum.loads {decode_ms:.2f} ms (plain json.loads "
        f"{plain_ms:.2f} ms) + EventPage.model_validate {validate_ms:.2f} ms = "
        f"{decode_ms + validate_ms:.2f} ms"
    )
    print(f"total bench time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
