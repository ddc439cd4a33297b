"""Hostile data benchmark: how long the explorer takes to open the hostile events.

Run: ``/work/venv/bin/python bench/hostile.py`` (headless, 160x50, ~20 s).
Prints one table; no pass/fail (target: the 64 KB note on screen in ≤ 200 ms).

The whole app on the hostile emulator (``EmulatorConfig(hostile=True)``), in-process:
for each hostile event, the time from pressing Enter on its row until the detail pane
shows it (``GET /event/{id}/`` through the emulator, JSON parsing, the diff, the Changes
tab, the JSON view, layout and paint: every pending message processed). Median of 7;
each run first opens another event and drops the app's detail cache, so nothing is
reused. "idle" is one settle with nothing to do, to subtract by eye.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from textual.worker import WorkerCancelled

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ui"))

from ui_support import UI_NOW, make_app

from close_tui.emulator import Emulator, EmulatorConfig, FakeClock, hostile

SIZE = (160, 50)
RUNS = 7


async def settle(pilot: Any) -> None:
    app = pilot.app
    for _ in range(20):
        with contextlib.suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers) and not app.loading:
            break


async def main() -> None:
    emulator = Emulator(EmulatorConfig(hostile=True), clock=FakeClock(UI_NOW))
    app = make_app(emulator, organization=str(emulator.organization["name"]))
    targets = {
        "64 KB note": hostile.HOSTILE_NOTE_ID,
        "lead update (hostile diff)": hostile.HOSTILE_LEAD_ID,
        "unknown type, 200 deep + 10k array": hostile.HOSTILE_OBJECT_ID,
    }
    results: list[tuple[str, float, float]] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows: dict[str, int] = {}
        for index in range(app.table.row_count):
            raw = emulator.event(app.table.event_id_at(index))
            assert raw is not None
            rows.setdefault(raw["object_id"], index)  # newest event of each object
        idle = []
        for _ in range(RUNS):
            start = time.perf_counter()
            await settle(pilot)
            idle.append(time.perf_counter() - start)
        for label, object_id in targets.items():
            index = rows[object_id]
            times = []
            for _ in range(RUNS):
                app.table.move_cursor(rows[hostile.HOSTILE_CONTACT_ID])
                await pilot.press("enter")
                await settle(pilot)
                app._detail_cache.clear()
                app.table.move_cursor(index)
                start = time.perf_counter()
                await pilot.press("enter")
                await settle(pilot)
                times.append(time.perf_counter() - start)
                assert app.detail.event is not None
                assert app.detail.event.object_id == object_id
            results.append((label, statistics.median(times), max(times)))
    print(f"{'hostile event':38} {'median ms':>10} {'max ms':>8}")
    for label, median, worst in results:
        print(f"{label:38} {median * 1000:10.1f} {worst * 1000:8.1f}")
    print(f"{'idle settle':38} {statistics.median(idle) * 1000:10.1f}")


if __name__ == "__main__":
    asyncio.run(main())
