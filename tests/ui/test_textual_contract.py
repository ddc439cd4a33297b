"""What the app relies on in Textual's private API: one test per use, failing loudly on
an upgrade that changes it.

Public API is used wherever Textual has one (tests post keys with ``post_message``, read
the screen through ``get_widget_at``/``render_lines``, record toasts through ``notify``).
Three uses have no public equivalent; ``pyproject.toml`` pins Textual to the minor version
they were checked against, and these tests say what to look at when it moves:

* ``EventTable._update_virtual_size`` grows the table's canvas without a layout: it sets
  ``virtual_size`` quietly and calls ``Widget._scroll_update`` (scrollbar and scroll
  clamping only), and skips even that when the thumb would not move, judged by
  ``EventTable._thumb``, a copy of ``ScrollBarRender.render_bar``'s arithmetic.
* ``CloseTuiApp._fatal_error`` replaces the crash report (no local variables: a key in a
  local would be printed); Textual calls it from ``App._handle_exception``.
"""

from __future__ import annotations

import inspect
import re
import tomllib
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from textual.app import App, ComposeResult
from textual.geometry import Size
from textual.scrollbar import ScrollBarRender
from textual.widget import Widget

from close_tui.ui.app import CloseTuiApp
from close_tui.ui.widgets.event_table import EventTable

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_installed_textual_is_the_pinned_minor_version() -> None:
    spec = next(d for d in tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
                if d.startswith("textual"))
    low, high = re.fullmatch(r"textual>=(\d+\.\d+),<(\d+\.\d+)", spec).groups()  # type: ignore[union-attr]
    installed = tuple(int(p) for p in version("textual").split(".")[:2])
    assert tuple(int(p) for p in low.split(".")) <= installed < tuple(
        int(p) for p in high.split(".")), (
        f"Textual {version('textual')} is outside the pinned {spec}: check the private "
        "API listed in this module, then move the pin")


def test_scroll_update_takes_a_size_and_updates_the_scrollbar_and_the_scroll() -> None:
    parameters = list(inspect.signature(Widget._scroll_update).parameters)
    assert parameters == ["self", "virtual_size"], parameters
    source = inspect.getsource(Widget._scroll_update)
    assert "window_virtual_size = virtual_size.height" in source
    assert "validate_scroll_y" in source


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield EventTable()


async def test_a_quiet_virtual_size_change_reaches_the_scrollbar() -> None:
    """What _scroll_update is for: the scrollbar learns the new height with no layout."""
    app = TableApp()
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one(EventTable)
        table.virtual_size = Size(0, 200)
        await pilot.pause()
        table.scroll_to(y=150, animate=False, immediate=True)
        table.set_reactive(EventTable.virtual_size, Size(0, 100))
        table._scroll_update(Size(0, 100))
        assert table.vertical_scrollbar.window_virtual_size == 100
        assert table.scroll_y == table.max_scroll_y < 150  # clamped to the smaller canvas


def _bar(window: int, virtual: int, position: float) -> list[Any]:
    rendered = ScrollBarRender.render_bar(size=window, virtual_size=virtual,
                                          window_size=window, position=position)
    return [(segment.text, segment.style) for segment in rendered.segments]


def test_an_unchanged_thumb_means_an_unchanged_scrollbar() -> None:
    """EventTable skips repainting the scrollbar when _thumb says the thumb did not move:
    that holds only while _thumb computes what render_bar draws."""
    checked = 0
    for window in (5, 17, 38):
        for position_share in (0.0, 0.3, 1.0):
            for virtual in range(window + 1, window * 40, 7):
                grown = virtual + 3
                position = position_share * (virtual - window)
                table: Any = SimpleNamespace(container_size=Size(0, window), scroll_y=position)
                if EventTable._thumb(table, virtual) == EventTable._thumb(table, grown):
                    assert _bar(window, virtual, position) == _bar(window, grown, position), (
                        window, virtual, grown, position)
                    checked += 1
    assert checked > 50  # the skip happens often: the property was really exercised


def test_the_crash_report_hook_is_still_where_textual_calls_it() -> None:
    handler = inspect.getsource(App._handle_exception)
    assert "self._fatal_error()" in handler
    # Still needed: the stock report prints local variables.
    assert "show_locals=True" in inspect.getsource(App._fatal_error)
    assert CloseTuiApp._fatal_error is not App._fatal_error
