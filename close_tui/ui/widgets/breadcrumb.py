"""One line above the table: where the investigation is, and what live follow is doing.

``All events › lead Acme Inc › request req_4LN…o3e`` on the left (the history trail, so
Back has a visible destination), the follow badge on the right (``● following``,
``+12 new — Home shows them``). Every part is plain text made visible: lead names and ids
come from the API and are never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from close_tui.core.sanitize import visible

SEPARATOR = " › "


def trail_text(labels: Sequence[str], width: int) -> Text:
    """The trail, the current step in bold; cut from the left (``… › ``) to fit ``width``."""
    parts = [visible(label) for label in labels] or ["All events"]
    shown = list(parts)
    elided = False

    def length() -> int:
        extra = cell_len("… › ") if elided else 0
        return extra + cell_len(SEPARATOR.join(shown))

    while len(shown) > 1 and width > 0 and length() > width:
        shown.pop(0)
        elided = True
    text = Text(no_wrap=True, overflow="ellipsis")
    if elided:
        text.append("…" + SEPARATOR, "dim")
    for index, part in enumerate(shown):
        if index:
            text.append(SEPARATOR, "dim")
        text.append(part, "bold" if index == len(shown) - 1 else "")
    return text


class Breadcrumb(Horizontal):
    """The trail of the history and a badge; both set by the app."""

    DEFAULT_CSS = """
    Breadcrumb {
        height: 1;
        background: $boost;
        padding: 0 1;
    }
    Breadcrumb > #crumb-trail { width: 1fr; height: 1; text-wrap: nowrap; }
    Breadcrumb > #crumb-badge { width: auto; height: 1; color: $warning; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.labels: list[str] = ["All events"]
        self.badge = ""

    def compose(self) -> ComposeResult:
        yield Static(Text("All events", style="bold"), id="crumb-trail")
        yield Static("", id="crumb-badge")

    def set_trail(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self._draw()

    def set_badge(self, badge: str) -> None:
        self.badge = badge
        if self.is_mounted:
            self.query_one("#crumb-badge", Static).update(Text(visible(badge)))

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        room = self.size.width - 2 - cell_len(self.badge) - 2
        self.query_one("#crumb-trail", Static).update(trail_text(self.labels, max(room, 20)))

    def on_mount(self) -> None:
        self._draw()
        self.set_badge(self.badge)

    @property
    def text(self) -> str:
        """The trail as plain text (tests, screen readers)."""
        return SEPARATOR.join(visible(label) for label in self.labels)
