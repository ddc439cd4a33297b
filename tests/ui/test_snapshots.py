"""SVG snapshots of the explorer's screens (seeded data, frozen clock, UTC, 120×40, and
the 80×24 and 60×15 layouts).

Update them deliberately with ``pytest tests/ui/test_snapshots.py --snapshot-update``
after looking at the new pictures.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input
from ui_support import SIZE, UI_NOW, make_app, make_client, settle

from close_tui.core.filters import EventFilter
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock

Run = Callable[[Pilot[Any]], Awaitable[None]]


@pytest.fixture
def ui_emulator() -> Emulator:
    """A fresh emulator per picture (shadows the shared one): the status bar shows the
    rate budget left, and the shared emulator's frozen clock never resets its window, so
    a picture taken after other tests would show (and do) something else."""
    return Emulator(EmulatorConfig(), clock=FakeClock(UI_NOW))


def prepared(then: Run | None = None) -> Run:
    async def run_before(pilot: Pilot[Any]) -> None:
        for field in pilot.app.query(Input):
            field.cursor_blink = False
        await settle(pilot)
        if then is not None:
            await then(pilot)
            await settle(pilot)

    return run_before


def test_main_view(snap_compare: Any, ui_emulator: Emulator) -> None:
    app = make_app(ui_emulator)
    assert snap_compare(app, terminal_size=SIZE, run_before=prepared())


def test_filtered_view(snap_compare: Any, ui_emulator: Emulator) -> None:
    lead = sorted(ui_emulator.leads)[3]
    app = make_app(ui_emulator, initial_filter=EventFilter(lead_id=lead, object_type="opportunity"))
    assert snap_compare(app, terminal_size=SIZE, run_before=prepared())


def test_detail_of_an_update(snap_compare: Any, ui_emulator: Emulator) -> None:
    update = next(e for e in ui_emulator.events() if e["object_type"] == "opportunity"
                  and e["action"] == "updated" and "status_label" in e["changed_fields"])
    app = make_app(ui_emulator, initial_filter=EventFilter(
        object_type="opportunity", object_id=update["object_id"]))

    async def open_it(pilot: Pilot[Any]) -> None:
        index = pilot.app.explorer.table.index_of(update["id"])  # type: ignore[attr-defined]
        pilot.app.explorer.table.move_cursor(index)  # type: ignore[attr-defined]
        await pilot.press("enter")

    assert snap_compare(app, terminal_size=SIZE, run_before=prepared(open_it))


def test_help(snap_compare: Any, ui_emulator: Emulator) -> None:
    async def ask(pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")

    assert snap_compare(make_app(ui_emulator), terminal_size=SIZE, run_before=prepared(ask))


def test_error(snap_compare: Any, ui_emulator: Emulator) -> None:
    client = make_client(ui_emulator, key="api_0000000000000000000000.NotTheKey00000000000000")
    app = make_app(client=client)
    assert snap_compare(app, terminal_size=SIZE, run_before=prepared())


def test_empty_result(snap_compare: Any, ui_emulator: Emulator) -> None:
    """A filter nothing matches, applied from the whole log: the footer says so and the
    detail pane no longer shows the event highlighted before."""
    async def apply_it(pilot: Pilot[Any]) -> None:
        pilot.app.explorer.apply_filter(  # type: ignore[attr-defined]
            EventFilter(request_id="req_" + "0" * 22))

    assert snap_compare(make_app(ui_emulator), terminal_size=SIZE,
                        run_before=prepared(apply_it))


def test_form_explains_a_partial_combination(snap_compare: Any, ui_emulator: Emulator) -> None:
    async def type_action(pilot: Pilot[Any]) -> None:
        await pilot.press("f")
        field = pilot.app.explorer.form.field_input("request_id")  # type: ignore[attr-defined]
        # Focus first, then type: focusing selects what a field holds (select_on_focus),
        # and a deferred focus landing after the value would select it in some runs.
        field.focus()
        await settle(pilot)
        field.value = "req_" + "0" * 22
        await pilot.pause()

    assert snap_compare(make_app(ui_emulator), terminal_size=SIZE,
                        run_before=prepared(type_action))


def test_pivot_breadcrumb(snap_compare: Any, ui_emulator: Emulator) -> None:
    """``L`` on a lead's event: the lead's events, and the trail above the table."""
    lead_event = next(i for i, e in enumerate(ui_emulator.events()[:50])
                      if e["object_type"] == "lead")

    async def pivot(pilot: Pilot[Any]) -> None:
        pilot.app.explorer.table.move_cursor(lead_event)  # type: ignore[attr-defined]
        await settle(pilot)
        await pilot.press("L")

    assert snap_compare(make_app(ui_emulator), terminal_size=SIZE, run_before=prepared(pivot))


def test_local_filter_counter(snap_compare: Any, ui_emulator: Emulator) -> None:
    async def local(pilot: Pilot[Any]) -> None:
        pilot.app.explorer.set_local_filter("user_id=null changed_fields~status")  # type: ignore[attr-defined]

    assert snap_compare(make_app(ui_emulator), terminal_size=SIZE, run_before=prepared(local))


def test_web_link_notification(snap_compare: Any, ui_emulator: Emulator) -> None:
    async def link(pilot: Pilot[Any]) -> None:
        await pilot.press("o")

    assert snap_compare(make_app(ui_emulator), terminal_size=SIZE, run_before=prepared(link))


def test_follow_new_badge(snap_compare: Any) -> None:
    """Following, scrolled down: new events wait behind "+N new"."""
    import asyncio

    clock = FakeClock(UI_NOW)
    emulator = Emulator(EmulatorConfig(n_leads=30, n_users=6, live=True), clock=clock)
    tickets: asyncio.Queue[None] = asyncio.Queue()

    async def gate(_: float) -> None:
        await tickets.get()

    # A fixed monotonic clock: the server's time is then exactly its last Date header;
    # a long flash: the rows changed in place are still highlighted when the picture is taken.
    client = make_client(emulator, monotonic=lambda: 0.0)
    app = make_app(client=client, follow_sleep=gate, flash_seconds=600)

    async def follow(pilot: Pilot[Any]) -> None:
        for field in pilot.app.query(Input):
            field.cursor_blink = False
        await settle(pilot)
        await pilot.press("F", "pagedown")
        for polls in (2, 3):
            clock.advance(20)
            tickets.put_nowait(None)
            for _ in range(400):
                if pilot.app.explorer.follow.polls >= polls:  # type: ignore[attr-defined]
                    break
                await pilot.pause()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=follow)


def test_layout_80x24(snap_compare: Any, ui_emulator: Emulator) -> None:
    """80×24 with the detail pane open: the table keeps TIME and ACTION; a key bar fits."""
    assert snap_compare(make_app(ui_emulator), terminal_size=(80, 24), run_before=prepared())


def test_layout_60x15(snap_compare: Any, ui_emulator: Emulator) -> None:
    """60×15: the table alone, the key bar whole on the last line."""
    assert snap_compare(make_app(ui_emulator), terminal_size=(60, 15), run_before=prepared())


def test_layout_60x15_detail(snap_compare: Any, ui_emulator: Emulator) -> None:
    """60×15 after Enter: the detail pane over the table; Esc goes back."""
    async def open_it(pilot: Pilot[Any]) -> None:
        await pilot.press("enter")

    assert snap_compare(make_app(ui_emulator), terminal_size=(60, 15),
                        run_before=prepared(open_it))


def test_help_in_the_detail_pane(snap_compare: Any, ui_emulator: Emulator) -> None:
    """F1 in the JSON view: its keys (Space folds a node), no local filter syntax."""
    async def ask(pilot: Pilot[Any]) -> None:
        explorer = pilot.app.explorer  # type: ignore[attr-defined]
        explorer.detail.show_tab("json")
        explorer.detail.json_view.focus()
        await settle(pilot)
        await pilot.press("f1")

    assert snap_compare(make_app(ui_emulator), terminal_size=SIZE, run_before=prepared(ask))


def test_lead_finder_lists_matches_by_name(snap_compare: Any, ui_emulator: Emulator) -> None:
    """Typing part of a name in the lead field: the matches (name, status, short id)
    open under it."""

    async def type_a_name(pilot: Pilot[Any]) -> None:
        finder = pilot.app.explorer.form.finder("lead_id")
        await pilot.press("f", *"hoo")
        for _ in range(200):  # bounded: the debounce, then one search
            await pilot.pause(0.02)
            if finder.is_open and finder.shown_text == "hoo":
                return
        raise AssertionError("the matches never opened")

    assert snap_compare(make_app(ui_emulator), terminal_size=SIZE,
                        run_before=prepared(type_a_name))
