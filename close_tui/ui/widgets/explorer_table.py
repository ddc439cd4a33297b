"""The explorer's event table: the Line-API table plus the explorer's letter keys, a brief
highlight on rows live follow changed, and two hooks (Home: back at the newest; End: the
user asks for more)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.segment import Segment
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer

from close_tui.core.rows import EventRow
from close_tui.ui.keys import bindings_for
from close_tui.ui.widgets.event_table import NEAR_END_ROWS, EventTable

#: How long a row changed by live follow stays highlighted.
FLASH_SECONDS = 1.5


class ExplorerTable(EventTable):
    """The event table with the explorer's letter keys (active only while it has focus)."""

    BINDINGS: ClassVar = bindings_for("table")
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *EventTable.COMPONENT_CLASSES,
        "explorer-table--flash",
    }
    DEFAULT_CSS = """
    ExplorerTable > .explorer-table--flash { background: $warning 35%; }
    """

    class ReachedTop(Message):
        """Home/g: the user is back at the newest event (shows what follow held back)."""

    class WantsMore(Message):
        """End/G: the user asks for more (resumes a stopped local scan)."""

    def __init__(self, *, flash_seconds: float = FLASH_SECONDS, **kw: Any) -> None:
        super().__init__(**kw)
        self.flash_seconds = flash_seconds
        self.flashing: set[str] = set()
        self._flash_timer: Timer | None = None

    def action_first(self) -> None:
        super().action_first()
        self.post_message(self.ReachedTop())

    def action_last(self) -> None:
        self.post_message(self.WantsMore())
        super().action_last()

    @property
    def at_top(self) -> bool:
        return self.scroll_y < 1

    @property
    def wants_more(self) -> bool:
        """Whether fewer than a page of rows is left below what is on screen (or below
        the cursor): the table asks for the next page by itself (``NearEnd``) then, so a
        local scan is still "scanning" between two pages."""
        height = max(1, self.scrollable_content_region.height - 1)
        last_seen = int(self.scroll_y) + height - 1
        if self.cursor_index is not None:
            last_seen = max(last_seen, self.cursor_index)
        return self.row_count - 1 - last_seen <= NEAR_END_ROWS

    def all_rows(self) -> list[EventRow]:
        """Every row, in order (what a view keeps when it is left)."""
        return [self.row_at(index) for index in range(self.row_count)]

    def flash(self, event_ids: Iterable[str]) -> None:
        """Highlight these rows for a moment (updated in place, or new)."""
        self.flashing.update(event_ids)
        if self._flash_timer is not None:
            self._flash_timer.stop()
        self._flash_timer = self.set_timer(self.flash_seconds, self._end_flash)
        self.refresh()

    def _end_flash(self) -> None:
        self.flashing.clear()
        self._flash_timer = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if not self.flashing or y == 0:
            return strip
        index = int(self.scroll_y) + y - 1
        if 0 <= index < self.row_count and self.event_id_at(index) in self.flashing:
            style = self.get_component_rich_style("explorer-table--flash", partial=True)
            segments = list(Segment.apply_style(list(strip), post_style=style))
            return Strip(segments, strip.cell_length)
        return strip
