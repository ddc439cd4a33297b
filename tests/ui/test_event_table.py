"""EventTable: the Line-API event list, driven through Pilot at 120x40."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import Input

from close_tui.core.models import Event
from close_tui.core.rows import RowStore, compact_type, format_age, format_time, short_id
from close_tui.ui.widgets.event_table import (
    COLUMNS,
    END_OF_LOG_TEXT,
    GAP,
    NEAR_END_ROWS,
    NO_MATCH_TEXT,
    SUMMARY_MIN,
    EventTable,
    FooterState,
    fit_person,
    plan_columns,
)

SIZE = (120, 40)
NOW = datetime(2026, 11, 20, 13, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def utc_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time = UTC, so the "local" mode renders the same on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def make_event(index: int, **fields: Any) -> Event:
    """Event ``index`` of a log: higher index = older (one second apart)."""
    moment = NOW - timedelta(seconds=60 + index)
    stamp = moment.replace(tzinfo=None).isoformat(timespec="microseconds")
    raw: dict[str, Any] = {
        "id": f"ev_{index:022d}",
        "date_created": stamp,
        "date_updated": stamp,
        "object_type": "activity.note",
        "object_id": f"acti_{index:043d}",
        "lead_id": "lead_sHR5sxie4dKOBkODA2flGciHen2c91YEpvTPt8x1NU0",
        "user_id": "user_N6KhMpzHRCYQHdn4gRNIFNN5JExnsrprKA6ekxM63XA",
        "action": "created",
        "changed_fields": [],
        "data": {"note": f"note number {index}"},
        "previous_data": {},
    }
    raw.update(fields)
    return Event.model_validate(raw)


def page(start: int, count: int = 50) -> list[Event]:
    return [make_event(index) for index in range(start, start + count)]


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []
        self.quit_requested = False

    def compose(self) -> ComposeResult:
        yield Input(id="other")
        yield EventTable(now=lambda: NOW)

    def on_mount(self) -> None:
        self.query_one(EventTable).focus()

    def on_event_table_highlighted(self, message: EventTable.Highlighted) -> None:
        self.messages.append(message)

    def on_event_table_selected(self, message: EventTable.Selected) -> None:
        self.messages.append(message)

    def on_event_table_near_end(self, message: EventTable.NearEnd) -> None:
        self.messages.append(message)

    async def action_quit(self) -> None:  # hostile text must never get here
        self.quit_requested = True

    def of_type(self, kind: type[Message]) -> list[Any]:
        return [message for message in self.messages if isinstance(message, kind)]


def line(table: EventTable, y: int) -> str:
    """What screen line ``y`` of the table shows."""
    return "".join(segment.text for segment in table.render_line(y))


def visible_rows(table: EventTable) -> int:
    """Rows on screen: the table's height minus the pinned header."""
    return table.size.height - 1


def last_line(table: EventTable) -> str:
    return line(table, table.size.height - 1)


def row_line(table: EventTable, index: int) -> str:
    """The line showing row ``index`` (which must be on screen)."""
    return line(table, index - int(table.scroll_y) + 1)


async def test_appending_pages_grows_the_table_and_renders_rows() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        assert table.row_count == 0 and table.cursor_index is None
        table.append_events(page(0))
        table.append_events(page(50))
        await pilot.pause()
        assert table.row_count == 100
        assert table.event_id_at(99) == make_event(99).id
        header = line(table, 0)
        assert header.split() == ["TIME", "ACTION", "OBJECT", "TYPE", "LEAD", "USER", "SUMMARY"]
        first = line(table, 1)
        assert "Nov 20 12:59:00" in first  # 60 s before NOW, local = UTC here
        assert "created" in first and "activity.note" in first
        assert "lead_sHR…NU0" in first and "user_N6K…3XA" in first
        assert "Note added: 'note number 0'" in first
        assert "note number 1" in line(table, 2)
        # The first rows arriving put the cursor on the newest event.
        assert table.cursor_index == 0
        assert [m.event_id for m in app.of_type(EventTable.Highlighted)] == [make_event(0).id]


async def test_cursor_keys_move_and_highlight() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 100))
        await pilot.pause()
        await pilot.press("down", "j", "j")
        assert table.cursor_index == 3
        await pilot.press("up", "k")
        assert table.cursor_index == 1
        assert table.cursor_event_id == make_event(1).id
        await pilot.press("up", "up", "up")  # stops at the top
        assert table.cursor_index == 0
        page_rows = visible_rows(table) - 1  # a page keeps one row of context
        await pilot.press("pagedown")
        assert table.cursor_index == page_rows
        await pilot.press("pagedown")
        assert table.cursor_index == 2 * page_rows
        assert table.scroll_y > 0
        # The cursor is always on screen, and the header stays pinned on line 0.
        assert f"note number {2 * page_rows}" in row_line(table, 2 * page_rows)
        assert line(table, 0).startswith("TIME")
        await pilot.press("pageup")
        assert table.cursor_index == page_rows
        await pilot.pause()
        highlighted = app.of_type(EventTable.Highlighted)
        assert highlighted[-1].index == page_rows
        assert highlighted[-1].event_id == make_event(page_rows).id


async def test_cursor_row_is_drawn_with_the_cursor_style() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 10))
        await pilot.press("down")
        cursor_style = table.get_component_rich_style("event-table--cursor")
        styles_on_cursor_row = {segment.style for segment in table.render_line(2)}
        styles_on_other_row = {segment.style for segment in table.render_line(1)}
        assert styles_on_cursor_row == {cursor_style}
        assert cursor_style not in styles_on_other_row
        # Focus elsewhere: the cursor is drawn in the blurred style, not from a stale cache.
        app.query_one(Input).focus()
        await pilot.pause()
        blurred_style = table.get_component_rich_style("event-table--cursor")
        assert blurred_style != cursor_style
        assert {segment.style for segment in table.render_line(2)} == {blurred_style}


async def test_home_and_end() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 200))
        table.set_footer("end")
        await pilot.pause()
        await pilot.press("end")
        assert table.cursor_index == 199
        assert "note number 199" in row_line(table, 199)
        assert "end of log" in last_line(table)  # the footer is the last virtual line
        await pilot.press("home")
        assert table.cursor_index == 0 and table.scroll_y == 0
        await pilot.press("G")
        assert table.cursor_index == 199
        await pilot.press("g")
        assert table.cursor_index == 0


async def test_near_end_posted_within_a_page_of_the_end_while_more() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 200))
        table.set_footer("more")
        await pilot.pause()
        assert app.of_type(EventTable.NearEnd) == []  # ~36 rows seen of 200: far from the end
        table.move_cursor(200 - NEAR_END_ROWS - 2)
        await pilot.pause()
        assert app.of_type(EventTable.NearEnd) == []
        await pilot.press("down")  # now within a page of the end
        await pilot.pause()
        assert len(app.of_type(EventTable.NearEnd)) >= 1


async def test_end_key_asks_for_more_and_a_short_page_asks_again() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 200))
        table.set_footer("more")
        await pilot.pause()
        await pilot.press("end")
        await pilot.pause()
        assert len(app.of_type(EventTable.NearEnd)) >= 1
        # The app sets "loading" while it fetches: no more requests meanwhile.
        table.set_footer("loading")
        app.messages.clear()
        await pilot.press("up", "down")
        await pilot.pause()
        assert app.of_type(EventTable.NearEnd) == []
        assert "Loading…" in last_line(table)
        # A page arrives; still near the end, so the table asks again after "more".
        table.append_events(page(200, 10))
        table.set_footer("more")
        await pilot.pause()
        assert len(app.of_type(EventTable.NearEnd)) >= 1
        # The scrollbar knows the new length, even when its thumb did not need a repaint.
        assert table.vertical_scrollbar.window_virtual_size == table.virtual_size.height == 211
        # The first new row took the place of "Loading…" on screen.
        shown = screen_text(app)
        assert "note number 200" in shown and "Loading…" not in shown


async def test_near_end_after_append_when_viewport_not_full() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 5))
        table.set_footer("more")
        await pilot.pause()
        assert len(app.of_type(EventTable.NearEnd)) >= 1


async def test_no_near_end_when_the_log_has_ended() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 60))
        table.set_footer("end")
        await pilot.pause()
        await pilot.press("end", "up", "down")
        await pilot.pause()
        assert app.of_type(EventTable.NearEnd) == []


async def test_click_highlights_and_selects_and_enter_selects() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 50))
        await pilot.pause()
        # Row 4 is on screen line 5 of the table (line 0 is the header).
        assert await pilot.click(EventTable, offset=(40, 5))
        await pilot.pause()
        assert table.cursor_index == 4
        selected = app.of_type(EventTable.Selected)
        assert [(m.event_id, m.index) for m in selected] == [(make_event(4).id, 4)]
        assert app.of_type(EventTable.Highlighted)[-1].index == 4
        await pilot.press("down", "enter")
        await pilot.pause()
        selected = app.of_type(EventTable.Selected)
        assert (selected[-1].event_id, selected[-1].index) == (make_event(5).id, 5)


async def test_time_mode_cycles_local_utc_relative() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events([make_event(0), make_event(3600)])
        await pilot.pause()
        modes = [table.time_mode]
        assert line(table, 0).startswith("TIME ")
        assert line(table, 1).startswith("Nov 20 12:59:00")
        await pilot.press("t")
        modes.append(table.time_mode)
        assert line(table, 0).startswith("TIME (UTC)")
        assert line(table, 1).startswith("Nov 20 12:59:00")
        await pilot.press("t")
        modes.append(table.time_mode)
        assert line(table, 0).startswith("AGE")
        assert line(table, 1).startswith("1m 00s ago")
        assert line(table, 2).startswith("1h 01m ago")
        await pilot.press("t")
        modes.append(table.time_mode)
        assert modes == ["local", "utc", "relative", "local"]


async def test_local_mode_follows_the_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30, no DST
    time.tzset()
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events([make_event(0)])
        await pilot.pause()
        assert line(table, 1).startswith("Nov 20 18:29:00")
        table.cycle_time_mode()
        assert line(table, 1).startswith("Nov 20 12:59:00")


async def test_hostile_text_is_shown_literally_and_never_acts() -> None:
    hostile = "[bold]x[/] \x1b[31m [@click=app.quit]"
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(
            [make_event(0, data={"note": hostile}, action="[@click=app.quit]", user_id=None)]
        )
        table.set_names({"lead_sHR5sxie4dKOBkODA2flGciHen2c91YEpvTPt8x1NU0": "[red]Acme\x07"})
        table.set_footer("error", "HTTP 502 [/] \x1b]0;pwned\x07")
        await pilot.pause()
        text = line(table, 1)
        assert "Note [@click=app.quit]: [bold]x[/] ␛[31" in text  # summary, cut to width
        assert "[@click=" in text  # the action column, cut to width, also literal
        assert "[red]Acme␇" in text
        assert "system" in text  # user_id null: caused by no user
        footer = line(table, 2)
        assert "⚠ HTTP 502 [/] ␛]0;pwned␇ — press r to retry" in footer
        for y in (1, 2):
            for segment in table.render_line(y):
                assert "\x1b" not in segment.text and "\x07" not in segment.text
                assert segment.style is None or not segment.style.meta
        assert await pilot.click(EventTable, offset=(100, 1))
        await pilot.press("enter")
        await pilot.pause()
        assert not app.quit_requested
        assert app.is_running


async def test_upsert_moves_an_updated_row_to_its_place_and_inserts_new_at_the_top() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(10, 20))
        await pilot.press("down", "down")
        assert table.cursor_event_id == make_event(12).id
        # A consolidated version of row 5's event (same id, newer date) and two new events.
        newer = (NOW - timedelta(seconds=1)).replace(tzinfo=None).isoformat()
        changed = make_event(15, date_updated=newer, data={"note": "edited text"})
        table.upsert_events([changed, make_event(1), make_event(0)])
        await pilot.pause()
        assert table.row_count == 22
        ids = [table.event_id_at(index) for index in range(table.row_count)]
        assert len(set(ids)) == 22
        # The consolidated event is the newest now: it moves to the top, times stay in order.
        assert ids[:4] == [make_event(15).id, make_event(0).id, make_event(1).id,
                           make_event(10).id]
        stamps = [table.row_at(index).updated for index in range(table.row_count)]
        assert stamps == sorted(stamps, reverse=True)
        assert "edited text" in row_line(table, 0)
        # The cursor follows its event.
        assert table.cursor_event_id == make_event(12).id
        assert table.cursor_index == 5
        # Again, plus an older page overlapping what is loaded: still no duplicates.
        table.upsert_events([make_event(0), make_event(1)])
        table.append_events(page(25, 10))
        await pilot.pause()
        assert table.row_count == 27
        assert len({table.event_id_at(i) for i in range(table.row_count)}) == 27


async def test_an_update_alone_moves_its_row_and_the_cursor_follows() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 10))
        table.move_cursor(6)
        newer = (NOW - timedelta(seconds=62, milliseconds=500)).replace(tzinfo=None).isoformat()
        table.upsert_events([make_event(6, date_updated=newer)])  # now between 2 and 3
        await pilot.pause()
        ids = [table.event_id_at(index) for index in range(table.row_count)]
        assert ids == [make_event(i).id for i in (0, 1, 2, 6, 3, 4, 5, 7, 8, 9)]
        assert table.cursor_event_id == make_event(6).id and table.cursor_index == 3


async def test_upsert_places_late_events_by_date() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events([make_event(0), make_event(2), make_event(4)])
        table.upsert_events([make_event(3)])  # revealed late: belongs between 2 and 4
        await pilot.pause()
        ids = [table.event_id_at(index) for index in range(table.row_count)]
        assert ids == [make_event(i).id for i in (0, 2, 3, 4)]


async def test_names_replace_ids_and_can_arrive_later() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events([make_event(0)])
        await pilot.pause()
        assert "user_N6K…3XA" in line(table, 1)
        table.set_names(
            {
                "user_N6KhMpzHRCYQHdn4gRNIFNN5JExnsrprKA6ekxM63XA": "Gob Bluth",
                "lead_sHR5sxie4dKOBkODA2flGciHen2c91YEpvTPt8x1NU0": "Bluth Company",
            }
        )
        await pilot.pause()
        text = line(table, 1)
        assert "Gob Bluth" in text and "Bluth Company" in text


async def test_footer_states() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 3))
        shown: tuple[tuple[FooterState, str], ...] = (
            ("loading", "Loading…"),
            ("end", "— end of log —"),
        )
        for state, expected in shown:
            table.set_footer(state)
            await pilot.pause()
            assert expected in line(table, 4)
        silent: tuple[FooterState, ...] = ("idle", "more")
        for quiet_state in silent:
            table.set_footer(quiet_state)
            await pilot.pause()
            assert line(table, 4).strip() == ""


async def test_an_empty_result_says_no_events_match() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.set_footer("end")
        await pilot.pause()
        assert line(table, 1).strip() == NO_MATCH_TEXT == "no events match this filter"
        assert table.is_empty_result and table.footer_text == NO_MATCH_TEXT
        assert END_OF_LOG_TEXT not in line(table, 1)
        # The screen may word it for its view (a local filter on top, say).
        table.empty_text = "no events match this filter and /deleted"
        await pilot.pause()
        assert line(table, 1).strip() == "no events match this filter and /deleted"
        # After rows, the end of the log is just that.
        table.clear()
        table.append_events(page(0, 3))
        table.set_footer("end")
        await pilot.pause()
        assert line(table, 4).strip() == END_OF_LOG_TEXT
        assert not table.is_empty_result and table.footer_text == END_OF_LOG_TEXT
        table.set_footer("loading")
        assert table.footer_text == "Loading…" and not table.is_empty_result


#: One event per action of the catalogue, and one nobody knows.
EVERY_ACTION = [
    "created", "updated", "deleted", "merged", "completed", "sent", "answered", "scheduled",
    "started", "canceled", "activated", "deactivated", "reverting", "reverted", "paused",
    "exploded",
]  # fmt: skip


async def test_every_action_has_a_colour_of_its_kind() -> None:
    from close_tui.core.catalog import ALL_ACTIONS
    from close_tui.ui.widgets.action_palette import ACTION_TONES, action_tone

    assert set(ALL_ACTIONS) <= set(ACTION_TONES)  # the palette knows the whole catalogue
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events([make_event(0)])  # the cursor row, drawn in the cursor style
        table.append_events(
            [make_event(i + 1, action=action) for i, action in enumerate(EVERY_ACTION)]
        )
        await pilot.pause()
        base = table.rich_style
        colours: dict[str, set[object]] = {}
        for index, action in enumerate(EVERY_ACTION, start=1):
            segment = next(
                seg for seg in table.render_line(index + 1) if seg.text.startswith(action[:7])
            )  # "deactivated" may be cut to the column: "deactiva…"
            assert segment.style is not None and segment.style.color is not None
            assert segment.style.color != base.color, action  # every action is coloured
            colours.setdefault(action_tone(action), set()).add(segment.style.color)
        assert all(len(found) == 1 for found in colours.values())  # one colour per kind
        assert len({next(iter(found)) for found in colours.values()}) == len(colours)
        assert action_tone("exploded") == "other"


@pytest.mark.parametrize("day", [1, 9, 10, 28])
async def test_the_launch_benchmark_looks_for_the_time_the_table_shows(
    day: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/launch.py waits for the newest event's time on screen; on days 1-9 it looked
    for "Dec 01" while the table writes "Dec  1", and never found the first row."""
    import importlib.util
    import io
    import json
    import re
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "launch.py"
    spec = importlib.util.spec_from_file_location("bench_launch", path)
    assert spec is not None and spec.loader is not None
    launch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch)
    event = make_event(0, date_updated=f"2026-12-{day:02d}T09:05:07.000000")
    body = json.dumps({"data": [event.to_api()]}).encode()
    monkeypatch.setattr(launch.urllib.request, "urlopen", lambda *a, **k: io.BytesIO(body))
    needle = launch.newest_time_text({"admin_key": "k", "base_url": "http://127.0.0.1:1"})

    def squeeze(text: str) -> str:  # as a terminal stream may space it
        return re.sub(r" +", " ", text)

    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events([event])
        await pilot.pause()
        assert squeeze(needle) in squeeze(line(table, 1))


async def test_clear_forgets_rows() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 100))
        table.set_footer("end")
        await pilot.press("end")
        table.clear()
        await pilot.pause()
        assert table.row_count == 0
        assert table.cursor_index is None and table.cursor_event_id is None
        assert table.footer_state == "idle"
        assert table.scroll_y == 0
        assert line(table, 1).strip() == ""


async def test_letter_keys_do_nothing_when_an_input_has_focus() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 10))
        app.query_one(Input).focus()
        await pilot.press("j", "G", "t")
        assert table.cursor_index == 0
        assert table.time_mode == "local"
        assert app.query_one(Input).value == "jGt"


async def test_mouse_wheel_scrolls_the_rows() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 200))
        await pilot.pause()
        wheel = events.MouseScrollDown(table, 10, 10, 0, 1, 0, False, False, False)
        table.post_message(wheel)
        await pilot.pause()
        assert table.scroll_y > 0
        assert line(table, 0).startswith("TIME")
        assert f"'note number {int(table.scroll_y)}'" in line(table, 1)


def screen_text(app: App[None]) -> str:
    """What the terminal would show, as plain text (non-breaking spaces made plain)."""
    svg = app.export_screenshot()
    return svg.replace("&#160;", " ")


async def test_small_pages_are_painted_on_screen_without_a_full_relayout() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(0, 5))
        await pilot.pause()
        table.append_events(page(5, 5))  # still fits: only the new lines are repainted
        table.set_footer("end")
        await pilot.pause()
        shown = screen_text(app)
        assert "note number 9" in shown
        assert "end of log" in shown
        table.set_footer("more")
        await pilot.pause()
        assert "end of log" not in screen_text(app)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("acti_4LNDQk2uhg7t8fGUWPyHX7cpCVH9PJtCyCssXFcao3e", "acti_4LN…o3e"),
        ("ev_17VaZdcdnsMNyWY9ZJnjph", "ev_17V…jph"),
        ("lead_abc", "lead_abc"),
        ("no-prefix-but-long-value", "no-…lue"),
        ("x\x1b[31m_0123456789", "x␛[31m_012…789"),
        (None, ""),
    ],
)
def test_short_ids(value: str | None, expected: str) -> None:
    assert short_id(value) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.4, "now"),
        (42, "42s ago"),
        (303, "5m 03s ago"),
        (3 * 3600 + 12 * 60, "3h 12m ago"),
        (4 * 86400 + 2 * 3600, "4d 2h ago"),
        (86400, "1d ago"),
        (-5, "in 5s"),
    ],
)
def test_ages(seconds: float, expected: str) -> None:
    assert format_age(seconds) == expected


def test_time_formats_with_an_explicit_zone() -> None:
    stamp = datetime(2026, 3, 1, 23, 30, 5, tzinfo=UTC).timestamp()
    assert format_time(stamp, "utc") == "Mar  1 23:30:05"
    assert format_time(stamp, "local", tz=timezone(timedelta(hours=2))) == "Mar  2 01:30:05"
    assert format_time(stamp, "relative", now=stamp + 90) == "1m 30s ago"


async def test_upsert_keeps_a_scrolled_view_on_the_same_rows() -> None:
    app = TableApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(EventTable)
        table.append_events(page(10, 200))
        await pilot.pause()
        table.move_cursor(120)
        first_shown = line(table, 1)
        table.upsert_events([make_event(index) for index in range(10)])
        await pilot.pause()
        assert table.row_count == 210
        assert table.cursor_event_id == make_event(130).id
        assert line(table, 1) == first_shown


# ---------------------------------------------------------------------- columns and names

API_KEY = "api_5xZwcn3LwXuHsa9BNMRFsf"
USER = "user_N6KhMpzHRCYQHdn4gRNIFNN5JExnsrprKA6ekxM63XA"
LEAD = "lead_sHR5sxie4dKOBkODA2flGciHen2c91YEpvTPt8x1NU0"


class WideTableApp(App[None]):
    """Only the table, so its width is the terminal's (minus the scrollbar)."""

    def compose(self) -> ComposeResult:
        yield EventTable(now=lambda: NOW)

    def on_mount(self) -> None:
        self.query_one(EventTable).focus()


def column_starts(table: EventTable) -> list[tuple[str, int, int]]:
    """(key, first cell, width) of each shown column."""
    starts = []
    x = 0
    for key, width in table.columns():
        starts.append((key, x, width))
        x += width + GAP
    return starts


def assert_columns_are_separated(table: EventTable, y: int) -> None:
    text = line(table, y)
    for key, x, _ in column_starts(table)[1:]:
        assert text[x - 1] == " ", f"no gap before {key} on line {y}: {text!r}"


def varied_events() -> list[Event]:
    """Widest values each column can get: long actions, types, names and summaries."""
    return [
        make_event(0, action="deactivated", object_type="membership", data={"user_id": USER}),
        make_event(1, action="completed", object_type="activity.call", data={"duration": 192}),
        make_event(
            2,
            action="scheduled",
            object_type="activity.meeting",
            api_key_id=API_KEY,
            data={"title": "Demo " * 30},
        ),
        make_event(
            3,
            action="created",
            object_type="activity.opportunity_status_change",
            data={"old_status_label": "Active", "new_status_label": "Won"},
        ),
        make_event(
            4,
            action="deleted",
            object_type="contact",
            data=None,
            previous_data={"name": "Jane Doe"},
            api_key_id=API_KEY,
            user_id=None,
        ),
    ]


@pytest.mark.parametrize("width", [27, 30, 40, 46, 60, 72, 80, 100, 120, 160])
@pytest.mark.parametrize("api_key", [False, True])
@pytest.mark.parametrize("lead", [False, True])
def test_column_plans_fill_the_width_exactly(width: int, api_key: bool, lead: bool) -> None:
    plan = plan_columns(width, api_key, lead)
    assert sum(w for _, w in plan) + GAP * (len(plan) - 1) == width
    keys = [key for key, _ in plan]
    assert keys[:2] == ["time", "action"] and keys[-1] == "summary"
    if len(keys) > 3:  # an optional column never squeezes the sentence below its minimum
        assert plan[-1][1] >= SUMMARY_MIN
    assert keys == sorted(keys, key=[*COLUMNS, "summary"].index)  # screen order kept
    for key, column_width in plan[:-1]:
        assert COLUMNS[key].min <= column_width <= COLUMNS[key].ideal


def test_time_action_and_summary_are_never_dropped() -> None:
    for width in range(10, 220):
        for api_key in (False, True):
            keys = [key for key, _ in plan_columns(width, api_key)]
            assert keys[:2] == ["time", "action"] and keys[-1] == "summary", width


@pytest.mark.parametrize("api_key", [False, True])
def test_columns_drop_in_one_order_as_the_table_narrows(api_key: bool) -> None:
    """Object first, then type, user, lead, and the API key (when asked for) last."""
    appears: dict[str, int] = {}
    shown_before: set[str] = set()
    for width in range(27, 220):
        shown = {key for key, _ in plan_columns(width, api_key)}
        assert shown_before <= shown, width  # widening never hides a column
        shown_before = shown
        for key in shown:
            appears.setdefault(key, width)
    order = sorted(set(appears) - {"time", "action", "summary"}, key=appears.__getitem__)
    expected = ["lead", "user", "type", "object"]
    assert order == (["api_key", *expected] if api_key else expected)


def test_column_plans_at_the_widths_people_use() -> None:
    # ~40: the table beside the detail pane at 80 columns. When and what, and a sentence.
    assert [k for k, _ in plan_columns(39)] == ["time", "action", "summary"]
    # 71: beside the pane at 120 columns. The lead of each event is said, and a sentence
    # that can be read.
    assert [k for k, _ in plan_columns(71)] == ["time", "action", "lead", "summary"]
    assert dict(plan_columns(71))["summary"] >= 30
    # Asked for, the API key is shown there too (it outranks the lead and the user).
    assert [k for k, _ in plan_columns(71, True)] == ["time", "action", "api_key", "summary"]
    # 83: beside the pane at 140 columns: who did it, too.
    assert [k for k, _ in plan_columns(83)] == ["time", "action", "lead", "user", "summary"]
    # A view of one lead: no lead column; the user takes its place.
    assert [k for k, _ in plan_columns(71, show_lead=False)] == [
        "time", "action", "user", "summary",
    ]  # fmt: skip
    assert dict(plan_columns(71, show_lead=False))["summary"] >= 30
    # 120: the whole terminal. Types fit (long ones shortened), names have room.
    wide = dict(plan_columns(119))
    assert list(wide) == ["time", "action", "type", "lead", "user", "summary"]
    assert wide["type"] >= 19 and wide["lead"] >= 16 and wide["summary"] >= 40
    assert "api_key" in dict(plan_columns(119, True))
    # Wider still, the object id comes back.
    assert "object" in dict(plan_columns(139))


class ExplorerLayoutApp(App[None]):
    """The table beside a detail pane as wide as the explorer's (40%, at least 40 cells)."""

    CSS = """
    #main { height: 1fr; }
    EventTable { width: 1fr; }
    #pane { width: 40%; min-width: 40; }
    """

    def __init__(self, events: list[Event], names: dict[str, str] | None = None) -> None:
        super().__init__()
        self.events = events
        self.names = names or {}

    def compose(self) -> ComposeResult:
        from textual.containers import Horizontal
        from textual.widgets import Static

        with Horizontal(id="main"):
            yield EventTable(now=lambda: NOW)
            yield Static("detail", id="pane")

    def on_mount(self) -> None:
        table = self.query_one(EventTable)
        table.set_names(self.names)
        table.append_events(self.events)
        table.focus()


def lead_events(count: int) -> list[Event]:
    """Events of two leads, every kind of action."""
    actions = ["created", "updated", "deleted", "completed", "sent", "scheduled"]
    return [
        make_event(i, action=actions[i % len(actions)], lead_id=(LEAD if i % 2 else LEAD2))
        for i in range(count)
    ]


LEAD2 = "lead_Zq8wMRC8TcJ1T0jbQ1ZpdEu4Sb0OaVn8hUoqGdLzlkf"


async def test_at_80_columns_beside_the_detail_pane_every_row_says_when_and_what() -> None:
    app = ExplorerLayoutApp(lead_events(30))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.query_one(EventTable)
        assert 38 <= table.scrollable_content_region.width <= 48
        assert line(table, 0).split() == ["TIME", "ACTION", "SUMMARY"]
        rows_on_screen = table.size.height - 1
        assert rows_on_screen >= 10
        for y in range(1, rows_on_screen + 1):
            index = y - 1
            text = line(table, y)
            assert text.startswith(format_time(make_event(index).date_updated.timestamp(),
                                               "local"))
            assert text.split()[3] == lead_events(30)[index].action  # "Nov 20 12:59:00 created"
            assert "Note" in text  # a few cells of the sentence are left


@pytest.mark.parametrize(("size", "content_width"), [((140, 42), 83), ((120, 40), 71)])
async def test_the_lead_column_stays_beside_the_detail_pane(
    size: tuple[int, int], content_width: int
) -> None:
    app = ExplorerLayoutApp(lead_events(60), names={LEAD: "Bluth Company"})
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = app.query_one(EventTable)
        assert table.scrollable_content_region.width == content_width
        assert "LEAD" in line(table, 0).split()
        x, width = next((start, w) for key, start, w in column_starts(table) if key == "lead")
        cell = line(table, 2)[x : x + width].strip()
        assert cell.startswith("Bluth Com") and cell.endswith("…")  # a name, cut visibly
        assert line(table, 1)[x : x + width].strip() == short_id(LEAD2).partition("_")[2]
        # A view of one lead: the column goes, the others take its room.
        table.show_lead_column = False
        await pilot.pause()
        assert "LEAD" not in line(table, 0).split()
        assert "Bluth" not in line(table, 2)


@pytest.mark.parametrize("size", [(72, 20), (120, 20), (50, 20)])
async def test_columns_are_separated_by_a_gap_at_every_width(size: tuple[int, int]) -> None:
    app = WideTableApp()
    async with app.run_test(size=size) as pilot:
        table = app.query_one(EventTable)
        table.append_events(varied_events())
        await pilot.pause()
        for show in (False, True):
            table.show_api_key = show
            await pilot.pause()
            for y in range(0, 6):  # header and every row
                assert_columns_are_separated(table, y)
        assert len(line(table, 1)) == table.scrollable_content_region.width


async def test_at_80_columns_the_sentence_the_lead_and_the_user_are_shown() -> None:
    app = WideTableApp()
    async with app.run_test(size=(81, 20)) as pilot:  # 80 cells + the scrollbar
        table = app.query_one(EventTable)
        table.append_events(varied_events())
        table.set_names({USER: "Gob Bluth"})
        await pilot.pause()
        header = line(table, 0)
        assert header.split() == ["TIME", "ACTION", "LEAD", "USER", "SUMMARY"]
        assert "Call completed (3m 12s)" in line(table, 2)
        assert "Gob Bluth" in line(table, 2)
        assert "Contact deleted: Jane Doe" in line(table, 5)
        assert "system" in line(table, 5)


async def test_long_types_are_shortened_not_cut() -> None:
    app = WideTableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(EventTable)
        table.append_events(varied_events())
        await pilot.pause()
        assert "OBJECT TYPE" in line(table, 0)
        text = line(table, 4)
        assert " act.opp_status " in text
        assert "Opportunity Active → Won" in text
        assert " activity.meeting " in line(table, 3)  # what fits stays whole


async def test_api_key_column_toggles_with_K() -> None:
    app = WideTableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(EventTable)
        table.append_events(varied_events())
        await pilot.pause()
        assert "API KEY" not in line(table, 0)
        await pilot.press("K")
        assert table.show_api_key
        assert "API KEY" in line(table, 0)
        x = dict((key, start) for key, start, _ in column_starts(table))["api_key"]
        deleted = line(table, 5)
        assert deleted[x:].startswith(short_id(API_KEY) + " ")
        assert "Contact deleted: Jane Doe" in deleted
        assert line(table, 1)[x : x + 11].strip() == ""  # no key: blank
        await pilot.press("K")
        assert not table.show_api_key and "API KEY" not in line(table, 0)


async def test_ids_fit_narrow_columns_and_names_replace_them() -> None:
    app = WideTableApp()
    async with app.run_test(size=(81, 20)) as pilot:
        table = app.query_one(EventTable)
        table.append_events([make_event(0)])
        await pilot.pause()
        x, width = next((start, w) for key, start, w in column_starts(table) if key == "user")
        cell = line(table, 1)[x : x + width]
        assert cell.strip() == "N6K…3XA"  # no prefix (the title says USER), no double "…"
        table.set_names({USER: "Tobias Fünke-Bluth the Third", LEAD: "Bluth Company"})
        await pilot.pause()
        assert line(table, 1)[x : x + width] == "Tobias T. "  # first name and initial
        table.set_names({USER: "Maximiliano Featherstonehaugh"})
        await pilot.pause()
        assert line(table, 1)[x : x + width] == "Maximilia…"  # nothing shorter fits: cut


@pytest.mark.parametrize(
    ("name", "width", "expected"),
    [
        ("Gob Bluth", 10, "Gob Bluth"),
        ("Benjamin Williams", 13, "Benjamin W."),
        ("Benjamin Williams", 10, "Benjamin W"),
        ("Christopher Lee", 10, "C. Lee"),
        ("Cher", 3, "Cher"),  # one word: left for the cell to cut
    ],
)
def test_person_names_shorten_to_first_name_and_initial(
    name: str, width: int, expected: str
) -> None:
    assert fit_person(name, width) == expected


async def test_custom_field_names_known_before_a_page_reach_its_summaries() -> None:
    cf = "custom.cf_a5PRNOiOFTgF14AsQ6uYbrmM3bPPMqU8ldXLUqSabZC"
    app = WideTableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(EventTable)
        table.set_names({cf.removeprefix("custom."): "Industry"})
        table.append_events(
            [
                make_event(
                    0,
                    object_type="lead",
                    action="updated",
                    changed_fields=[cf],
                    data={cf: "Retail"},
                    previous_data={cf: "Banking"},
                )
            ]
        )
        await pilot.pause()
        assert "Lead Industry: Banking → Retail" in line(table, 1)


def test_rows_keep_the_api_key_id_shared_between_rows() -> None:
    store = RowStore()
    first = store.make_row(make_event(0, api_key_id=API_KEY))
    same_key_new_string = "".join(list(API_KEY))  # equal, but another object (as parsed)
    second = store.make_row(make_event(1, api_key_id=same_key_new_string))
    assert first.api_key_id == API_KEY and first.api_key_id is second.api_key_id
    assert store.make_row(make_event(2)).api_key_id is None


@pytest.mark.parametrize(
    ("object_type", "width", "expected"),
    [
        ("activity.note", 19, "activity.note"),
        ("activity.opportunity_status_change", 19, "act.opp_status"),
        ("activity.form_submission", 19, "act.form_submission"),
        ("activity.form_submission", 12, "act.form"),
        ("task.answered_detached_call", 19, "task.detached_call"),
        ("bulk_action.sequence_subscription", 19, "bulk.sequence_sub"),
        ("custom_fields.opportunity", 12, "cf.opp"),
        ("something.unknown_and_long", 12, "something.unknown_and_long"),  # left to fit()
    ],
)
def test_compact_types(object_type: str, width: int, expected: str) -> None:
    assert compact_type(object_type, width) == expected
