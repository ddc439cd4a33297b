"""Hostile event data in the explorer: shown literally, never executed, never a crash.

The organization is the emulator's hostile variant (``emulator/hostile.py``): markup,
terminal escape sequences, bidi overrides, zero-width and wide characters, a 64 KB note,
data nested 200 deep, a 10,000-element array, 10**400 and 1e400, keys containing
``[/``, an unknown object type with markup, a user and an organization with hostile
names. Every screen the user can reach with them is checked the same way:

* no control character (C0, C1, DEL, bidi override, zero-width) is on screen;
* the markup is on screen as text (``[@click=app.quit]`` is visible, so it was not
  parsed; clicking it does nothing);
* the app is still running and never asked to quit, and the clipboard is untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from rich.segment import Segment
from textual.errors import NoWidget
from textual.geometry import Region
from textual.strip import Strip
from ui_support import UI_NOW, make_app, settle

from close_tui.core.sanitize import has_controls
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock, hostile
from close_tui.ui.app import CloseTuiApp

SIZE = (160, 50)


class WatchedApp(CloseTuiApp):
    """The explorer, recording what hostile text must never make it do."""

    quit_requested = False
    copied: list[str]

    async def action_quit(self) -> None:
        self.quit_requested = True

    def copy_to_clipboard(self, text: str) -> None:
        self.copied.append(text)
        super().copy_to_clipboard(text)


@pytest.fixture(scope="module")
def hostile_emulator() -> Emulator:
    return Emulator(EmulatorConfig(hostile=True), clock=FakeClock(UI_NOW))


def watched_app(emulator: Emulator, **kw: Any) -> WatchedApp:
    app = make_app(emulator, organization=str(emulator.organization["name"]), **kw)
    app.__class__ = WatchedApp  # same construction as every other UI test
    assert isinstance(app, WatchedApp)
    app.copied = []
    return app


def screen_strips(app: CloseTuiApp) -> list[Strip]:
    """Every line of the screen as drawn, through public API: the widget on top at each
    cell (``get_widget_at``) and its own rendering of that line (``render_lines``), cut
    into runs of cells that belong to the same widget."""
    screen = app.screen
    width, height = screen.size
    strips: list[Strip] = []
    for y in range(height):
        owners: list[tuple[Any, Region] | None] = []
        for x in range(width):
            try:
                owners.append(screen.get_widget_at(x, y))
            except NoWidget:
                owners.append(None)
        parts: list[Strip] = []
        x = 0
        while x < width:
            owner = owners[x]
            end = x + 1
            while end < width and owners[end] is not None and owner is not None and (
                    owners[end][0] is owner[0]):  # type: ignore[index]
                end += 1
            if owner is None:
                parts.append(Strip.blank(1))
            else:
                widget, region = owner
                lines = widget.render_lines(Region(0, y - region.y, region.width, 1))
                line = lines[0] if lines else Strip.blank(region.width)
                parts.append(line.crop(x - region.x, end - region.x))
            x = end
        strips.append(Strip.join(parts).simplify())
    return strips


def screen_segments(app: CloseTuiApp) -> Iterator[Segment]:
    for strip in screen_strips(app):
        yield from strip


def screen_lines(app: CloseTuiApp) -> list[str]:
    return [strip.text for strip in screen_strips(app)]


def screen_text(app: CloseTuiApp) -> str:
    return "\n".join(screen_lines(app))


def assert_safe(app: WatchedApp) -> None:
    """Nothing on screen can act on a terminal, no markup ran, and the app lives."""
    for number, line in enumerate(screen_lines(app)):
        assert not has_controls(line), f"control character on screen line {number}: {line!r}"
    for segment in screen_segments(app):
        style = segment.style
        if style is None:
            continue
        assert "evil.example" not in (style.link or ""), f"a data link became live: {segment!r}"
        click = str(style.meta.get("@click", "")) if style.meta else ""
        assert "quit" not in click or "Quit" in segment.text or "^q" in segment.text
    assert app.is_running
    assert not app.quit_requested
    assert app.copied == []


def hostile_rows(app: CloseTuiApp, emulator: Emulator) -> dict[str, int]:
    """Table index of each hostile event, by ``object_type/action``."""
    hostile_objects = {
        hostile.HOSTILE_LEAD_ID, hostile.HOSTILE_CONTACT_ID, hostile.HOSTILE_NOTE_ID,
        hostile.HOSTILE_OBJECT_ID,
    }
    found: dict[str, int] = {}
    for index in range(app.explorer.table.row_count):
        raw = emulator.event(app.explorer.table.event_id_at(index))
        assert raw is not None
        if raw["object_id"] in hostile_objects:
            found[f"{raw['object_type']}/{raw['action']}"] = index
    return found


async def open_row(pilot: Any, app: CloseTuiApp, index: int) -> None:
    app.explorer.table.focus()
    app.explorer.table.move_cursor(index)
    await pilot.press("enter")
    await settle(pilot)


async def test_table_and_status_bar_show_hostile_text_literally(
    hostile_emulator: Emulator,
) -> None:
    app = watched_app(hostile_emulator)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows = hostile_rows(app, hostile_emulator)
        assert len(rows) == 5, rows  # all of them are on the first page
        text = screen_text(app)
        # The unknown type, the markup in names and the escapes, all shown as text.
        assert "[bold]Evil[/]␛[2J" in text  # the unknown type's markup and CSI
        assert "[bold red]BOLD?[/]" in text
        assert "Acme [/] Inc [@click=app" in text
        # The status bar: the organization's name, escapes made visible.
        status = "\n".join(screen_lines(app)[-3:])
        assert "Hostile [b]Org[/b] ␛]52;c;SE9TVElMRQ==␇ ␛]0;PWNED-TITLE␇ ZZ6<U+009B>2J" in status
        assert_safe(app)
        # Clicking where "[@click=app.quit]" is drawn runs nothing: it is only text.
        for y, line in enumerate(screen_lines(app)):
            x = line.find("[@click=app")
            if x >= 0:
                await pilot.click(offset=(x + 2, y))
                await settle(pilot)
        assert_safe(app)
        # The app still answers keys.
        before = app.explorer.table.cursor_index
        await pilot.press("down")
        await settle(pilot)
        assert app.explorer.table.cursor_index == (before or 0) + 1


async def test_every_hostile_event_opens_safely_in_both_tabs(
    hostile_emulator: Emulator,
) -> None:
    app = watched_app(hostile_emulator)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for kind, index in hostile_rows(app, hostile_emulator).items():
            await open_row(pilot, app, index)
            event = app.explorer.detail.event
            assert event is not None and event.id == app.explorer.table.event_id_at(index), kind
            for tab in ("changes", "json"):
                app.explorer.detail.show_tab(tab)
                await settle(pilot)
                assert_safe(app)
            # The whole JSON view, not only the part on screen, is free of controls.
            lines = app.explorer.detail.json_view.lines
            for row in lines.row_texts():
                assert not has_controls(row), (kind, row)
            if kind == "activity.note/created":
                await check_the_64_kb_note(pilot, app)
            if kind == f"{hostile.UNKNOWN_TYPE}/created":
                await check_huge_and_deep_data(pilot, app)
        await pilot.press("t")  # redraw the last one with another time display
        await settle(pilot)
        assert_safe(app)


async def check_the_64_kb_note(pilot: Any, app: WatchedApp) -> None:
    event = app.explorer.detail.event
    assert event is not None
    note = event.data["note"]
    assert len(note.encode()) > 60_000 and note == hostile.long_note()
    assert app.explorer.detail.json_view.lines.search("SE9TVElMRQ") >= 1
    await settle(pilot)
    assert_safe(app)


def _refuse(name: str) -> Any:
    raise ValueError(f"not JSON: {name}")


async def check_huge_and_deep_data(pilot: Any, app: WatchedApp) -> None:
    header = "\n".join(screen_lines(app)[:15])
    assert "custom_object.[bold]Evil[/]␛[2J" in header
    event = app.explorer.detail.event
    assert event is not None
    # 10**400 arrives as an int (Python keeps big integers exact); 1e400, 1e-400 and a
    # 5,000-digit integer, which no int or float holds, arrive exact (core.jsonnum).
    assert event.data["huge_int"] == 10**400
    assert event.data["huge_float"] == Decimal("1e400")
    assert event.data["tiny_float"] == Decimal("1e-400")
    assert event.data["long_int"] == Decimal("9" * 5000)
    assert len(event.data["big_array"]) == hostile.ARRAY_LENGTH
    lines = app.explorer.detail.json_view.lines
    lines.unfold_all()
    await settle(pilot)
    rows = lines.row_texts()
    assert any(str(10**400)[:40] in row for row in rows)
    assert any("[/]key" in row for row in rows)
    assert any("level" in row and "200" in row for row in rows)  # the deepest level
    assert any("1E+400" in row for row in rows if "huge_float" in row)
    assert any("1E-400" in row for row in rows if "tiny_float" in row)
    assert any("9" * 40 in row for row in rows if "long_int" in row)
    # Copy JSON puts valid JSON with the exact numbers on the clipboard.
    await pilot.press("Y")
    copied = json.loads(app.clipboard, parse_float=Decimal, parse_int=Decimal,
                        parse_constant=_refuse)
    assert copied["data"]["huge_float"] == Decimal("1e400")
    assert copied["data"]["long_int"] == Decimal("9" * 5000)
    assert app.copied == [app.clipboard]
    app.copied.clear()  # ours, not data's: assert_safe checks nothing else was copied
    await pilot.press("end")
    await settle(pilot)
    assert_safe(app)


_CHANGES_SCREEN: dict[int, str] = {}


async def changes_of_the_hostile_update(emulator: Emulator) -> str:
    """The screen with the Changes tab of the hostile lead update (tall: all of it);
    drawn once for the tests that read it."""
    if id(emulator) not in _CHANGES_SCREEN:
        _CHANGES_SCREEN[id(emulator)] = await _draw_changes_of_the_hostile_update(emulator)
    return _CHANGES_SCREEN[id(emulator)]


async def _draw_changes_of_the_hostile_update(emulator: Emulator) -> str:
    app = watched_app(emulator)
    async with app.run_test(size=(200, 90)) as pilot:
        await settle(pilot)
        await open_row(pilot, app, hostile_rows(app, emulator)["lead/updated"])
        app.explorer.detail.show_tab("changes")
        await settle(pilot)
        assert_safe(app)
        return screen_text(app)


async def test_the_changes_of_the_hostile_update(hostile_emulator: Emulator) -> None:
    text = await changes_of_the_hostile_update(hostile_emulator)
    assert "cf_[/]Evil[@click=app.qu" in text  # a custom field key with "[/" in it
    assert "[bold red]BOLD?[/] ZZ3␇" in text  # its old value
    assert "␛]8;;http://evil.example/" in text  # the new name's OSC 8, made visible
    assert "ZZ7<U+202E>" in text  # the right-to-left override, shown not obeyed


async def test_a_carriage_return_in_a_changed_text_is_shown_not_obeyed(
    hostile_emulator: Emulator,
) -> None:
    text = await changes_of_the_hostile_update(hostile_emulator)
    assert "ZZ4␈␈␍ZZ5" in text


async def test_a_hostile_paste_and_its_notification(hostile_emulator: Emulator) -> None:
    app = watched_app(hostile_emulator)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        form = app.explorer.form
        form.paste_text(f"lead_{hostile.OSC52}{hostile.MARKUP_CLICK}", target="user_id")
        await settle(pilot)
        app.explorer.form.paste_text(hostile.EVERYTHING, target="object_type")
        await settle(pilot)
        assert_safe(app)
        text = screen_text(app)
        assert "[@click=app.quit]" in text or "␛]52" in text
        await pilot.press("escape")
        await settle(pilot)
        assert_safe(app)


async def test_a_terminal_of_40_by_10_shows_something_and_survives(
    hostile_emulator: Emulator,
) -> None:
    app = watched_app(hostile_emulator)
    async with app.run_test(size=(40, 10)) as pilot:
        await settle(pilot)
        assert app.explorer.table.row_count > 0
        for key in ("down", "down", "enter", "d", "f", "escape", "question_mark"):
            await pilot.press(key)
            await settle(pilot)
        assert_safe(app)
        assert screen_text(app).strip(), "a blank screen at 40×10"
