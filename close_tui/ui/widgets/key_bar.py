"""A one-line key bar for narrow screens: the keys that work here, as many as fit.

Textual's ``Footer`` lays out every shown binding in order and cuts what does not fit,
so on a 60-column screen "? Keys" and "^q Quit" (the app's keys come last) were cut off.
This bar takes the same active bindings and the one key table's priorities
(:data:`close_tui.ui.keys.KEY_BAR_ORDER`: help first), and drops the least important
keys whole until the line fits. The explorer shows it instead of the footer below
``FOOTER_WIDTH`` columns.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from close_tui.ui.keys import KEY_BAR_ORDER

GAP = "  "


def fit_keys(keys: list[tuple[str, str]], width: int) -> list[tuple[str, str]]:
    """The ``(key, description)`` pairs that fit in ``width`` cells, most important
    first in ``keys``; the result keeps their order."""
    chosen: list[tuple[str, str]] = []
    used = 0
    for key, description in keys:
        size = cell_len(key) + 1 + cell_len(description) + (cell_len(GAP) if chosen else 0)
        if used + size > width:
            continue
        chosen.append((key, description))
        used += size
    return chosen


class KeyBar(Static):
    """The most useful keys of the focused place, fitted to one line."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-bar--key"}

    DEFAULT_CSS = """
    KeyBar {
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-description-foreground;
        padding: 0 1;
        & > .key-bar--key { color: $footer-key-foreground; text-style: bold; }
    }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _: object) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self.refresh()

    def shown_keys(self) -> list[tuple[str, str]]:
        """``(key display, description)`` of the shown active bindings, by priority."""
        found: dict[str, tuple[int, int, Binding]] = {}
        for position, bound in enumerate(self.screen.active_bindings.values()):
            binding = bound.binding
            if not binding.show or not bound.enabled or binding.action in found:
                continue
            rank = KEY_BAR_ORDER.index(binding.id) if binding.id in KEY_BAR_ORDER else (
                len(KEY_BAR_ORDER))
            found[binding.action] = (rank, position, binding)
        ordered = sorted(found.values(), key=lambda item: (item[0], item[1]))
        return [(self.app.get_key_display(b), b.description) for _, _, b in ordered]

    def render(self) -> Text:
        width = max(0, self.size.width - 2)
        key_style = self.get_component_rich_style("key-bar--key", partial=True)
        text = Text(no_wrap=True, overflow="crop")
        for number, (key, description) in enumerate(fit_keys(self.shown_keys(), width)):
            if number:
                text.append(GAP)
            text.append(key, key_style)
            text.append(" " + description)
        return text
