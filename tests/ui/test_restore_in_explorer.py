"""Restore from the explorer: `u` on a deleted event opens the plan; confirming
re-creates the lead; "show restored lead" pivots the explorer to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_support import SIZE, UI_NOW, make_app, settle

from close_tui.core.filters import EventFilter
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.emulator.deletions import cases_of
from close_tui.emulator.writes import writes_of
from close_tui.ui.screens.restore import RestoreScreen


@pytest.fixture
def isolated_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The journal goes to the user data folder: keep it inside the test."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


async def test_u_on_a_deleted_lead_plans_then_restores_and_shows_the_new_lead(
    isolated_data: Path,
) -> None:
    emulator = Emulator(EmulatorConfig(n_leads=40, n_users=6), clock=FakeClock(UI_NOW))
    lead = cases_of(emulator.sim).api_key_lead_id
    deleted = EventFilter(lead_id=lead, object_type="lead", action="deleted")
    app = make_app(emulator, initial_filter=deleted)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.explorer.table.row_count == 1
        app.explorer.set_focus(app.explorer.table)
        await pilot.press("u")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RestoreScreen) and screen.state == "plan"
        assert [r for r in emulator.request_log if r.method != "GET"] == []  # a plan only
        await pilot.press("enter")  # Restore (the default for a lead deleted by a key)
        await settle(pilot)
        assert screen.state == "result"
        assert screen.result is not None and screen.result.ok
        new_lead = screen.result.new_lead_id
        assert new_lead and len(writes_of(emulator).created) == len(screen.plan.items)  # type: ignore[union-attr]
        await pilot.click("#restore-open-new")
        await settle(pilot)
        assert app.screen is app.explorer
        assert app.explorer.current_filter == EventFilter(lead_id=new_lead)


async def test_u_on_an_event_that_is_no_deletion_writes_nothing_and_says_why(
    isolated_data: Path,
) -> None:
    emulator = Emulator(EmulatorConfig(n_leads=40, n_users=6), clock=FakeClock(UI_NOW))
    app = make_app(emulator, initial_filter=EventFilter(object_type="lead", action="created"))
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.explorer.set_focus(app.explorer.table)
        original = app.explorer.notify

        def record(message: str, **kw: object) -> None:
            notes.append(message)
            original(message, **kw)  # type: ignore[arg-type]

        app.explorer.notify = record  # type: ignore[method-assign]
        await pilot.press("u")
        await settle(pilot)
        assert not isinstance(app.screen, RestoreScreen)
        assert notes == ["Restore works on a 'deleted' event"]
    assert [r for r in emulator.request_log if r.method != "GET"] == []
