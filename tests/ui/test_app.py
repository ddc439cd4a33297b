"""The explorer's behaviour, driven like a person would: Pilot against the emulator."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from textual import events
from ui_support import SIZE, UI_NOW, make_app, make_client, no_sleep, settle

from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.filters import SUPPORTED_COMBINATIONS, EventFilter
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.ui.app import CloseTuiApp
from close_tui.ui.screens.help import HelpScreen

AppFactory = Callable[..., CloseTuiApp]


def event_requests(emulator: Emulator, since: int) -> list[dict[str, str]]:
    return [r.params for r in emulator.request_log[since:] if r.path == "/api/v1/event/"]


def values_for(emulator: Emulator, combo: frozenset[str]) -> dict[str, str]:
    """Real values from the dataset for a combination, so the result is not empty."""
    for raw in emulator.events():
        values = {name: raw.get(name) for name in combo}
        if all(values.values()) and emulator.expected({k: str(v) for k, v in values.items()}):
            return {k: str(v) for k, v in values.items()}
    raise AssertionError(f"no event has all of {sorted(combo)}")


async def test_first_page_shows_at_once(ui_emulator: Emulator, app_factory: AppFactory) -> None:
    start = len(ui_emulator.request_log)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.explorer.table.row_count >= 50
        first = event_requests(ui_emulator, start)[0]
        assert first == {"_limit": "50"}
        assert app.explorer.status.info.paging in ("more available", "loading…")
        assert app.explorer.status.info.query.startswith("_limit=50")
        assert "Los Pollos Hermanos" in app.explorer.status.info.organization
        assert app.explorer.table.event_id_at(0) == ui_emulator.events()[0]["id"]


@pytest.mark.parametrize(
    "combo", SUPPORTED_COMBINATIONS, ids=lambda c: "+".join(sorted(c)) or "none"
)
async def test_every_supported_combination_applies(
    ui_emulator: Emulator, app_factory: AppFactory, combo: frozenset[str]
) -> None:
    values = values_for(ui_emulator, combo) if combo else {}
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        start = len(ui_emulator.request_log)
        await pilot.press("f")
        for name, value in values.items():
            field = app.explorer.form.field_input(name)
            field.focus()
            field.value = value
            await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        sent = event_requests(ui_emulator, start)
        assert sent, "Apply sent no request"
        assert {k: v for k, v in sent[0].items() if k != "_limit"} == values
        expected = ui_emulator.expected(values)
        shown = [app.explorer.table.event_id_at(i) for i in range(app.explorer.table.row_count)]
        assert shown == [e["id"] for e in expected[: len(shown)]]
        assert app.focused is app.explorer.table


async def test_unsupported_set_cannot_be_applied(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        start = len(ui_emulator.request_log)
        await pilot.press("f")
        app.explorer.form.field_input("action").value = "deleted"
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert event_requests(ui_emulator, start) == []
        assert app.explorer.form.current_filter is None
        app.explorer.form.field_input("request_id").value = "req_" + "a" * 22
        await pilot.pause()
        assert app.explorer.form.field_input("lead_id").disabled


async def test_scrolling_to_the_end_loads_the_next_page_with_filters_resent(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    user = ui_emulator.users[1]["id"]
    app = app_factory(initial_filter=EventFilter(user_id=user))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        loaded = app.explorer.table.row_count
        start = len(ui_emulator.request_log)
        await pilot.press("end")
        await settle(pilot)
        sent = event_requests(ui_emulator, start)
        assert sent and all(p["user_id"] == user and p["_cursor"] for p in sent)
        assert all("_skip" not in p for p in sent)
        assert app.explorer.table.row_count > loaded
        expected = [e["id"] for e in ui_emulator.expected({"user_id": user})]
        shown = [app.explorer.table.event_id_at(i) for i in range(app.explorer.table.row_count)]
        assert shown == expected[: len(shown)]


async def test_mouse_wheel_near_the_end_loads_more(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        loaded = app.explorer.table.row_count
        assert app.explorer.table.footer_state == "more"
        for _ in range(40):  # the wheel, as the terminal reports it
            app.explorer.table.post_message(
                events.MouseScrollDown(app.explorer.table, 10, 10, 0, 1, 0, False, False, False)
            )
            await pilot.pause()
        await settle(pilot)
        assert app.explorer.table.scroll_y > 0
        assert app.explorer.table.row_count > loaded


async def test_a_stale_page_for_an_old_filter_is_dropped() -> None:
    emulator = Emulator(EmulatorConfig(latency_ms=150), clock=FakeClock(UI_NOW))
    app = make_app(emulator)
    lead = next(iter(emulator.leads))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # The unfiltered first page is in flight (150 ms); switch filters before it lands.
        app.explorer.apply_filter(EventFilter(lead_id=lead))
        await settle(pilot)
        shown = {app.explorer.table.event_id_at(i) for i in range(app.explorer.table.row_count)}
        expected = {e["id"] for e in emulator.expected({"lead_id": lead})}
        assert shown and shown <= expected


async def test_highlighting_a_row_fetches_it_by_id(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        start = len(ui_emulator.request_log)
        await pilot.press("down", "down")
        await settle(pilot)
        target = app.explorer.table.event_id_at(2)
        paths = [r.path for r in ui_emulator.request_log[start:]]
        assert f"/api/v1/event/{target}/" in paths
        assert app.explorer.detail.event is not None and app.explorer.detail.event.id == target
        # Cached: going back to it does not fetch again.
        await pilot.press("up", "down")
        await settle(pilot)
        assert [r.path for r in ui_emulator.request_log[start:]].count(
            f"/api/v1/event/{target}/"
        ) == 1
        await pilot.press("r")  # refresh reloads the list from the newest
        await settle(pilot)


async def test_enter_opens_a_hidden_detail_pane(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        assert not app.explorer.detail.display
        await pilot.press("enter")
        await settle(pilot)
        assert app.explorer.detail.display
        assert app.explorer.detail.event is not None
        assert app.explorer.detail.event.id == app.explorer.table.cursor_event_id


async def test_copy_id_and_json(ui_emulator: Emulator, app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("y")
        assert app.clipboard == app.explorer.table.cursor_event_id
        await pilot.press("Y")
        assert app.explorer.detail.event is not None
        assert app.explorer.detail.event.id in app.clipboard and app.clipboard.startswith("{")


async def test_time_modes_cycle(ui_emulator: Emulator, app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        modes = [app.explorer.table.time_mode]
        for _ in range(3):
            await pilot.press("t")
            modes.append(app.explorer.table.time_mode)
        assert modes == ["local", "utc", "relative", "local"]


async def test_help_shows_the_keys_for_the_focus(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen) and app.screen.where == "Event table"
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f")
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen) and app.screen.where == "Filter form"


async def test_letters_typed_in_the_form_are_text_not_commands(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await pilot.press("q", "d", "t", "r", "L", "F", "o", "slash", "backspace")
        await pilot.pause()
        assert app.is_running and app.explorer.detail.display
        assert app.explorer.table.time_mode == "local"
        assert app.explorer.follow.follower is None and not app.explorer.local_bar.editing
        assert len(app.explorer.history) == 1 and app.explorer.current_filter == EventFilter()


async def test_quit_with_q(ui_emulator: Emulator, app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_wrong_key_is_shown_not_crashed_on(ui_emulator: Emulator) -> None:
    client = make_client(ui_emulator, key="api_0000000000000000000000.NotTheKey00000000000000")
    app = make_app(client=client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.explorer.table.footer_state == "error"
        error = app.explorer.status.info.error
        assert "401" in error or "auth" in error.lower()
        assert "NotTheKey" not in app.explorer.status.info.error


async def test_server_errors_are_shown_and_r_retries() -> None:
    emulator = Emulator(
        EmulatorConfig(n_leads=30, fault_rate=1.0, fault_kinds=("503",)),
        clock=FakeClock(UI_NOW),
    )
    app = make_app(emulator)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.explorer.table.footer_state == "error"
        assert "503" in app.explorer.table.footer_message
        emulator.config.fault_rate = 0.0
        await pilot.press("r")
        await settle(pilot)
        assert app.explorer.table.footer_state in ("more", "end")
        assert app.explorer.table.row_count > 0 and app.explorer.status.info.error == ""


async def test_a_dead_network_is_shown(ui_emulator: Emulator) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = CloseClient(
        f"http://127.0.0.1:{port}/api/v1",
        api_key="api_x.y",
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, jitter=0.0),
        sleep=no_sleep,
    )
    app = make_app(client=client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.explorer.table.footer_state == "error"
        assert app.explorer.status.info.error


async def test_a_vanished_event_says_so(ui_emulator: Emulator, app_factory: AppFactory) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.explorer.show_detail("ev_0000000000000000000000")
        await settle(pilot)
        header: Any = app.explorer.detail.query_one("#detail-header").render()
        assert "no longer available" in str(header)


async def test_the_last_applied_filter_is_reported(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    remembered: list[EventFilter] = []
    lead = next(iter(ui_emulator.leads))
    app = app_factory(on_filter_applied=remembered.append)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        app.explorer.form.field_input("lead_id").value = lead
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
    assert remembered[-1] == EventFilter(lead_id=lead)


async def test_help_lists_the_investigate_keys_and_nothing_is_coming_soon(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        table: Any = app.screen.render_keys()  # a rich Table: check its cells
        cells = [str(cell) for column in table.columns for cell in column._cells]
        for expected in ("Investigate", "This lead's events", "Back", "Follow",
                         "Local filter (/)", "Lead in Close (link)", "Export to a file"):
            assert expected in cells, expected
        assert "Coming soon" not in cells
