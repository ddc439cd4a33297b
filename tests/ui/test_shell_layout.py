"""The explorer's shell as a new user sees it: small terminals, an empty result, the local
scan's words, follow's order, the help, the palette, remapped keys, screenshots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ui_support import SIZE, HeldRequests, make_app, make_client, record_notifications, settle

from close_tui.core.filters import EventFilter
from close_tui.emulator import Emulator
from close_tui.ui.app import CloseTuiApp
from close_tui.ui.screens.help import HelpScreen
from close_tui.ui.widgets.key_bar import KeyBar, fit_keys

AppFactory = Callable[..., CloseTuiApp]
EMPTY = EventFilter(request_id="req_" + "0" * 22)




def visible_rows(app: CloseTuiApp) -> int:
    table = app.explorer.table
    return min(table.row_count, table.scrollable_content_region.height - 1)


# ---------------------------------------------------------------------------- sizes


async def test_at_80x24_with_the_detail_open_ten_rows_show_time_and_action(
    app_factory: AppFactory,
) -> None:
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        ex = app.explorer
        assert ex.detail.display and ex.detail.event is not None
        assert ex.table.display
        columns = [key for key, _ in ex.table.columns()]
        assert columns[:2] == ["time", "action"], columns
        assert visible_rows(app) >= 10
        assert ex.detail.region.width >= 28  # still a pane one can read


async def test_at_60x15_the_key_bar_fits_and_the_detail_opens_over_the_table(
    app_factory: AppFactory,
) -> None:
    app = app_factory()
    async with app.run_test(size=(60, 15)) as pilot:
        await settle(pilot)
        ex = app.explorer
        bar = ex.query_one(KeyBar)
        assert bar.display and bar.region.y == 14  # the last line, not clipped
        shown = fit_keys(bar.shown_keys(), bar.size.width - 2)
        descriptions = [description for _, description in shown]
        assert "Keys" in descriptions and "Quit" in descriptions
        text = bar.render().plain
        assert len(text) <= 58 and text.startswith("? Keys")
        assert not ex.detail.display  # no room beside the table: it opens over it
        await pilot.press("enter")
        await settle(pilot)
        assert ex.detail.display and not ex.table.display
        assert ex.detail.event is not None
        assert ex.detail.has_focus_within
        await pilot.press("escape")
        await settle(pilot)
        assert ex.table.display and not ex.detail.display
        assert app.focused is ex.table
        await pilot.press("d")  # d opens it too, and closes it from inside
        await settle(pilot)
        assert ex.detail.display and ex.detail.has_focus_within
        await pilot.press("d")
        await settle(pilot)
        assert not ex.detail.display and app.focused is ex.table


async def test_growing_the_terminal_brings_the_detail_pane_back_beside_the_table(
    app_factory: AppFactory,
) -> None:
    app = app_factory()
    async with app.run_test(size=(60, 15)) as pilot:
        await settle(pilot)
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        ex = app.explorer
        assert ex.detail.display and ex.table.display
        assert not ex.query_one(KeyBar).display


# ---------------------------------------------------------------------------- results


async def test_an_empty_result_says_so_and_clears_the_detail_pane(
    app_factory: AppFactory,
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ex = app.explorer
        assert ex.detail.event is not None  # an event of the unfiltered log
        ex.apply_filter(EMPTY)
        await settle(pilot)
        assert ex.table.row_count == 0
        assert ex.table.footer_state == "end"
        assert ex.table.footer_message == "no events match this filter"
        assert ex.status.info.paging == "no events match this filter"
        assert ex.detail.event is None
        header: Any = ex.detail.query_one("#detail-header").render()
        assert "no events match this filter" in str(header)


async def test_the_local_scan_says_scanning_while_it_pages(ui_emulator: Emulator) -> None:
    held = HeldRequests(ui_emulator)
    app = make_app(client=make_client(ui_emulator, transport=held))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ex = app.explorer
        held.hold = True
        ex.set_local_filter("action=deleted")  # rare: pages on and on
        for _ in range(200):
            if held.waiting:
                break
            await pilot.pause()
        assert held.waiting
        assert ex.local_bar.status_text.endswith("scanning… (Esc stops)")
        held.release()
        for _ in range(300):  # between two pages it never says "scroll for more"
            await pilot.pause()
            text = ex.local_bar.status_text
            still_paging = ex.feed.loading or ex.table.wants_more
            assert not ("scroll for more" in text and still_paging), text
            if not still_paging:
                break
        await settle(pilot)
        text = ex.local_bar.status_text
        assert text.endswith("scroll for more") or text.endswith("end of log"), text


# ---------------------------------------------------------------------------- help, palette


async def test_help_lists_the_keys_active_where_the_focus_is(app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        table_help = help_screen.text
        assert "Local filter (/)" in table_help and "field~text" in table_help
        assert "Esc closes this help" in table_help
        assert "↑ / k  Previous event" in table_help  # moves come from the bindings
        assert "Coming soon" not in table_help
        await pilot.press("escape")
        await settle(pilot)
        ex = app.explorer
        ex.detail.show_tab("json")
        ex.detail.json_view.focus()
        await settle(pilot)
        await pilot.press("f1")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen) and help_screen.where == "Detail pane"
        detail_help = help_screen.text
        assert "Local filter" not in detail_help  # "/" searches the JSON here
        assert "/  Search the JSON" in detail_help
        assert "Space  Fold / unfold this node" in detail_help
        assert "Esc closes this help" in detail_help
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, HelpScreen)


async def test_the_palette_has_one_keys_entry(app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles.count("Keys") == 1 and titles.count("Screenshot") == 1


async def test_a_screenshot_is_saved_where_it_can_be_and_says_where(
    app_factory: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()  # no ~/Downloads here
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    app = app_factory()
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Screenshot")
        command.callback()
        for _ in range(50):
            if list(work.glob("*.svg")):
                break
            await pilot.pause(0.2)
        saved = list(work.glob("*.svg"))
        assert len(saved) == 1 and saved[0].read_text().startswith("<svg")
    assert any(text == f"Screenshot saved to {saved[0]}" for text in said), said


# ---------------------------------------------------------------------------- keys


async def test_keys_remapped_in_the_config_work_and_the_help_shows_them(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    app = app_factory(keymap={"explorer.pivot_lead": "ctrl+l", "no.such.binding": "x"})
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ex = app.explorer
        row = next(i for i in range(ex.table.row_count) if ex.table.row_at(i).lead_id)
        ex.table.move_cursor(row)
        await settle(pilot)
        lead = ex.table.row_at(row).lead_id
        await pilot.press("L")  # no longer bound
        await settle(pilot)
        assert ex.current_filter == EventFilter()
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert ex.current_filter == EventFilter(lead_id=lead)
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert "ctrl+l  This lead's events" in help_screen.text
    assert any("no.such.binding" in text for text in said), said


async def test_a_view_of_one_lead_has_no_lead_column_and_others_have_one(
    app_factory: AppFactory,
) -> None:
    app = app_factory()
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        ex = app.explorer
        assert "lead" in [key for key, _ in ex.table.columns()]  # the whole log: 140 cols
        lead_id = ex.table.row_at(0).lead_id
        assert lead_id
        ex.apply_filter(EventFilter(lead_id=lead_id))
        await settle(pilot)
        columns = [key for key, _ in ex.table.columns()]
        assert "lead" not in columns and "user" in columns
        ex.action_history_back()
        await settle(pilot)
        assert "lead" in [key for key, _ in ex.table.columns()]
