"""Detail pane benchmark: how long opening a big event takes.

Run: ``/work/venv/bin/python bench/json_view.py`` (headless, 120x40, a few seconds).
Prints one table; no pass/fail (target: ≤ 200 ms for the 64 KB note).

Events: a note of 64 KB (many lines) created and updated (the update diffs 64 KB of text
line by line), ``data`` nested 200 deep, and ``data`` holding a 10,000-element array (of
small objects), plus the doc example as a baseline.

What is measured, median of 7 (each run opens another event first, so nothing is reused):

* **show** — wall time of ``EventDetail.show_event(event)`` (diff, Changes tab, JSON
  flattening) plus ``await pilot.pause()``: the screen processes every pending message,
  lays out and repaints. This is "time until the event is on screen".
* **build** — CPU time of the JSON view's flattening alone (``JsonLines.load`` + first
  build at the pane's width).
* **search** — wall time of one search over the whole event (``"zz"``: few matches).
* **unfold all** — wall time of ``z`` then ``Z`` (fold everything, unfold everything).
* **idle pause** — one ``pilot.pause()`` with nothing to do, to subtract by eye.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult

from close_tui.core.models import Event
from close_tui.ui.widgets.event_detail import EventDetail

SIZE = (120, 40)
RUNS = 7
ROOT = Path(__file__).resolve().parents[1]


def base(**fields: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "ev_3dT8o0fvKM3igEAh52KkBd",
        "date_created": "2026-11-20T11:00:00.000000",
        "date_updated": "2026-11-20T11:00:00.000000",
        "organization_id": "orga_" + "x" * 43,
        "user_id": "user_" + "u" * 43,
        "request_id": "req_" + "r" * 22,
        "object_type": "activity.note",
        "object_id": "acti_" + "a" * 43,
        "lead_id": "lead_" + "l" * 43,
        "action": "created",
        "changed_fields": [],
        "meta": {"request_method": "POST", "request_path": "/api/v1/activity/note/"},
        "previous_data": {},
    }
    raw.update(fields)
    return raw


def note_text(size: int, salt: str = "") -> str:
    lines, total, i = [], 0, 0
    while total < size:
        line = f"{salt}line {i}: call back about the renewal quote, procurement and legal"
        lines.append(line)
        total += len(line) + 1
        i += 1
    return "\n".join(lines)[:size]


def events() -> dict[str, Event]:
    note = note_text(64 * 1024)
    edited = note_text(64 * 1024).replace("line 40:", "LINE 40:").replace("line 700:", "L700:")
    deep: Any = "bottom"
    for level in range(200):
        deep = {f"level{level}": deep}
    doc = json.loads((ROOT / "tests/fixtures/close-doc-examples.json").read_text())
    raws = {
        "doc example (create)": doc["event_get_example"],
        "64 KB note, created": base(data={"_type": "Note", "note": note}),
        "64 KB note, updated": base(
            action="updated", changed_fields=["note"],
            previous_data={"note": note}, data={"_type": "Note", "note": edited},
        ),
        "200 deep": base(object_type="lead", data={"deep": deep}),
        "10k array": base(
            object_type="lead",
            data={"items": [{"i": i, "name": f"item {i}"} for i in range(10_000)]},
        ),
    }
    return {name: Event.model_validate(raw) for name, raw in raws.items()}


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield EventDetail(format_time=lambda when: when.isoformat(), id="detail")


async def timed(action: Callable[[], Awaitable[None]]) -> float:
    start = time.perf_counter()
    await action()
    return (time.perf_counter() - start) * 1000


async def main() -> None:
    cases = events()
    other = cases["doc example (create)"]
    app = Host()
    rows: list[tuple[str, float, float, float, float]] = []
    async with app.run_test(size=SIZE) as pilot:
        detail = app.query_one(EventDetail)
        lines = detail.json_view.lines
        idle = statistics.median([await timed(pilot.pause) for _ in range(RUNS)])
        for name, event in cases.items():
            show, build, search, unfold = [], [], [], []
            for _ in range(RUNS):
                detail.show_event(other)
                await pilot.pause()

                async def open_it(event: Event = event) -> None:
                    detail.show_event(event)
                    await pilot.pause()

                show.append(await timed(open_it))
                cpu = time.process_time()
                lines.load(event.to_api())
                build.append((time.process_time() - cpu) * 1000)

                async def find() -> None:
                    lines.search("zz")
                    await pilot.pause()

                search.append(await timed(find))

                async def fold_unfold() -> None:
                    lines.fold_all()
                    lines.unfold_all()
                    await pilot.pause()

                unfold.append(await timed(fold_unfold))
            rows.append((name, statistics.median(show), statistics.median(build),
                         statistics.median(search), statistics.median(unfold)))
    print(f"EventDetail at {SIZE[0]}x{SIZE[1]}, median of {RUNS} (ms); idle pause {idle:.1f} ms")
    print(f"{'event':<24}{'show':>10}{'build':>10}{'search':>10}{'unfold all':>12}")
    for name, show_ms, build_ms, search_ms, unfold_ms in rows:
        print(f"{name:<24}{show_ms:>10.1f}{build_ms:>10.1f}{search_ms:>10.1f}{unfold_ms:>12.1f}")


if __name__ == "__main__":
    asyncio.run(main())
