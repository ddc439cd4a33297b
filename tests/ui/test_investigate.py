"""Investigating like an expert: pivots, breadcrumb, back/forward, local filter, saved
views and the web link, driven with Pilot against the seeded emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ui_support import SIZE, record_notifications, settle

from close_tui.core.filters import EventFilter
from close_tui.core.predicates import matches_api, parse
from close_tui.emulator import Emulator
from close_tui.ui.app import CloseTuiApp, ConfigViews
from close_tui.ui.widgets.json_view import JsonView

AppFactory = Callable[..., CloseTuiApp]


def shown_ids(app: CloseTuiApp) -> list[str]:
    return [app.explorer.table.event_id_at(i) for i in range(app.explorer.table.row_count)]


def event_requests(emulator: Emulator, since: int) -> list[str]:
    """Event requests (list pages and single events) since a point of the log."""
    return [r.path for r in emulator.request_log[since:] if r.path.startswith("/api/v1/event/")]


async def go_to_row(pilot: Any, app: CloseTuiApp, index: int) -> None:
    app.explorer.table.move_cursor(index)
    await settle(pilot)


async def test_pivots_breadcrumb_and_back_without_a_request(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("pagedown")  # somewhere down the list, more pages loaded
        await settle(pilot)
        await pilot.press("down", "down")
        await settle(pilot)
        home_rows, home_cursor = shown_ids(app), app.explorer.table.cursor_index
        home_scroll = app.explorer.table.scroll_y
        assert home_cursor is not None and home_scroll > 0
        row = app.explorer.table.row_at(home_cursor)
        assert row.lead_id
        start = len(ui_emulator.request_log)

        await pilot.press("L")
        await settle(pilot)
        assert app.explorer.current_filter == EventFilter(lead_id=row.lead_id)
        sent = [r.params for r in ui_emulator.request_log[start:] if r.path == "/api/v1/event/"]
        assert sent[0] == {"lead_id": row.lead_id, "_limit": "50"}
        expected = [e["id"] for e in ui_emulator.expected({"lead_id": row.lead_id})]
        assert shown_ids(app) == expected[: app.explorer.table.row_count]
        trail = app.explorer.breadcrumb.text
        assert trail.startswith("All events › lead ")

        await go_to_row(pilot, app, min(2, app.explorer.table.row_count - 1))
        lead_rows, lead_cursor = shown_ids(app), app.explorer.table.cursor_index
        event = app.explorer.detail.event
        assert event is not None and event.request_id
        await pilot.press("R")
        await settle(pilot)
        assert app.explorer.current_filter == EventFilter(request_id=event.request_id)
        assert app.explorer.breadcrumb.text.startswith(trail + " › request req_")
        assert event.id in shown_ids(app)

        # Back twice: each view as it was left, and not one request sent.
        before_back = len(ui_emulator.request_log)
        await pilot.press("backspace")
        await settle(pilot)
        assert app.explorer.current_filter == EventFilter(lead_id=row.lead_id)
        assert shown_ids(app) == lead_rows and app.explorer.table.cursor_index == lead_cursor
        assert app.explorer.breadcrumb.text == trail
        await pilot.press("alt+left")
        await settle(pilot)
        assert app.explorer.current_filter == EventFilter()
        assert shown_ids(app) == home_rows
        assert app.explorer.table.cursor_index == home_cursor
        assert app.explorer.table.scroll_y == home_scroll
        assert app.explorer.breadcrumb.text == "All events"
        assert app.explorer.form.current_filter in (None, EventFilter())
        assert event_requests(ui_emulator, before_back) == []

        # Forward again, still from memory.
        await pilot.press("alt+right")
        await settle(pilot)
        assert shown_ids(app) == lead_rows
        assert event_requests(ui_emulator, before_back) == []
        # A new step drops the forward entries.
        await pilot.press("U")
        await settle(pilot)
        assert not app.explorer.history.can_go_forward()


async def test_a_pivot_on_a_missing_field_says_so(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    system = next(i for i, e in enumerate(ui_emulator.events()[:50]) if e["user_id"] is None)
    app = app_factory()
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await go_to_row(pilot, app, system)
        start = len(ui_emulator.request_log)
        await pilot.press("U")
        await settle(pilot)
        assert app.explorer.current_filter == EventFilter()
        assert any("No user caused this event" in text for text in said)
        assert ui_emulator.request_log[start:] == []
        assert not app.explorer.history.can_go_back()


async def test_object_pivot_and_an_id_in_the_json(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        event = app.explorer.detail.event
        assert event is not None
        await pilot.press("O")
        await settle(pilot)
        assert app.explorer.current_filter == EventFilter(object_type=event.object_type,
                                                 object_id=event.object_id)
        assert event.object_type in app.explorer.breadcrumb.text
        # Enter on an id in the JSON view pivots too (the message the view posts).
        assert event.lead_id
        pivot = JsonView.PivotRequested("lead_id", event.lead_id)
        app.explorer.detail.json_view.post_message(pivot)
        await settle(pilot)
        assert app.explorer.current_filter == EventFilter(lead_id=event.lead_id)
        assert len(app.explorer.breadcrumb.labels) == 3


async def test_the_web_link_of_the_lead(ui_emulator: Emulator, app_factory: AppFactory) -> None:
    app = app_factory()
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.explorer.table
        row = next(i for i in range(table.row_count) if table.row_at(i).lead_id)
        await go_to_row(pilot, app, row)
        lead_id = app.explorer.table.row_at(row).lead_id
        await pilot.press("o")
        url = f"https://app.close.com/lead/{lead_id}/"
        assert app.clipboard == url
        assert any(url in text and "[link=" in text for text in said)


def _truth(emulator: Emulator, predicate: str) -> list[str]:
    parsed = parse(predicate)
    return [e["id"] for e in emulator.events() if matches_api(parsed, e)]


async def test_local_filter_pages_until_the_screen_is_full_and_counts(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        start = len(ui_emulator.request_log)
        await pilot.press("slash")
        assert app.explorer.local_bar.editing and app.focused is app.explorer.local_bar.input
        await pilot.press(*"user_id=null", "enter")
        await settle(pilot)
        truth = _truth(ui_emulator, "user_id=null")
        shown = shown_ids(app)
        assert shown == truth[: len(shown)]
        assert len(shown) >= 36  # at least a screenful of matches
        assert app.explorer.feed.scanned > len(shown)
        sent = [r.params for r in ui_emulator.request_log[start:] if r.path == "/api/v1/event/"]
        feed = app.explorer.feed
        assert len(sent) == feed.pager.pages_fetched  # type: ignore[attr-defined]
        assert len(sent) >= app.explorer.feed.scanned / 50  # (the API may answer a page short)
        assert all("user_id" not in p for p in sent)  # local: the server query is unchanged
        status = app.explorer.local_bar.status_text
        assert status.startswith("local filter: user_id=null")
        assert f"scanned {feed.scanned:,}" in status and f"{len(shown)} match" in status
        assert app.explorer.breadcrumb.text == "All events › where user_id=null"

        # Clearing it returns to the full list, as it was (no request).
        before = len(ui_emulator.request_log)
        await pilot.press("slash")
        app.explorer.local_bar.input.value = ""
        await pilot.press("enter")
        await settle(pilot)
        assert not app.explorer.feed.predicate and app.explorer.local_bar.status_text == ""
        assert ui_emulator.request_log[before:] == []
        assert app.explorer.breadcrumb.text == "All events"


async def test_a_rare_local_filter_can_be_stopped_and_resumed(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    rare = "api_key_id=" + next(
        e["api_key_id"] for e in ui_emulator.events()[::-1] if e["api_key_id"]
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.explorer.set_local_filter(rare)
        for _ in range(3):
            await pilot.pause()
        await pilot.press("escape")
        await settle(pilot)
        assert app.explorer.feed.scan_stopped
        scanned = app.explorer.feed.scanned
        assert "stopped" in app.explorer.local_bar.status_text
        assert f"scanned {scanned:,}" in app.explorer.local_bar.status_text
        start = len(ui_emulator.request_log)
        await settle(pilot)
        assert ui_emulator.request_log[start:] == []  # stopped means stopped
        await pilot.press("end")  # resumes
        for _ in range(3):
            await pilot.pause()
        assert not app.explorer.feed.scan_stopped
        await pilot.press("escape")
        await settle(pilot)
        assert app.explorer.feed.scanned > scanned
        assert set(shown_ids(app)) <= set(_truth(ui_emulator, rare))


async def test_saved_views_round_trip(
    ui_emulator: Emulator, app_factory: AppFactory, tmp_path: Path
) -> None:
    path = tmp_path / "config.json"
    user = ui_emulator.users[2]["id"]
    app = app_factory(views=ConfigViews("default", path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.explorer.apply_filter(EventFilter(user_id=user))
        await settle(pilot)
        app.explorer.set_local_filter("changed_fields~status")
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Save view")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        field = app.screen.query_one("#name-input")
        field.value = "status changes by one user"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
    saved = json.loads(path.read_text())["profiles"]["default"]["views"]
    assert saved == {"status changes by one user": {
        "params": {"user_id": user}, "predicate": "changed_fields~status"}}

    again = app_factory(views=ConfigViews("default", path))
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in again.get_system_commands(again.screen)]
        assert "View: status changes by one user" in titles
        command = next(c for c in again.get_system_commands(again.screen)
                       if c.title == "View: status changes by one user")
        command.callback()
        await settle(pilot)
        assert again.explorer.current_filter == EventFilter(user_id=user)
        assert again.explorer.feed.predicate_text == "changed_fields~status"
        assert again.explorer.breadcrumb.text == "All events › view status changes by one user"
        truth = [e["id"] for e in ui_emulator.expected({"user_id": user})
                 if any("status" in f for f in e["changed_fields"])]
        assert shown_ids(again) == truth[: again.explorer.table.row_count]
        delete = next(c for c in again.get_system_commands(again.screen)
                      if c.title == "Delete view: status changes by one user")
        delete.callback()
    assert json.loads(path.read_text())["profiles"]["default"]["views"] == {}


async def test_export_the_current_view_with_progress(
    ui_emulator: Emulator, app_factory: AppFactory, tmp_path: Path
) -> None:
    lead = sorted(ui_emulator.leads)[5]
    app = app_factory(initial_filter=EventFilter(lead_id=lead))
    target = tmp_path / "lead.jsonl"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        field = app.screen.query_one("#export-path")
        field.value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        screen = app.explorer.export_screen
        assert screen is not None and screen.finished
        assert screen.progress_text.startswith("done: ")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen
    written = [json.loads(line)["id"] for line in target.read_text().splitlines()]
    assert written == [e["id"] for e in ui_emulator.expected({"lead_id": lead})]


async def test_export_applies_the_local_filter_to_csv(
    ui_emulator: Emulator, app_factory: AppFactory, tmp_path: Path
) -> None:
    lead = sorted(ui_emulator.leads)[5]
    app = app_factory(initial_filter=EventFilter(lead_id=lead))
    target = tmp_path / "updates.csv"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.explorer.set_local_filter("action=updated")
        await settle(pilot)
        app.explorer.action_export()
        await pilot.pause()
        app.screen.query_one("#export-path").value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        screen = app.explorer.export_screen
    expected = [e["id"] for e in ui_emulator.expected({"lead_id": lead})
                if e["action"] == "updated"]
    assert screen is not None and screen.progress_text.startswith(f"done: {len(expected)} events")
    lines = target.read_text().splitlines()
    assert lines[0].startswith("id,date_updated")
    assert [line.split(",")[0] for line in lines[1:]] == expected


async def test_an_export_can_be_cancelled(ui_emulator: Emulator, tmp_path: Path) -> None:
    from ui_support import HeldRequests, make_app, make_client

    held = HeldRequests(ui_emulator)
    app = make_app(client=make_client(ui_emulator, transport=held))
    target = tmp_path / "all.jsonl"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        held.hold = True  # the export's page requests wait: it is running when Esc comes
        app.explorer.action_export()
        await pilot.pause()
        app.screen.query_one("#export-path").value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        for _ in range(100):
            if held.waiting:
                break
            await pilot.pause()
        assert held.waiting, "the export never asked for a page"
        await pilot.press("escape")
        await settle(pilot)
        screen = app.explorer.export_screen
        assert screen is not None and screen.finished
        assert screen.progress_text.startswith("cancelled: 0 events in ")
        held.release()
        await settle(pilot)
        assert screen.progress_text.startswith("cancelled: ")  # a late answer changes nothing
    assert target.read_text() == ""
