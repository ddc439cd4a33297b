"""The event list: a Line-API table that stays fast with a million loaded rows.

Why not Textual's ``DataTable``: it rebuilds per-row caches on every append (a 50-row page
costs ~1 s at 100k rows) and parses plain ``str`` cells as markup, which CRM text breaks.
This widget draws only the lines on screen (``render_line``) from a compact
:class:`~close_tui.core.rows.RowStore`, builds ``Segment``s directly from already
sanitized strings (no markup is ever parsed), and keeps a small LRU of rendered strips.

Layout of the virtual canvas: line 0 is the header (pinned: always drawn on screen line 0),
lines ``1..n`` are rows ``0..n-1``, and an optional last line is the footer
("Loading…", "— end of log —", "no events match this filter" when the log ended without a
row, an error). So row ``i`` lives on virtual line ``i + 1``.

Columns: TIME, ACTION and SUMMARY always show; LEAD, USER, TYPE, OBJECT (and API KEY when
asked for) join as the width allows, in one priority order (:func:`plan_columns`).

The widget never fetches. It tells the app when more rows are wanted (:class:`NearEnd`)
and when the cursor moves or a row is chosen; the app owns the I/O and calls
:meth:`append_events` / :meth:`set_footer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from math import ceil
from typing import ClassVar, Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip
from textual.timer import Timer

from close_tui.core.models import Event
from close_tui.core.names import NamesUsed
from close_tui.core.rows import (
    TIME_MODES,
    EventRow,
    RowStore,
    TimeMode,
    compact_type,
    format_time,
    short_id,
)
from close_tui.core.sanitize import visible
from close_tui.core.summary import summarize
from close_tui.ui.keys import bindings_for
from close_tui.ui.widgets.action_palette import (
    TONES,
    ActionTone,
    action_tone,
    palette_css,
    tone_class,
    tone_classes,
)

FooterState = Literal["idle", "loading", "more", "end", "error"]

#: "Within one page of the end": the API's page size, so one request refills the margin.
NEAR_END_ROWS = 50


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A fixed-width column: never narrower than ``min``, grown up to ``ideal``."""

    title: str
    min: int
    ideal: int


#: The columns besides the summary (which takes what is left), in screen order.
COLUMNS: dict[str, ColumnSpec] = {
    "time": ColumnSpec("TIME", 15, 15),
    "action": ColumnSpec("ACTION", 9, 11),  # "completed"; "deactivated" when there is room
    "type": ColumnSpec("OBJECT TYPE", 12, 19),  # long types are shortened: compact_type()
    "object": ColumnSpec("OBJECT", 12, 12),
    "lead": ColumnSpec("LEAD", 10, 18),
    "user": ColumnSpec("USER", 10, 14),
    "api_key": ColumnSpec("API KEY", 11, 11),
}
#: Always shown, whatever the width: when, and what kind of change. The summary (last)
#: is never dropped either; it takes what is left and is cut with "…".
_ALWAYS = ("time", "action")
#: Shown at their minimum width while the summary keeps SUMMARY_MIN (a sentence such as
#: "Task completed: Check in after…" stays readable), most wanted first,
#: so they drop from the end of this list as the table narrows:
#: the API key only when asked for (``K``: it is the question being asked), then the
#: lead (an unfiltered view must say whose event it is), then the user. The object's
#: kind goes before them: the summary sentence already names it ("Note added: …").
_CORE = ("api_key", "lead", "user")
#: Shown at their ideal width only while the summary keeps SUMMARY_COMFORT, in this order.
_EXTRA = ("type", "object")
#: Which columns get spare cells first (names are the most often cut).
_GROW_ORDER = ("lead", "user", "type", "action", "api_key")
SUMMARY_MIN = 26
SUMMARY_COMFORT = 40
#: Cells between two columns.
GAP = 1


def plan_columns(
    width: int, show_api_key: bool = False, show_lead: bool = True
) -> tuple[tuple[str, int], ...]:
    """Column widths for a table ``width`` cells wide, the summary last.

    TIME and ACTION are always kept at their minimum (about 40 cells, the table beside
    the detail pane on an 80-column terminal, still shows them with a short summary).
    The core columns join at their minimum while the summary keeps ``SUMMARY_MIN``
    cells — so a lead column appears from 63 cells and the user from 74; the
    others only at their ideal width while it keeps ``SUMMARY_COMFORT``; spare cells then
    widen the chosen columns up to their ideal (summary kept at its comfort width), and
    the rest goes to the summary. ``show_lead`` is off when the view is one lead's.
    Every column is followed by a ``GAP``; widths add up to ``width`` whenever ``width``
    holds TIME, ACTION and one cell of summary (narrower tables are cut on screen).
    """
    chosen: dict[str, int] = {}
    used = 0
    for key in _ALWAYS:
        chosen[key] = COLUMNS[key].min
        used += COLUMNS[key].min + GAP
    for key in _CORE:
        if (key == "api_key" and not show_api_key) or (key == "lead" and not show_lead):
            continue
        need = COLUMNS[key].min + GAP
        if used + need + SUMMARY_MIN > width:
            break  # the rest rank lower: none of them may take this one's place
        chosen[key] = COLUMNS[key].min
        used += need
    for key in _EXTRA:
        need = COLUMNS[key].ideal + GAP
        if used + need + SUMMARY_COMFORT > width:
            break
        chosen[key] = COLUMNS[key].ideal
        used += need
    spare = width - used - SUMMARY_COMFORT
    for key in _GROW_ORDER:
        if spare <= 0:
            break
        if key in chosen:
            extra = min(spare, COLUMNS[key].ideal - chosen[key])
            chosen[key] += extra
            used += extra
            spare -= extra
    ordered = tuple((key, chosen[key]) for key in COLUMNS if key in chosen)
    return (*ordered, ("summary", max(1, width - used)))


_TIME_TITLES: dict[TimeMode, str] = {"local": "TIME", "utc": "TIME (UTC)", "relative": "AGE"}

#: What the last line says when the log has ended: after rows, and when there are none.
END_OF_LOG_TEXT = "— end of log —"
NO_MATCH_TEXT = "no events match this filter"

_TONE_STYLE: dict[ActionTone, str] = {
    tone: tone_class("event-table", tone) for tone in TONES
}


def fit(text: str, width: int) -> str:
    """``text`` padded or cut (with ``…``) to exactly ``width`` terminal cells."""
    if width <= 0:
        return ""
    if text.isascii():
        length = len(text)
        if length <= width:
            return text + " " * (width - length)
        return text[: width - 1] + "…"
    cells = cell_len(text)
    if cells <= width:
        return text + " " * (width - cells)
    return set_cell_size(text, width - 1) + "…"


def fit_id(value: str | None, width: int) -> str:
    """An id in ``width`` cells: whole, else ``user_3r1…cWb``, else ``3r1…cWb`` (the
    column title already says what kind of id it is)."""
    if not value:
        return ""
    if len(value) <= width:
        return visible(value)
    short = short_id(value)
    if len(short) <= width:
        return short
    return short_id(value.partition("_")[2] or value)


def fit_person(name: str, width: int) -> str:
    """A person's name in ``width`` cells: ``Benjamin Williams`` → ``Benjamin W.`` →
    ``Benjamin W`` → ``B. Williams``, before cutting: the first name and an initial tell
    colleagues apart better than ``Benjamin Wil…``."""
    if cell_len(name) <= width:
        return name
    words = name.split()
    if len(words) >= 2:
        first, last = words[0], words[-1]
        for candidate in (f"{first} {last[0]}.", f"{first} {last[0]}", f"{first[0]}. {last}"):
            if cell_len(candidate) <= width:
                return candidate
    return name


#: Rows kept to be summarized again once their names come (their events are kept).
MAX_RESUMMARIZED = 2000


class EventTable(ScrollView, can_focus=True):
    """Events newest first; a row cursor; a pinned header and a status footer line."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("rows")  # the one key table

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "event-table--header",
        "event-table--cursor",
        *tone_classes("event-table"),
        "event-table--muted",
        "event-table--footer",
        "event-table--error",
    }

    DEFAULT_CSS = (
        """
    EventTable {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        height: 1fr;
        &:focus {
            background-tint: $foreground 5%;
            & > .event-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .event-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .event-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .event-table--muted { color: $text-muted; }
        & > .event-table--footer { color: $text-muted; text-style: italic; }
        & > .event-table--error { color: $error; text-style: bold; }
    """
        + palette_css("event-table")
        + "\n}\n"
    )

    class _RowMessage(Message):
        """About the event on row ``index`` (never posted itself)."""

        def __init__(self, table: EventTable, event_id: str, index: int) -> None:
            super().__init__()
            self.table = table
            self.event_id = event_id
            self.index = index

        @property
        def control(self) -> EventTable:
            return self.table

    class Highlighted(_RowMessage):
        """The cursor moved to another event."""

    class Selected(_RowMessage):
        """An event was chosen (Enter or a click)."""

    class NearEnd(Message):
        """The cursor or the view came within a page of the last row and more exist.

        Sent often (every scroll step near the end) but coalesced in the queue, and only
        while the footer says "more": the app sets "loading" while a request is in
        flight, which is what keeps one request at a time.
        """

        def __init__(self, table: EventTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> EventTable:
            return self.table

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, EventTable.NearEnd)

    time_mode: reactive[TimeMode] = reactive[TimeMode]("local")
    """How the time column reads: local time, UTC, or age relative to ``now``."""

    show_api_key: reactive[bool] = reactive(False)
    """Show the API KEY column (which integration made a change), after USER."""

    show_lead_column: reactive[bool] = reactive(True)
    """Offer the LEAD column (lead name when known, else its short id). The screen turns
    it off while the view is filtered to one lead, where every row would say the same.
    It shows when the table is wide enough (63 cells and up; see plan_columns)."""

    empty_text: reactive[str] = reactive(NO_MATCH_TEXT)
    """What the last line says when the log has ended without a single row."""

    def __init__(
        self,
        *,
        now: Callable[[], datetime] | None = None,
        tz: tzinfo | None = None,
        names: Mapping[str, str] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """``now`` feeds the relative time mode (inject a fixed clock in tests); ``tz``
        overrides the system time zone for the local mode."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._now = now if now is not None else datetime.now
        self._tz = tz
        self._names: dict[str, str] = {}
        # Summaries name custom fields, merged leads and members from the names known
        # when a row is made (rows keep a finished string, not the event).
        self._store = RowStore(summarizer=self._summarize)
        #: Events whose summary lacked a name, and the ids it lacked (bounded).
        self._unnamed_summaries: dict[str, tuple[Event, frozenset[str]]] = {}
        if names:
            self._names = {key: visible(value) for key, value in names.items()}
        self._cursor: int | None = None
        self._footer_state: FooterState = "idle"
        self._footer_message = ""
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._rich_styles: dict[str, Style] = {}
        self._column_layouts: dict[tuple[int, bool, bool], tuple[tuple[str, int], ...]] = {}
        self._type_labels: dict[tuple[str, int], str] = {}
        self._age_timer: Timer | None = None

    # ------------------------------------------------------------------ public API

    @property
    def row_count(self) -> int:
        return len(self._store)

    @property
    def cursor_index(self) -> int | None:
        return self._cursor

    @property
    def cursor_event_id(self) -> str | None:
        if self._cursor is None:
            return None
        return self._store[self._cursor].event_id

    @property
    def footer_state(self) -> FooterState:
        return self._footer_state

    @property
    def footer_message(self) -> str:
        return self._footer_message

    @property
    def footer_text(self) -> str:
        """What the footer line says now ("" while it is hidden): "Loading…", the error,
        :data:`END_OF_LOG_TEXT` after rows, or :attr:`empty_text` when the log ended
        without a row (an empty result)."""
        state = self._footer_state
        if state == "loading":
            return "Loading…"
        if state == "end":
            return END_OF_LOG_TEXT if len(self._store) else self.empty_text
        if state == "error":
            message = self._footer_message or "could not load events"
            return f"⚠ {message} — press r to retry"
        return ""

    @property
    def is_empty_result(self) -> bool:
        """The log has ended and no row matched (the footer says :attr:`empty_text`)."""
        return self._footer_state == "end" and not len(self._store)

    def event_id_at(self, index: int) -> str:
        return self._store[index].event_id

    def row_at(self, index: int) -> EventRow:
        """The stored (sanitized, drawable) values of one row."""
        return self._store[index]

    def index_of(self, event_id: str) -> int | None:
        """Position of an event (a scan over the rows: not for every frame)."""
        return self._store.index_of(event_id)

    def clear(self) -> None:
        """Forget every row (a new filter): cursor gone, scroll to the top, footer idle."""
        self._store.clear()
        # (_unnamed_summaries stays: Back brings rows of an earlier view back, unsummarized.)
        self._cursor = None
        self._footer_state = "idle"
        self._footer_message = ""
        self._strips.clear()
        self._update_virtual_size()
        self.scroll_to(y=0, animate=False, immediate=True)

    def append_events(self, events: Sequence[Event]) -> None:
        """Add an older page at the bottom. O(len(events)): no rebuild of what is loaded.

        Ids already loaded are updated in place (never shown twice).
        """
        appended, updated = self._store.append(events)
        self._after_append(appended, updated)

    def append_rows(self, rows: Sequence[EventRow]) -> None:
        """Bulk load of rows made with :meth:`make_row` (benchmarks, restored sessions)."""
        appended, updated = self._store.append_rows(rows)
        self._after_append(appended, updated)

    def make_row(self, event: Event) -> EventRow:
        return self._store.make_row(event)

    def upsert_events(self, events: Sequence[Event]) -> None:
        """Live follow: update known ids in place, insert new ones newest-first.

        The cursor stays on the event it was on and the view stays on the rows it showed
        (unless it was at the very top, where new events should be seen appearing).
        """
        old_first_row = int(self.scroll_y)
        result = self._store.upsert(events)
        if not result.inserted and not result.updated:
            return
        self._strips.clear()
        if result.inserted or result.moved:  # rows changed places: the cursor follows its event
            if self._cursor is None:
                self._cursor = 0
                self._post_highlighted()
            else:
                self._cursor = result.remap(self._cursor)
            self._update_virtual_size()
            if old_first_row > 0:
                self.scroll_to(y=result.remap(old_first_row), animate=False, immediate=True)
        self.refresh()
        self._check_near_end()

    def set_footer(self, state: FooterState, message: str = "") -> None:
        """What the last line says: nothing ("idle"/"more"), loading, end, or an error."""
        self._footer_state = state
        self._footer_message = visible(message)
        self._update_virtual_size(dirty_from=len(self._store) + 1)
        self._check_near_end()

    def set_names(self, names: Mapping[str, str]) -> None:
        """Display names for user and lead ids (may arrive after the rows), and for
        custom fields (``cf_…``) and statuses in the summaries (rows shown before their
        names came are summarized again).

        Ids without a name keep showing as short ids.
        """
        self._names = {key: visible(value) for key, value in names.items()}
        self._resummarize()
        self._strips.clear()
        self.refresh()

    @property
    def names(self) -> Mapping[str, str]:
        """The names last given to :meth:`set_names` (sanitized)."""
        return self._names

    def toggle_api_key_column(self) -> None:
        """Show or hide the API KEY column."""
        self.show_api_key = not self.show_api_key

    def columns(self) -> tuple[tuple[str, int], ...]:
        """The columns shown at the current width: ``(key, width)``, summary last."""
        return self._columns_for(self.scrollable_content_region.width)

    def move_cursor(self, index: int) -> None:
        """Put the cursor on row ``index`` (clamped) and scroll it into view."""
        count = len(self._store)
        if not count:
            return
        index = max(0, min(index, count - 1))
        previous = self._cursor
        self._cursor = index
        if previous != index:
            if previous is not None:
                self.refresh_line(previous + 1)
            self.refresh_line(index + 1)
            self._post_highlighted()
        self._scroll_cursor_into_view()
        self._check_near_end()

    def cycle_time_mode(self) -> None:
        """local → UTC → relative → local."""
        position = TIME_MODES.index(self.time_mode)
        self.time_mode = TIME_MODES[(position + 1) % len(TIME_MODES)]

    # ------------------------------------------------------------------ actions

    def action_cursor_up(self) -> None:
        if self._cursor is not None:
            self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(0 if self._cursor is None else self._cursor + 1)

    def action_page_up(self) -> None:
        page = self._page_rows()
        self.scroll_to(y=max(0, self.scroll_y - page), animate=False, immediate=True)
        if self._cursor is not None:
            self.move_cursor(self._cursor - page)

    def action_page_down(self) -> None:
        page = self._page_rows()
        self.scroll_to(y=self.scroll_y + page, animate=False, immediate=True)
        self.move_cursor((self._cursor or 0) + page)

    def action_first(self) -> None:
        self.scroll_to(y=0, animate=False, immediate=True)
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._store) - 1)
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    def action_select(self) -> None:
        if self._cursor is not None:
            self.post_message(self.Selected(self, self.cursor_event_id or "", self._cursor))

    def action_cycle_time_mode(self) -> None:
        self.cycle_time_mode()

    def action_toggle_api_key_column(self) -> None:
        self.toggle_api_key_column()

    # ------------------------------------------------------------------ events

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            first_key, first_width = self.columns()[0]
            if first_key == "time" and offset.x < first_width:
                self.cycle_time_mode()  # the time title says the mode: clicking it changes it
            return
        index = int(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self._store):
            event.stop()
            self.move_cursor(index)
            self.post_message(self.Selected(self, self._store[index].event_id, index))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._check_near_end()

    def watch_show_api_key(self, show: bool) -> None:
        self._strips.clear()
        self.refresh()

    def watch_show_lead_column(self, show: bool) -> None:
        self._strips.clear()
        self.refresh()

    def watch_empty_text(self, text: str) -> None:
        if self.is_empty_result:
            self.refresh()

    def validate_empty_text(self, text: str) -> str:
        return visible(text)

    def watch_time_mode(self, mode: TimeMode) -> None:
        self._strips.clear()
        self._tick_ages()
        self.refresh()

    def on_mount(self) -> None:
        self._tick_ages(mounting=True)

    def _tick_ages(self, mounting: bool = False) -> None:
        """Ages change by themselves: repaint every few seconds while they are shown."""
        if self._age_timer is not None:
            self._age_timer.stop()
            self._age_timer = None
        if self.time_mode == "relative" and (mounting or self.is_mounted):
            self._age_timer = self.set_interval(5, self.refresh)

    def on_resize(self, event: events.Resize) -> None:
        self._check_near_end()

    def notify_style_update(self) -> None:
        """Theme, focus or CSS changed: every cached style and strip is stale."""
        super().notify_style_update()
        self._rich_styles.clear()
        self._strips.clear()

    # ------------------------------------------------------------------ rendering

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header_strip(width)
        index = int(self.scroll_y) + y - 1
        count = len(self._store)
        if index < count:
            return self._row_strip(index, width)
        if index == count and self._footer_visible:
            return self._footer_strip(width)
        return Strip.blank(width, self._part_style("base"))

    def _row_strip(self, index: int, width: int) -> Strip:
        mode = self.time_mode
        highlighted = index == self._cursor
        now_ts = self._now().timestamp() if mode == "relative" else 0.0
        key = (index, width, mode, highlighted, int(now_ts), self.show_api_key,
               self.show_lead_column)  # fmt: skip
        strip = self._strips.get(key)
        if strip is not None:
            return strip
        row = self._store[index]
        base = self._part_style("cursor" if highlighted else "base")
        muted = base if highlighted else self._part_style("muted")
        action_style = base
        if not highlighted:
            action_style = self._part_style(_TONE_STYLE[action_tone(row.action)])
        segments: list[Segment] = []
        space = Segment(" " * GAP, base)
        layout = self._columns_for(width)
        for column, column_width in layout:
            if column == "time":
                text = format_time(row.updated, mode, now=now_ts, tz=self._tz)
                style = muted
            elif column == "action":
                text, style = row.action, action_style
            elif column == "type":
                text, style = self._type_label(row.object_type, column_width), base
            elif column == "object":
                text, style = row.object_short, muted
            elif column == "lead":
                text, style = self._display_id(row.lead_id, "", column_width), base
            elif column == "user":
                text = self._display_id(row.user_id, "system", column_width, person=True)
                style = base
            elif column == "api_key":
                text, style = fit_id(row.api_key_id, column_width), muted
            else:
                text, style = row.summary, base
            segments.append(Segment(fit(text, column_width), style))
            segments.append(space)
        segments.pop()  # no gap after the last column
        layout_width = sum(column_width + GAP for _, column_width in layout) - GAP
        if layout_width == width:
            strip = Strip(segments, width)
        else:  # narrower than the fixed columns: cut
            strip = Strip(segments, layout_width).crop_extend(0, width, base)
        self._strips[key] = strip
        return strip

    def _header_strip(self, width: int) -> Strip:
        key = ("header", width, self.time_mode, self.show_api_key, self.show_lead_column)
        strip = self._strips.get(key)
        if strip is None:
            style = self._part_style("event-table--header")
            titles = {key: spec.title for key, spec in COLUMNS.items()}
            titles["time"] = _TIME_TITLES[self.time_mode]
            titles["summary"] = "SUMMARY"
            text = (" " * GAP).join(
                fit(titles[column], column_width)
                for column, column_width in self._columns_for(width)
            )
            strip = Strip([Segment(fit(text, width), style)], width)
            self._strips[key] = strip
        return strip

    def _footer_strip(self, width: int) -> Strip:
        state = self._footer_state
        text = self.footer_text
        if state == "error":
            style = self._part_style("event-table--error")
        else:
            style = self._part_style("event-table--footer")
        padding = max(0, (width - cell_len(text)) // 2) if state != "error" else 1
        return Strip([Segment(fit(" " * padding + text, width), style)], width)

    @property
    def _footer_visible(self) -> bool:
        return self._footer_state in ("loading", "end", "error")

    def _display_id(
        self, value: str | None, if_none: str, width: int, *, person: bool = False
    ) -> str:
        """The name of ``value`` when known, else its id shortened to ``width``."""
        if value is None:
            return if_none
        name = self._names.get(value)
        if name is None:
            return fit_id(value, width)
        return fit_person(name, width) if person else name

    def _columns_for(self, width: int) -> tuple[tuple[str, int], ...]:
        """Column widths for ``width`` cells (see :func:`plan_columns`), cached."""
        key = (width, self.show_api_key, self.show_lead_column)
        layout = self._column_layouts.get(key)
        if layout is None:
            layout = self._column_layouts[key] = plan_columns(*key)
        return layout

    def _type_label(self, object_type: str, width: int) -> str:
        """The object type, shortened to the column (a few dozen types: cached)."""
        key = (object_type, width)
        label = self._type_labels.get(key)
        if label is None:
            label = self._type_labels[key] = compact_type(object_type, width)
        return label

    def _summarize(self, event: Event) -> str:
        looked_up = NamesUsed(self._names)
        text = summarize(event, looked_up)
        if looked_up.missing:
            # Named later (field lists, statuses arrive after the first page): kept to
            # say it again with the names; the oldest go first past the bound.
            pending = self._unnamed_summaries
            pending[event.id] = (event, frozenset(looked_up.missing))
            while len(pending) > MAX_RESUMMARIZED:
                del pending[next(iter(pending))]
        return text

    def _resummarize(self) -> None:
        """Rows whose summary lacked a name that is known now: summarized again."""
        names = self._names
        for event_id, (event, missing) in list(self._unnamed_summaries.items()):
            if not any(key in names for key in missing):
                continue
            del self._unnamed_summaries[event_id]
            row = self._store.get(event_id)
            if row is not None:
                row.summary = self._summarize(event)

    def _part_style(self, name: str) -> Style:
        """Rich styles of the widget and its parts, resolved once per style change."""
        style = self._rich_styles.get(name)
        if style is None:
            if name == "base":
                style = self.rich_style
            elif name in ("muted", *_TONE_STYLE.values()):
                part = name if name.startswith("event-table--") else f"event-table--{name}"
                style = self.rich_style + self.get_component_rich_style(part, partial=True)
            else:
                part = name if name.startswith("event-table--") else f"event-table--{name}"
                style = self.get_component_rich_style(part)
            self._rich_styles[name] = style
        return style

    # ------------------------------------------------------------------ internals

    def _after_append(self, appended: int, updated: int) -> None:
        if updated:  # rows changed in place, anywhere: redraw all
            self._strips.clear()
            self._update_virtual_size()
        elif appended:  # only the new bottom rows and the footer below them changed
            self._update_virtual_size(dirty_from=len(self._store) - appended + 1)
        if appended and self._cursor is None:
            self._cursor = 0
            self.refresh_line(1)
            self._post_highlighted()
        self._check_near_end()

    def _update_virtual_size(self, dirty_from: int | None = None) -> None:
        """Resize the canvas; repaint from virtual line ``dirty_from`` (``None``: all).

        Assigning ``virtual_size`` makes Textual lay out and repaint the whole screen: a
        few milliseconds per page, for rows usually far below the view. When the change
        cannot alter the layout (the scrollbar stays as it is), set it quietly, update
        the scrollbar, and repaint only the lines on screen that changed.
        """
        new = Size(0, 1 + len(self._store) + (1 if self._footer_visible else 0))
        old = self.virtual_size
        container_height = self.container_size.height
        height_style = self.styles.height
        quiet = (
            self.is_mounted
            and container_height > 0
            and self.styles.overflow_y == "auto"
            and height_style is not None
            and not height_style.is_auto
            and (old.height > container_height) == (new.height > container_height)
        )
        if not quiet:
            self.virtual_size = new
            self.refresh()
            return
        if new != old:
            thumb_before = self._thumb(old.height)
            self.set_reactive(EventTable.virtual_size, new)
            if (
                new.height > old.height
                and self.show_vertical_scrollbar
                and self._thumb(new.height) == thumb_before
            ):
                # Growth that moves the thumb by less than the scrollbar can draw (most
                # appends past a few thousand rows): keep its model current, skip the repaint.
                self.vertical_scrollbar.set_reactive(ScrollBar.window_virtual_size, new.height)
            else:
                self._scroll_update(new)  # scrollbar thumb + scroll clamping, no layout
        if dirty_from is None:
            self.refresh()
        else:
            self._refresh_virtual_lines(dirty_from, max(old.height, new.height) - 1)

    def _thumb(self, virtual_height: int) -> tuple[int, int]:
        """The scrollbar thumb's ends in the units ScrollBarRender draws (1/8 cell)."""
        window = self.container_size.height
        if window <= 0 or virtual_height <= window:
            return (0, 0)
        steps = len(ScrollBarRender.VERTICAL_BARS)
        thumb = max(1.0, window / (virtual_height / window))
        position = (window - thumb) * (self.scroll_y / (virtual_height - window))
        start = int(position * steps)
        return start, start + ceil(thumb * steps)

    def _refresh_virtual_lines(self, first: int, last: int) -> None:
        """Repaint virtual lines ``first..last`` that are on screen (header excluded)."""
        top = int(self.scroll_y)
        height = self.scrollable_content_region.height
        first = max(first, top + 1)
        last = min(last, top + height - 1)
        if first <= last:
            self.refresh_lines(first, last - first + 1)

    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self) -> None:
        if self._cursor is None:
            return
        top = int(self.scroll_y)
        visible_rows = self._visible_rows()
        # At the last row, bring the footer line ("Loading…", "end") into view with it.
        bottom = self._cursor + (1 if self._cursor == len(self._store) - 1 else 0)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif bottom >= top + visible_rows:
            self.scroll_to(y=bottom - visible_rows + 1, animate=False, immediate=True)

    def _post_highlighted(self) -> None:
        if self._cursor is not None:
            row = self._store[self._cursor]
            self.post_message(self.Highlighted(self, row.event_id, self._cursor))

    def _check_near_end(self) -> None:
        if self._footer_state != "more":
            return
        last_seen = int(self.scroll_y) + self._visible_rows() - 1
        if self._cursor is not None:
            last_seen = max(last_seen, self._cursor)
        if len(self._store) - 1 - last_seen <= NEAR_END_ROWS:  # rows left below
            self.post_message(self.NearEnd(self))

    def validate_time_mode(self, mode: str) -> TimeMode:
        return mode if mode in TIME_MODES else "local"
