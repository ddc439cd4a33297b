"""The detail pane: header, notes, the Changes and JSON tabs, and the keys that reach them."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.style import Style
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget
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
        assert "4 fields changed" in text  # and date_updated said once:
        assert "updated 12:48:23 (was 12:47:39)" in text
        assert '"Active" → "Won"' in text and "70 → 100" in text
        assert "(not in data)" in text  # the abridged example lacks status_id in data
        header = plain(app.detail.query_one("#detail-header", Static))
        assert header.split()[:3] == ["updated", "opportunity", "12:48:23"]
        assert "oppo_7H4sjNso7FyBFaeR3RXi" in header


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


async def test_clear_shows_no_event_only_a_message() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        detail = app.detail
        detail.show_event(event(UPDATE))
        await pilot.pause()
        detail.clear("no events match this filter")
        await pilot.pause()
        assert detail.event is None and detail.event_id is None
        header = plain(detail.query_one("#detail-header", Static))
        assert header.strip() == "no events match this filter"
        assert detail.tabs.has_class("-hidden")
        assert detail.query_one("#detail-notes").has_class("-empty")


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


# ---------------------------------------------------------------------- layout at real widths

UTC_TIME = "2019-01-15 12:48:23 UTC"
#: A date-time as Close writes it inside data: 34 cells with its quotes, no space to wrap at.
OLD_WON = "2019-01-14T09:15:42.123000+00:00"
NEW_WON = "2019-01-15T12:48:23.395000+00:00"


class Pane(App[None]):
    """The detail pane alone, as wide as the terminal, times in UTC as the app writes them."""

    def compose(self) -> ComposeResult:
        yield EventDetail(
            format_time=lambda when: when.strftime("%Y-%m-%d %H:%M:%S UTC"), id="detail"
        )

    @property
    def detail(self) -> EventDetail:
        return self.query_one(EventDetail)


def screen_text(widget: Widget) -> list[str]:
    """The lines ``widget`` shows, as a person reads them on screen."""
    region = Region(0, 0, widget.region.width, widget.region.height)
    return ["".join(seg.text for seg in strip).rstrip() for strip in widget.render_lines(region)]


def close(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return all(abs(x - y) <= 24 for x, y in zip(a, b, strict=True))


def dated_update() -> Event:
    return event(
        UPDATE,
        changed_fields=["date_updated", "date_won", "status_label"],
        previous_data={"date_updated": "2019-01-15T12:47:39.873000+00:00",
                       "date_won": OLD_WON, "status_label": "Active"},
        data={**UPDATE["data"], "date_updated": NEW_WON, "date_won": NEW_WON},
    )  # fmt: skip


@pytest.mark.parametrize("width", [32, 36, 40, 44, 48, 52, 56, 60, 72])
async def test_the_header_time_is_never_split_and_cut_ids_say_so(width: int) -> None:
    app = Pane()
    async with app.run_test(size=(width, 30)) as pilot:
        ev = event(UPDATE, api_key_id="api_5xZwcn3LwXuHsa9BNMRFsf")
        app.detail.show_event(ev)
        await pilot.pause()
        lines = screen_text(app.detail.query_one("#detail-header", Static))
        text = "\n".join(lines)
        assert sum(UTC_TIME in line for line in lines) == 1, text  # whole, on one line
        assert not any(line.strip() in ("UTC", "12:48:23 UTC") for line in lines), text
        room = app.detail.query_one("#detail-header").size.width - 8  # "  object "
        for label, value in (("event", ev.id), ("object", ev.object_id), ("lead", ev.lead_id),
                             ("user", ev.user_id), ("request", ev.request_id)):  # fmt: skip
            assert value is not None
            (line,) = [line for line in lines if line.split()[:1] == [label]]
            shown = line.split()[1]
            if len(value) <= room:
                assert shown == value, line  # room: the whole id
            else:
                head, _, tail = shown.partition("…")
                assert tail, f"cut without an ellipsis: {line!r}"
                assert value.startswith(head) and value.endswith(tail)


async def test_the_action_badge_takes_the_tables_colour_for_every_action() -> None:
    from close_tui.core.catalog import ALL_ACTIONS
    from close_tui.ui.widgets.action_palette import action_tone, tone_class
    from close_tui.ui.widgets.event_detail import DetailHeader
    from close_tui.ui.widgets.event_table import EventTable

    class Both(Pane):
        def compose(self) -> ComposeResult:
            yield EventTable()
            yield from super().compose()

    app = Both()
    async with app.run_test(size=(100, 40)) as pilot:
        table = app.query_one(EventTable)
        colours = set()
        for action in [*ALL_ACTIONS, "exploded"]:
            app.detail.show_event(event(UPDATE, action=action))
            await pilot.pause()
            header = app.detail.query_one("#detail-header", Static).content
            assert isinstance(header, DetailHeader)
            badge = Style.parse(str(header.action_style)) if isinstance(
                header.action_style, str) else header.action_style
            tone = action_tone(action)
            row = table.get_component_rich_style(tone_class("event-table", tone))
            assert badge.color is not None and row.color is not None and badge.reverse
            # The same colour (muted text is blended with each widget's own background).
            assert close(badge.color.get_truecolor(), row.color.get_truecolor()), action
            colours.add(badge.color)
        assert len(colours) == 6  # create, change, remove, finish, progress, other


@pytest.mark.parametrize("width", [38, 40, 44, 48, 56, 64, 80, 100])
async def test_dates_in_the_changes_tab_never_break_mid_token(width: int) -> None:
    app = Pane()
    async with app.run_test(size=(width, 40)) as pilot:
        app.detail.show_event(dated_update())
        await pilot.pause()
        lines = screen_text(app.detail.changes_view)
        text = "\n".join(lines)
        for token in (f'"{OLD_WON}"', f'"{NEW_WON}"'):
            assert sum(token in line for line in lines) == 1, text
        # The one line about date_updated keeps each time whole too.
        for token in ("2019-01-15 12:48:23 UTC", "(was 12:47:39 UTC)"):
            assert sum(token in line for line in lines) == 1, text


async def test_date_updated_is_said_once_not_listed_as_a_changed_field() -> None:
    app = Pane()
    async with app.run_test(size=(80, 40)) as pilot:
        app.detail.show_event(dated_update())
        await pilot.pause()
        text = "\n".join(screen_text(app.detail.changes_view))
        assert "date_updated" not in text
        assert text.count("updated ") == 1
        assert "updated 2019-01-15 12:48:23 UTC (was 12:47:39 UTC)" in text
        assert text.startswith("2 fields changed")


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
