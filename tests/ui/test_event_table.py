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
from close_tui.core.rows import format_age, format_time, short_id
from close_tui.ui.widgets.event_table import NEAR_END_ROWS, EventTable, FooterState

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
        for title in ("TIME", "ACTION", "OBJECT TYPE", "OBJECT", "LEAD", "USER", "SUMMARY"):
            assert title in header
        first = line(table, 1)
        assert "Nov 20 12:59:00" in first  # 60 s before NOW, local = UTC here
        assert "created" in first and "activity.note" in first
        assert "acti_000…000" in first and "lead_sHR…NU0" in first and "user_N6K…3XA" in first
        assert "note number 0" in first
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
        assert "[bold]x[/] ␛[31m [@click=app.quit]" in text
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


async def test_upsert_updates_in_place_and_inserts_new_at_the_top() -> None:
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
        assert ids[:3] == [make_event(0).id, make_event(1).id, make_event(10).id]
        assert ids.index(make_event(15).id) == 7  # stays where it was (5), shifted by 2
        assert "edited text" in row_line(table, 7)
        # The cursor follows its event.
        assert table.cursor_event_id == make_event(12).id
        assert table.cursor_index == 4
        # Again, plus an older page overlapping what is loaded: still no duplicates.
        table.upsert_events([make_event(0), make_event(1)])
        table.append_events(page(25, 10))
        await pilot.pause()
        assert table.row_count == 27
        assert len({table.event_id_at(i) for i in range(table.row_count)}) == 27


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
        assert f"note number {int(table.scroll_y)} " in line(table, 1)


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
