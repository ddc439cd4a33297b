"""The defects a new user met in the explorer's shell (issue 11), one test each.

Each test drives the app as a person would (Pilot; defect 8's burst of keys as a
terminal delivers them) and fails on the shell before the rebuild. They reach the
explorer through :func:`explorer`, so the same test runs against the old single-class
app, where the explorer's parts were attributes of the App.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual import events
from ui_support import (
    SIZE,
    UI_NOW,
    HeldRequests,
    make_app,
    make_client,
    record_notifications,
    settle,
)

from close_tui.core.config import SavedView
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.session import DEMO_BASE_URL, Session
from close_tui.ui.app import Account, CloseTuiApp
from close_tui.ui.screens.login import LoginScreen

AppFactory = Callable[..., CloseTuiApp]


def explorer(app: CloseTuiApp) -> Any:
    """The explorer screen (the app itself before the rebuild)."""
    return getattr(app, "explorer", app)




async def wait_until(pilot: Any, condition: Callable[[], bool], what: str) -> None:
    for _ in range(300):
        if condition():
            return
        await pilot.pause()
    raise AssertionError(f"never happened: {what}")


class RecordingStore:
    """A keyring stand-in that records every secret read."""

    def __init__(self) -> None:
        self.reads: list[str] = []

    def get(self, profile: str) -> str | None:
        self.reads.append(profile)
        return "api_secret.key"

    def set(self, profile: str, key: str) -> None:
        raise AssertionError("not stored in these tests")


def account_for(emulator: Emulator, *, switch: Callable[[str], Session] | None = None,
                store: Any = None) -> Account:
    def no_session(_: str = "") -> Session:
        raise AssertionError("not used here")

    return Account(
        profile="work",
        base_url=DEMO_BASE_URL,
        store=store or RecordingStore(),
        make_client=lambda key: make_client(emulator),
        switch=switch or no_session,
        open_demo=no_session,
    )


# ---------------------------------------------------------------------------- 1


async def test_1_d_in_the_detail_pane_gives_the_focus_back_to_the_table(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    """Enter, Tab, d, j, j, Enter: the pane hides, the table keeps the keys (they used to
    land in the lead field and run ``GET /event/?lead_id=jj``)."""
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ex = explorer(app)
        await pilot.press("enter", "tab")
        await settle(pilot)
        assert ex.detail.has_focus_within
        start = len(ui_emulator.request_log)
        await pilot.press("d")
        await settle(pilot)
        assert not ex.detail.display
        assert app.focused is ex.table
        await pilot.press("j", "j", "enter")
        await settle(pilot)
        assert ex.table.cursor_index == 2
        assert ex.detail.display  # Enter opened the pane again, on the third event
        sent = [r.params for r in ui_emulator.request_log[start:] if r.path == "/api/v1/event/"]
        assert all("lead_id" not in params for params in sent)
        assert ex.form.field_input("lead_id").value == ""


# ---------------------------------------------------------------------------- 2


async def test_2_the_palette_on_the_login_screen_has_no_explorer_commands(
    ui_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    # Whatever the palette runs while the search catches up with the typing (a
    # screenshot, say) lands here, not in the working tree.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    app = CloseTuiApp(None, account=account_for(ui_emulator), now=lambda: UI_NOW,
                      local_tz=UTC)  # no key yet: the login screen opens
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for explorer_only in ("Refresh", "Clear filter", "Follow live", "Export…"):
            assert explorer_only not in titles
        # As a user would: the palette, "Refresh", Enter. Nothing to run, nothing crashes.
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Refresh", "enter")
        await settle(pilot)
        assert app.is_running
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)


# ---------------------------------------------------------------------------- 3


async def test_3_a_late_failure_of_an_event_left_behind_is_not_painted_over_another(
    ui_emulator: Emulator,
) -> None:
    first = ui_emulator.events()[0]["id"]  # highlighted at start: fetched and cached
    second = ui_emulator.events()[1]["id"]
    held = HeldRequests(ui_emulator, held=f"/event/{second}/",
                        answer=httpx.Response(503, json={"error": "down"}))
    app = make_app(client=make_client(ui_emulator, transport=held))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ex = explorer(app)
        assert ex.detail.event is not None and ex.detail.event.id == first
        held.hold = True
        await pilot.press("down")  # B: not cached, its fetch waits
        await wait_until(pilot, lambda: held.waiting > 0, "the second event's fetch")
        await pilot.press("up")  # A: cached, shown at once
        await pilot.pause()
        held.release()  # B's fetch now fails with a 503
        await settle(pilot)
        assert ex.detail.event is not None and ex.detail.event.id == first
        assert ex.detail.event_id == first
        assert "503" not in ex.status.info.error


# ---------------------------------------------------------------------------- 4


async def test_4_an_export_that_breaks_says_so_and_esc_closes_it(
    ui_emulator: Emulator, app_factory: AppFactory, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import close_tui.core.export as export_module

    def broken_writer(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the writer broke")

    monkeypatch.setattr(export_module, "open_writer", broken_writer)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        dialog = app.screen
        dialog.query_one("#export-path").value = str(tmp_path / "x.jsonl")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert dialog.finished  # type: ignore[attr-defined]
        assert "the writer broke" in dialog.progress_text  # type: ignore[attr-defined]
        assert dialog.progress_text.startswith("failed: ")  # type: ignore[attr-defined]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is not dialog


@pytest.mark.parametrize("running", [False, True], ids=["asking-for-a-path", "exporting"])
async def test_4_ctrl_q_quits_while_the_export_dialog_is_open(
    ui_emulator: Emulator, tmp_path: Path, running: bool
) -> None:
    held = HeldRequests(ui_emulator)
    app = make_app(client=make_client(ui_emulator, transport=held))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        if running:
            held.hold = True
            app.screen.query_one("#export-path").value = str(tmp_path / "x.jsonl")  # type: ignore[attr-defined]
            await pilot.press("enter")
            await wait_until(pilot, lambda: held.waiting > 0, "the export's first request")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


# ---------------------------------------------------------------------------- 5


async def test_5_a_closed_client_is_an_error_row_not_an_endless_retry(
    ui_emulator: Emulator,
) -> None:
    """Any error of a page is shown with "r to retry"; a RuntimeError used to stand for
    "the pager is busy" and re-armed a 50 ms retry forever."""
    client = make_client(ui_emulator)
    app = make_app(client=client)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ex = explorer(app)
        await client.aclose()
        start = len(ui_emulator.request_log)
        await pilot.press("r")
        await settle(pilot)
        assert ex.table.footer_state == "error"
        assert "closed" in ex.table.footer_message
        assert "closed" in ex.status.info.error
        assert ui_emulator.request_log[start:] == []
        for _ in range(10):  # and it stays that way: no timer asks again
            await pilot.pause()
        assert ex.table.footer_state == "error"


# ---------------------------------------------------------------------------- 6


async def test_6_a_profile_switch_closes_the_old_client_and_stops_its_work(
    ui_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    second = Emulator(EmulatorConfig(n_leads=20, n_users=3), clock=FakeClock(UI_NOW))
    new_client = make_client(second)
    held = HeldRequests(ui_emulator, held="/event/")
    old_client = make_client(ui_emulator, transport=held)

    def switch(profile: str) -> Session:
        return Session(new_client, profile=profile, organization="Second Org")

    app = make_app(client=old_client, account=account_for(ui_emulator, switch=switch))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        held.hold = True
        await pilot.press("r")  # a page request of the old session is in flight
        await wait_until(pilot, lambda: held.waiting > 0, "the old session's page request")
        result = app.switch_profile("other")
        if inspect.isawaitable(result):
            await result
        await settle(pilot)
        assert len(old_client.retry_listeners) == 0  # nobody listens to the old client
        with pytest.raises(RuntimeError, match="closed"):
            await old_client.me()  # closed
        held.release()
        await settle(pilot)
        ex = explorer(app)
        shown = {ex.table.event_id_at(i) for i in range(ex.table.row_count)}
        assert shown and shown <= {e["id"] for e in second.events()}
    with pytest.raises(RuntimeError, match="closed"):
        await new_client.me()  # quitting closes the session's client too


# ---------------------------------------------------------------------------- 7


class ReadOnlyViews:
    """Saved views in a config file that cannot be written."""

    def load(self) -> dict[str, SavedView]:
        return {"mine": SavedView(params={}, predicate="")}

    def save(self, name: str, view: SavedView | None) -> None:
        raise PermissionError("config.json is read-only")

    def delete(self, name: str) -> None:
        raise PermissionError("config.json is read-only")


async def test_7_deleting_a_view_that_cannot_be_deleted_says_so(
    app_factory: AppFactory,
) -> None:
    app = app_factory(views=ReadOnlyViews())
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        delete = next(c for c in app.get_system_commands(app.screen)
                      if c.title == "Delete view: mine")
        delete.callback()
        await settle(pilot)
    assert any("read-only" in text and "delete" in text.lower() for text in said), said
    assert not any(text.startswith("Deleted view") for text in said), said


async def test_7_the_palette_reads_no_secret(
    ui_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    store = RecordingStore()
    app = make_app(ui_emulator, account=account_for(ui_emulator, store=store))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(explorer(app).screen)]
        assert any(title.startswith("Profile: work") for title in titles)
        await pilot.press("escape")
    assert store.reads == []


# ---------------------------------------------------------------------------- 8


async def test_8_after_back_the_status_line_shows_that_views_query(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ex = explorer(app)
        home_query = ex.status.info.query
        lead_row = next(i for i in range(ex.table.row_count) if ex.table.row_at(i).lead_id)
        ex.table.move_cursor(lead_row)
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        assert "lead_id=" in ex.status.info.query
        await pilot.press("backspace")
        await settle(pilot)
        await pilot.press("down", "down", "down")  # new rows: their details are fetched
        await settle(pilot)
        assert ex.status.info.query == home_query
        assert "lead_id" not in ex.status.info.query


async def test_8_keys_typed_quickly_after_slash_in_the_json_go_to_the_search(
    app_factory: AppFactory,
) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ex = explorer(app)
        ex.detail.show_tab("json")
        ex.detail.json_view.lines.focus()
        await settle(pilot)
        lines = ex.detail.json_view.lines
        cursor = lines.cursor_index
        # A terminal delivers "/ne" in one read: all three keys are queued at once.
        for key, char in (("slash", "/"), ("n", "n"), ("e", "e")):
            app.post_message(events.Key(key, char))
        await settle(pilot)
        field = ex.detail.json_view.search_field
        assert field.value == "ne"
        assert app.focused is field
        assert lines.search_query == "ne"  # "n" did not run "next match" in the body
        assert lines.cursor_index == cursor or lines.match_count > 0


# ---------------------------------------------------------------------------- 9


def expected_rate(app: CloseTuiApp) -> str:
    rate = explorer(app).client.rate_limit
    assert rate is not None and rate.limit is not None
    text = f"rate {rate.remaining}/{rate.limit}"
    return text + (f" · reset {rate.reset:g}s" if rate.reset is not None else "")


async def test_9_the_rate_budget_shown_is_the_last_one_the_api_reported() -> None:
    """The status bar showed the budget of the last page or detail, not of the name
    look-ups that ran after it: which one came last decided the picture, and
    test_local_filter_counter's snapshot was flaky. Now every request's end updates it."""
    emulator = Emulator(EmulatorConfig(), clock=FakeClock(UI_NOW))
    app = make_app(emulator)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        explorer(app).set_local_filter("user_id=null changed_fields~status")
        await settle(pilot)
        assert explorer(app).status.info.rate == expected_rate(app)


# ---------------------------------------------------------------------------- found on the way


async def test_ctrl_d_on_the_login_screen_opens_the_demo_from_the_key_field(
    ui_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key field (an Input) bound ctrl+d to "delete right" before the screen's
    binding could see it: the footer offered the demo and the key did nothing."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    demo = make_client(ui_emulator)
    account = account_for(ui_emulator)
    account.open_demo = lambda: Session(demo, profile="demo", organization="Demo Org")
    app = CloseTuiApp(None, account=account, now=lambda: UI_NOW, local_tz=UTC)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert app.focused is app.screen.query_one("#login-key")
        await pilot.press("ctrl+d")
        await settle(pilot)
        ex = explorer(app)
        assert ex.table.row_count > 0 and ex.client is demo
