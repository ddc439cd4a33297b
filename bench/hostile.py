"""Hostile data benchmark: how long the explorer takes to show the hostile events.

Run: ``/work/venv/bin/python bench/hostile.py`` (headless, 160x50, ~60 s).
Prints two tables; no pass/fail (target: the 64 KB note on screen in ≤ 200 ms).

The whole app on the hostile emulator (``EmulatorConfig(hostile=True)``), in-process:
for each hostile event, from pressing Enter on its row (``GET /event/{id}/`` through
the emulator, JSON parsing, the diff, the Changes tab, the JSON view, layout, paint):

* **on screen**: until the first frame the compositor renders after the detail pane
  was given the event (``App._display``, which a real terminal would receive; headless
  Textual computes the frame and drops it). This is what the user waits for.
* **idle**: until the app has nothing left to do (``pilot.pause`` idle detection: every
  message processed, workers done). It includes cosmetic work after the first frame —
  the Changes/JSON tab underline slides for 0.3 s when the tab switches — and one
  idle-detection sleep ("idle settle" below, to subtract by eye).
* for comparison in the same run, a plain event (the newest ordinary create) opened the
  same way.

Median and max of 9 runs; each run first opens another event and drops the app's detail
cache, so nothing is reused. Measured twice in one process: first with Python's garbage
collector as it is, then after :func:`close_tui.heap.freeze_long_lived` (what
``close-tui`` and ``demo-server`` do at start), with the full collections counted —
they are what makes the slow outliers.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from textual.worker import WorkerCancelled

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ui"))

from ui_support import UI_NOW, make_app

from close_tui.emulator import Emulator, EmulatorConfig, FakeClock, hostile
from close_tui.heap import freeze_long_lived

SIZE = (160, 50)
RUNS = 9


async def settle(pilot: Any) -> None:
    app = pilot.app
    for _ in range(20):
        with contextlib.suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers) and not app.loading:
            break


Result = tuple[str, list[float], list[float]]


class GcWatch:
    """Counts full (generation 2) collections and the time spent in them."""

    def __init__(self) -> None:
        self.full = 0
        self.full_ms = 0.0
        self._start = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        elif info["generation"] == 2:
            self.full += 1
            self.full_ms += (time.perf_counter() - self._start) * 1000


async def measure(pilot: Any, emulator: Emulator) -> list[Result]:
    app = pilot.app
    targets = {
        "64 KB note": hostile.HOSTILE_NOTE_ID,
        "lead update (hostile diff)": hostile.HOSTILE_LEAD_ID,
        "unknown type, 200 deep + 10k array": hostile.HOSTILE_OBJECT_ID,
    }
    rows: dict[str, int] = {}
    for index in range(app.explorer.table.row_count):
        raw = emulator.event(app.explorer.table.event_id_at(index))
        assert raw is not None
        rows.setdefault(raw["object_id"], index)  # newest event of each object
        if "plain" not in rows and raw["action"] == "created" \
                and "Hostile" not in raw["object_id"]:
            rows["plain"] = index
    targets["(plain create, for comparison)"] = "plain"

    shown_at: list[float] = []
    frames: list[float] = []
    show_event = app.explorer.detail.show_event
    display = app._display

    def timed_show(event: Any) -> None:
        show_event(event)
        shown_at.append(time.perf_counter())

    def timed_display(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is not None:
            frames.append(time.perf_counter())

    app.explorer.detail.show_event = timed_show
    app._display = timed_display
    results: list[Result] = []
    try:
        for label, object_id in targets.items():
            index = rows[object_id]
            on_screen, until_idle = [], []
            for _ in range(RUNS):
                app.explorer.table.move_cursor(rows[hostile.HOSTILE_CONTACT_ID])
                await pilot.press("enter")
                await settle(pilot)
                app._detail_cache.clear()
                shown_at.clear()
                frames.clear()
                start = time.perf_counter()
                app.explorer.table.move_cursor(index)
                await pilot.press("enter")
                await settle(pilot)
                until_idle.append(time.perf_counter() - start)
                assert app.explorer.detail.event is not None
                assert app.explorer.detail.event.id == app.explorer.table.event_id_at(index)
                on_screen.append(min(f for f in frames if f >= shown_at[0]) - start)
            results.append((label, on_screen, until_idle))
    finally:
        del app.explorer.detail.show_event
        del app._display
    return results


def report(title: str, results: list[Result], watch: GcWatch) -> None:
    print(title)
    print(f"  {'hostile event':40} {'on screen ms':>12} {'max':>7} {'idle ms':>8} {'max':>7}")
    for label, on_screen, until_idle in results:
        print(f"  {label:40} {statistics.median(on_screen) * 1000:12.1f} "
              f"{max(on_screen) * 1000:7.1f} {statistics.median(until_idle) * 1000:8.1f} "
              f"{max(until_idle) * 1000:7.1f}")
    average = watch.full_ms / watch.full if watch.full else 0.0
    print(f"  full GC collections: {watch.full}, {average:.0f} ms each on average")


async def main() -> None:
    emulator = Emulator(EmulatorConfig(hostile=True), clock=FakeClock(UI_NOW))
    app = make_app(emulator, organization=str(emulator.organization["name"]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        idle = []
        for _ in range(RUNS):
            start = time.perf_counter()
            await settle(pilot)
            idle.append(time.perf_counter() - start)
        # The alternative first: the collector left as it is (what a plain Textual app
        # does), then as close-tui runs (launch and demo-server call freeze_long_lived).
        watch = GcWatch()
        plain = await measure(pilot, emulator)
        report("collector untouched:", plain, watch)
        freeze_long_lived()
        watch = GcWatch()
        frozen = await measure(pilot, emulator)
        report("after freeze_long_lived() (as close-tui runs):", frozen, watch)
    print(f"idle settle (one idle detection, included in idle ms): "
          f"{statistics.median(idle) * 1000:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
