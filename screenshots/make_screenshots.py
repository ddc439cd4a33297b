"""Make the README's screenshots from the demo organization.

    python screenshots/make_screenshots.py

The demo's emulator with a frozen clock (so the pictures only change when the app
does), 120×40, times in UTC. Writes SVGs next to this file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.widgets import Input

from close_tui.core.client import CloseClient
from close_tui.core.filters import EventFilter
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.session import DEMO_BASE_URL
from close_tui.ui.app import CloseTuiApp

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SIZE = (120, 40)

Step = Callable[[Any, Emulator], Awaitable[None]]


async def _settle(pilot: Any) -> None:
    for _ in range(10):
        await pilot.app.workers.wait_for_complete()
        named = await pilot.app.explorer.names.settle(timeout=10.0)  # look-ups: own task
        await pilot.pause()
        if not pilot.app.explorer.feed.loading and named:
            break
    await pilot.pause(0.2)


async def shoot(name: str, emulator: Emulator, flt: EventFilter | None, step: Step | None) -> None:
    client = CloseClient(DEMO_BASE_URL, api_key=emulator.admin_key,
                         transport=emulator.transport())
    app = CloseTuiApp(client, organization=str(emulator.organization["name"]),
                      initial_filter=flt, now=lambda: NOW, local_tz=UTC, detail_debounce=0.0)
    async with app.run_test(size=SIZE) as pilot:
        for field in app.query(Input):
            field.cursor_blink = False
        await _settle(pilot)
        if step is not None:
            await step(pilot, emulator)
            await _settle(pilot)
        path = HERE / f"{name}.svg"
        app.save_screenshot(str(path))
        print(f"wrote {path.relative_to(HERE.parent)}")


async def _open_status_change(pilot: Any, emulator: Emulator) -> None:
    table = pilot.app.explorer.table
    index = next(
        (i for i in range(table.row_count) if "→" in table.row_at(i).summary), 0
    )
    table.move_cursor(index)
    await pilot.press("enter")


async def _help(pilot: Any, emulator: Emulator) -> None:
    await pilot.press("question_mark")


async def _find_a_lead(pilot: Any, emulator: Emulator) -> None:
    """Type part of a name in the lead field: the matches open under it."""
    finder = pilot.app.explorer.form.finder("lead_id")
    await pilot.press("f", *"hoo")
    for _ in range(100):  # bounded: the debounce, then one search
        await pilot.pause(0.05)
        if finder.is_open and finder.shown_text == "hoo":
            break


def _typical_lead(emulator: Emulator) -> str:
    """A lead with a varied history (many kinds of objects), not the merge's pile-up."""

    def variety(lead: str) -> tuple[int, int]:
        events = emulator.expected({"lead_id": lead})
        kinds = {e["object_type"] for e in events}
        merged = any("merge_source_lead_id" in (e.get("meta") or {}) for e in events)
        return (0 if merged or len(events) > 120 else len(kinds), -len(events))

    return max(sorted(emulator.leads), key=variety)


async def main() -> None:
    emulator = Emulator(EmulatorConfig(), clock=FakeClock(NOW))
    await shoot("main", emulator, EventFilter(lead_id=_typical_lead(emulator)),
                _open_status_change)
    await shoot("unfiltered", emulator, None, None)
    await shoot("help", emulator, None, _help)
    await shoot("finder", emulator, None, _find_a_lead)


if __name__ == "__main__":
    asyncio.run(main())
