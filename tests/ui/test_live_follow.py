"""Live follow in the app (``F``): against the emulator's live mode, polls released one by
one by the test (an injected sleeper), with the FakeClock advanced between them."""

from __future__ import annotations

import asyncio
from typing import Any

from ui_support import SIZE, UI_NOW, make_app, settle

from close_tui.core.dates import parse_api_datetime, to_api_datetime
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.ui.app import CloseTuiApp


class PollGate:
    """The follow loop's sleeper: each sleep waits until the test lets one poll through."""

    def __init__(self) -> None:
        self.tickets: asyncio.Queue[None] = asyncio.Queue()
        self.delays: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        await self.tickets.get()

    def release(self) -> None:
        self.tickets.put_nowait(None)


async def wait_for_poll(pilot: Any, app: CloseTuiApp, polls: int) -> None:
    for _ in range(400):
        if app.explorer.follow.polls >= polls:
            break
        await pilot.pause()
    assert app.explorer.follow.polls >= polls, "the follow poll did not complete"
    await pilot.pause()


def live_app() -> tuple[CloseTuiApp, Emulator, FakeClock, PollGate]:
    clock = FakeClock(UI_NOW)
    emulator = Emulator(EmulatorConfig(n_leads=30, n_users=6, live=True), clock=clock)
    gate = PollGate()
    app = make_app(emulator, follow_sleep=gate.sleep, follow_interval=5.0)
    return app, emulator, clock, gate


def table_rows(app: CloseTuiApp) -> dict[str, float]:
    rows = [app.explorer.table.row_at(i) for i in range(app.explorer.table.row_count)]
    ids = [row.event_id for row in rows]
    assert len(ids) == len(set(ids)), "an event is shown twice"
    return {row.event_id: row.updated for row in rows}


async def test_follow_keeps_the_table_equal_to_the_truth() -> None:
    app, emulator, clock, gate = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = set(table_rows(app))
        await pilot.press("F")
        await wait_for_poll(pilot, app, 1)
        assert "following" in app.explorer.breadcrumb.badge
        first_seen: dict[str, float] = {}
        moved: set[str] = set()
        for poll in range(2, 26):  # 24 polls over four minutes of live traffic
            clock.advance(10)
            gate.release()
            await wait_for_poll(pilot, app, poll)
            for event_id, stamp in table_rows(app).items():
                if event_id in first_seen and stamp > first_seen[event_id]:
                    moved.add(event_id)
                first_seen.setdefault(event_id, stamp)
        follower = app.explorer.follow.follower
        assert follower is not None and follower.started_since is not None
        truth = {
            e["id"]: parse_api_datetime(e["date_updated"]).timestamp()
            for e in emulator.expected(
                {"date_updated__gte": to_api_datetime(follower.started_since)}
            )
        }
        shown = table_rows(app)
        assert len(set(truth) - before) >= 100, "fewer than 100 live events: proves too little"
        assert not set(truth) - set(shown), "follow missed events"
        assert {i: shown[i] for i in truth} == truth, "a consolidated event kept an old date"
        assert moved, "no consolidated event was updated in place"
        assert not app.explorer.follow.queue.pending
        # Newest first, as the log orders them: a consolidated row moved to its new place.
        rows = [app.explorer.table.row_at(i) for i in range(app.explorer.table.row_count)]
        stamps = [row.updated for row in rows]
        assert stamps == sorted(stamps, reverse=True), "times out of order"
        assert gate.delays and all(d == 5.0 for d in gate.delays)
        await pilot.press("F")
        await pilot.pause()
        assert app.explorer.follow.follower is None and app.explorer.breadcrumb.badge == ""


async def test_follow_pauses_below_the_top_and_home_resumes() -> None:
    app, _emulator, clock, gate = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("F")
        await wait_for_poll(pilot, app, 1)
        await pilot.press("pagedown")
        await pilot.pause()
        assert not app.explorer.table.at_top
        top_id = app.explorer.table.event_id_at(0)
        cursor_id = app.explorer.table.cursor_event_id
        rows = app.explorer.table.row_count
        for poll in range(2, 6):
            clock.advance(15)
            gate.release()
            await wait_for_poll(pilot, app, poll)
        assert app.explorer.follow.queue.pending, "no new event in a minute of live traffic"
        assert app.explorer.table.event_id_at(0) == top_id and app.explorer.table.row_count == rows
        assert app.explorer.table.cursor_event_id == cursor_id  # the reader is not disturbed
        assert f"+{len(app.explorer.follow.queue.pending)} new" in app.explorer.breadcrumb.badge
        waiting = set(app.explorer.follow.queue.pending)
        await pilot.press("home")
        await pilot.pause()
        assert not app.explorer.follow.queue.pending and "new" not in app.explorer.breadcrumb.badge
        assert app.explorer.table.cursor_index == 0
        assert waiting <= set(table_rows(app))
        assert app.explorer.table.flashing >= waiting
        await pilot.press("F")
        await pilot.pause()


async def test_follow_respects_the_local_filter_and_navigation_stops_it() -> None:
    app, _emulator, clock, gate = live_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.explorer.set_local_filter("action=updated")
        await settle(pilot)
        await pilot.press("F")
        await wait_for_poll(pilot, app, 1)
        for poll in range(2, 5):
            clock.advance(20)
            gate.release()
            await wait_for_poll(pilot, app, poll)
        actions = {app.explorer.table.row_at(i).action for i in range(app.explorer.table.row_count)}
        assert actions == {"updated"}
        await pilot.press("backspace")
        await pilot.pause()
        assert app.explorer.follow.follower is None
