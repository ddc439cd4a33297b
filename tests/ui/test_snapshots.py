"""SVG snapshots of the explorer's screens (seeded data, frozen clock, UTC, 120×40).

Update them deliberately with ``pytest tests/ui/test_snapshots.py --snapshot-update``
after looking at the new pictures.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input
from ui_support import SIZE, make_app, make_client, settle

from close_tui.core.filters import EventFilter
from close_tui.emulator import Emulator

Run = Callable[[Pilot[Any]], Awaitable[None]]


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
        index = pilot.app.table.index_of(update["id"])  # type: ignore[attr-defined]
        pilot.app.table.move_cursor(index)  # type: ignore[attr-defined]
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
    app = make_app(ui_emulator, initial_filter=EventFilter(request_id="req_" + "0" * 22))
    assert snap_compare(app, terminal_size=SIZE, run_before=prepared())


def test_form_explains_a_partial_combination(snap_compare: Any, ui_emulator: Emulator) -> None:
    async def type_action(pilot: Pilot[Any]) -> None:
        await pilot.press("f")
        field = pilot.app.form.field_input("request_id")  # type: ignore[attr-defined]
        field.focus()
        field.value = "req_" + "0" * 22
        await pilot.pause()

    assert snap_compare(make_app(ui_emulator), terminal_size=SIZE,
                        run_before=prepared(type_action))
