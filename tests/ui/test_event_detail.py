"""The detail pane: header, notes, the Changes and JSON tabs, and the keys that reach them."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.app import App, ComposeResult
from textual.widgets import Static

from close_tui.core.diff import PRIVACY_NOTE
from close_tui.core.models import Event
from close_tui.ui.widgets.event_detail import EventDetail, default_tab
from close_tui.ui.widgets.json_view import JsonLines, JsonView

FIXTURES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "close-doc-examples.json").read_text()
)
UPDATE = FIXTURES["webhook_opportunity_updated_example"]["event"]
CREATE = FIXTURES["event_get_example"]


def event(raw: dict[str, Any], **changes: Any) -> Event:
    return Event.model_validate({**copy.deepcopy(raw), **changes})


def plain(widget: Static, width: int = 60) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def cursor_at(lines: JsonLines) -> tuple[str | int, ...]:
    return lines.cursor_path


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.pivots: list[JsonView.PivotRequested] = []

    def compose(self) -> ComposeResult:
        yield EventDetail(format_time=lambda when: when.strftime("%H:%M:%S"), id="detail")

    @property
    def detail(self) -> EventDetail:
        return self.query_one(EventDetail)

    def on_json_view_pivot_requested(self, message: JsonView.PivotRequested) -> None:
        self.pivots.append(message)


async def test_an_update_opens_on_its_changes() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        app.detail.show_event(event(UPDATE))
        await pilot.pause()
        assert app.detail.active_tab == "changes"
        text = plain(app.detail.changes_view)
        assert "5 fields changed" in text
        assert '"Active" → "Won"' in text and "70 → 100" in text
        assert "(not in data)" in text  # the abridged example lacks status_id in data
        header = plain(app.detail.query_one("#detail-header", Static))
        assert "updated opportunity" in header and "oppo_7H4sjNso7FyBFaeR3RXi" in header


async def test_a_create_opens_on_its_json() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        app.detail.show_event(event(CREATE))
        await pilot.pause()
        assert app.detail.active_tab == "json"
        assert '"note": "My note."' in app.detail.json_view.lines.text()
        text = plain(app.detail.changes_view)
        assert "The new object: 15 fields" in text and '"My note."' in text


async def test_keys_switch_tabs_and_search_from_the_changes_tab() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        app.detail.show_event(event(UPDATE))
        await pilot.pause()
        app.detail.query_one("#changes-scroll").focus()
        await pilot.press("2")
        assert app.detail.active_tab == "json"
        assert app.detail.json_view.lines.has_focus
        await pilot.press("1")
        assert app.detail.active_tab == "changes"
        await pilot.press("slash")
        assert app.detail.active_tab == "json"
        assert app.detail.json_view.search_field.has_focus
        await pilot.press(*"won", "enter")
        lines = app.detail.json_view.lines
        assert lines.match_count == 3  # status_type, status_label and the key date_won
        assert lines.has_focus
        await pilot.press("p")
        assert app.clipboard == ".data.status_type"


async def test_copy_is_off_in_the_changes_tab() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        app.detail.show_event(event(UPDATE))
        await pilot.pause()
        app.detail.query_one("#changes-scroll").focus()
        app.copy_to_clipboard("before")
        await pilot.press("c")
        assert app.clipboard == "before" and app.detail.active_tab == "changes"


async def test_missing_payloads_are_explained() -> None:
    raw = {k: v for k, v in UPDATE.items() if k not in ("data", "previous_data")}
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        app.detail.show_event(Event.model_validate(raw))
        await pilot.pause()
        notes = plain(app.detail.query_one("#detail-notes", Static), width=200)
        assert PRIVACY_NOTE in notes
        text = plain(app.detail.changes_view)
        assert "status_label" in text and "(not included)" in text


async def test_a_consolidated_event_says_so() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        app.detail.show_event(event(UPDATE, date_updated="2019-01-15T12:50:23.395000"))
        await pilot.pause()
        notes = plain(app.detail.query_one("#detail-notes", Static), width=200)
        assert "several edits made over 2 min were merged" in notes


async def test_pivots_bubble_out_of_the_pane() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        app.detail.show_event(event(UPDATE))
        await pilot.press("2")
        await pilot.pause()
        lines = app.detail.json_view.lines
        lines.focus()
        assert lines.reveal(("object_id",))
        await pilot.press("enter")
        await pilot.pause()
        (pivot,) = app.pivots
        assert (pivot.field, pivot.object_type) == ("object_id", "opportunity")
        assert pivot.value == UPDATE["object_id"]


async def test_same_event_again_keeps_the_tab_and_cursor() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        ev = event(UPDATE)
        app.detail.show_event(ev)
        app.detail.show_tab("json")
        lines = app.detail.json_view.lines
        lines.reveal(("data", "confidence"))
        await pilot.pause()
        app.detail.show_event(ev)  # e.g. the time display changed
        await pilot.pause()
        assert app.detail.active_tab == "json"
        assert cursor_at(lines) == ("data", "confidence")
        app.detail.show_event(event(CREATE))
        await pilot.pause()
        assert cursor_at(lines) == ()


async def test_loading_and_messages() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        detail = app.detail
        detail.show_loading("ev_1")
        await pilot.pause()
        assert detail.event_id == "ev_1" and detail.event is None
        assert "Loading" in plain(detail.query_one("#detail-header", Static))
        assert detail.tabs.has_class("-hidden")
        detail.show_event(event(UPDATE))
        detail.show_message("ev_2", "no longer \x1b[31mavailable", severity="warning")
        await pilot.pause()
        assert detail.event is None and detail.event_id == "ev_2"
        header = plain(detail.query_one("#detail-header", Static))
        assert "no longer ␛[31mavailable" in header
        assert detail.tabs.has_class("-hidden")


async def test_hostile_values_in_the_changes_tab_are_literal() -> None:
    hostile = {"name": "[bold red]Acme[/] \x1b]52;c;ZXZpbA==\x07"}
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        app.detail.show_event(event(UPDATE, changed_fields=["name"],
                                    previous_data={"name": "x"}, data=hostile))
        await pilot.pause()
        text = plain(app.detail.changes_view)
        assert "[bold red]Acme[/]" in text and "␛]52;c;ZXZpbA==␇" in text
        assert "\x1b" not in text


def test_default_tab_rule() -> None:
    from close_tui.core.diff import event_changes

    assert default_tab(event_changes(event(UPDATE))) == "changes"
    assert default_tab(event_changes(event(CREATE))) == "json"
    deleted = event(CREATE, action="deleted", data=None, previous_data=CREATE["data"])
    assert default_tab(event_changes(deleted)) == "json"


def test_format_time_is_used() -> None:
    assert EventDetail(format_time=lambda when: datetime.now().isoformat())


async def test_in_the_app_escape_clears_the_search_then_goes_back_to_the_table(
    ui_emulator: Any,
) -> None:
    from ui_support import SIZE, make_app, settle

    app = make_app(ui_emulator)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.explorer.detail.event is not None
        app.explorer.detail.show_tab("json")
        app.explorer.detail.json_view.focus()
        await pilot.press("slash", "e", "v", "_", "enter")
        lines = app.explorer.detail.json_view.lines
        assert lines.match_count >= 1 and lines.has_focus
        await pilot.press("escape")
        assert lines.search_query == "" and lines.has_focus
        await pilot.press("escape")
        assert app.focused is app.explorer.table
