"""The detail pane: one event, fetched fresh by id — a header, notes, and two tabs.

* **Changes**: what the event did, from :mod:`close_tui.core.diff` — old → new per
  changed field (nested values as paths, long text as ``-``/``+`` lines), a delete's last
  state, a create's new object.
* **JSON**: the whole event in a :class:`~close_tui.ui.widgets.json_view.JsonView`: fold,
  search (``/``, ``n``/``N``), copy a value (``c``) or its jq path (``p``), Enter on an id
  to pivot to its events.

Which tab opens: **Changes for events that carry changes** (updates, and other actions
with ``changed_fields``/``previous_data``, such as a completed task), because "what was it
before, what is it now" is the question a support person asks of an update, and the raw
event answers it only across three fields. **JSON for everything else** (creates,
deletes, merges…): there the object itself is the answer, and the JSON tab is where its
ids can be followed. ``1``/``2`` switch tabs.

API text never passes through markup: everything is built as ``rich.text.Text`` with
control characters made visible.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static, TabbedContent, TabPane

from close_tui.core import jsonnum
from close_tui.core.dates import parse_api_datetime
from close_tui.core.diff import (
    ABSENT,
    EventChanges,
    FieldChange,
    event_changes,
)
from close_tui.core.models import Event
from close_tui.core.names import NamesUsed
from close_tui.core.rows import short_id
from close_tui.core.sanitize import visible
from close_tui.ui.keys import bindings_for
from close_tui.ui.widgets.action_palette import (
    action_tone,
    palette_css,
    tone_class,
    tone_classes,
)
from close_tui.ui.widgets.json_view import JsonView

#: Values in the Changes tab are cut after this many characters (the JSON tab has them whole).
MAX_VALUE_CHARS = 300
#: Old and new values together up to this long share one line ("Active" → "Won").
SHORT_PAIR = 24
#: Field labels beside their values take at most this many cells (longer ones fold).
LABEL_MAX = 24
#: Values beside their labels need at least this many cells; else they go under them.
VALUE_MIN = 16
#: What the pane says while it shows no event.
EMPTY_TEXT = "Highlight an event to see it here."
#: A name in the header keeps its id beside it while this many cells are left for it.
MIN_ID_BESIDE_NAME = 10
#: Header labels ("request", "api key") are right-aligned in this many cells.
HEADER_LABEL = 7

_OLD = "#f7768e"
_NEW = "#9ece6a"
_LABEL = "bold"
_CUSTOM = "bold italic"
_NOTE = "italic dim"

_STATE_NOTES = {
    "data": {
        "missing": "data is not included: this key may only read data and previous_data of "
        "events younger than one hour (non-admin privacy rule)",
        "null": "data is null: the object was deleted",
        "empty": "data is empty",
    },
    "previous_data": {
        "missing": "previous_data is not included: this key may only read it for events "
        "younger than one hour (non-admin privacy rule)",
        "null": "previous_data is null",
        "empty": "previous_data is empty: nothing came before (a create)",
    },
}


def payload_notes(event: Event) -> list[str]:
    """Plain-language notes on missing/null/empty payloads (kept for callers; the pane
    itself shows the notes of :func:`close_tui.core.diff.event_changes`)."""
    notes = []
    for name in ("data", "previous_data"):
        state = event.payload_state(name)
        note = _STATE_NOTES[name].get(state)
        if note:
            notes.append(note)
    if event.consolidated:
        notes.append("consolidated: several edits were merged into this event")
    return notes


def default_tab(changes: EventChanges) -> str:
    """``"changes"`` for events that carry changes, ``"json"`` otherwise (see module doc)."""
    return "changes" if changes.kind == "update" else "json"


def value_text(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """One value on one line, as JSON (strings quoted, so "" and null differ), made visible."""
    if isinstance(value, str):
        shown = value if len(value) <= limit else value[:limit]
        text = json.dumps(visible(shown), ensure_ascii=False)
        return text if len(value) <= limit else f"{text[:-1]}…\" (+{len(value) - limit:,} chars)"
    try:
        text = jsonnum.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    text = visible(text)
    return text if len(text) <= limit else f"{text[:limit]}… (+{len(text) - limit:,} chars)"


def changes_renderable(
    event: Event,
    changes: EventChanges,
    format_time: Callable[[datetime], str] | None = None,
    names: Mapping[str, str] | None = None,
) -> RenderableType:
    """The Changes tab's content: a summary line, when the object was updated (once, see
    :data:`close_tui.core.diff.TOUCH_FIELD`), and its fields with their values.

    ``names`` (id -> name) names custom fields in labels ("custom field Region") and ids
    in values: a status id reads ``Potential → Won``, each with its short id after it,
    dim (the JSON tab has the raw values)."""
    names = names or {}
    title = Text(changes.summary[:1].upper() + changes.summary[1:], style="bold")
    rows: list[tuple[Text, Text]] = []
    if changes.kind == "update":
        for change in changes.changes:
            rows.append((_label(change.named_label(names), change.is_custom),
                         _change_text(event, change, names)))
    else:
        for item in changes.fields:
            rows.append((_label(item.named_label(names), item.is_custom),
                         _value(item.value, names)))
    parts: list[RenderableType] = [title]
    if changes.touched is not None:
        parts.append(touched_text(event, changes.touched, format_time))
    if rows:
        parts.append(ChangeRows(rows))
    return Group(*parts)


def touched_text(
    event: Event, touched: FieldChange, format_time: Callable[[datetime], str] | None
) -> Unbroken:
    """``updated 2026-11-20 12:03:04 UTC (was 11:58:10 UTC)``: the object's
    ``date_updated`` said once. Without it in ``data``, the event's own time is the
    moment of the update; values that are no date are shown as they are."""
    new = touched.new if touched.new is not ABSENT else event.date_updated
    new_text = _time_text(new, format_time)
    old_text = (
        _time_text(touched.old, format_time) if touched.old is not ABSENT else "not included"
    )
    new_parts, old_parts = new_text.split(" "), old_text.split(" ")
    if len(old_parts) > 1 and len(new_parts) > 1 and old_parts[0] == new_parts[0]:
        old_text = " ".join(old_parts[1:])  # same day: the time says enough
    return Unbroken(
        [Text("updated", "dim"), Text(new_text), Text(f"(was {old_text})", "dim")]
    )


class Unbroken:
    """Pieces of text laid out on lines, a space between two, and never broken inside
    one (a time such as ``2026-12-01 18:55:39 UTC`` stays whole): a piece that does not
    fit where the line is goes to the next line, and is cut with ``…`` only when it is
    wider than the whole width."""

    def __init__(self, pieces: Sequence[Text]) -> None:
        self.pieces = list(pieces)

    def lines(self, width: int) -> list[Text]:
        width = max(1, width)
        out: list[Text] = []
        line = Text()
        for piece in self.pieces:
            piece = piece.copy()
            if line.cell_len and line.cell_len + 1 + piece.cell_len > width:
                out.append(line)
                line = Text()
            if line.cell_len:
                line.append(" ")
            if piece.cell_len > width:
                piece.truncate(width, overflow="ellipsis")
            line.append_text(piece)
        out.append(line)
        return out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines(options.max_width):
            line.no_wrap = True
            yield line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)


def _time_text(value: Any, format_time: Callable[[datetime], str] | None) -> str:
    if isinstance(value, datetime):
        when: datetime | None = value
    elif isinstance(value, str):
        try:
            when = parse_api_datetime(value)
        except ValueError:
            when = None
    else:
        when = None
    if when is None:
        return value_text(value)
    if format_time is None:
        return when.strftime("%Y-%m-%d %H:%M:%S UTC")
    return visible(format_time(when))


def longest_token(text: Text) -> int:
    """Cells of the longest run without a space or line break (what cannot wrap)."""
    return max((cell_len(token) for token in text.plain.split()), default=0)


class ChangeRows:
    """Field labels and their values, laid out for the width they get.

    A value sits beside its label (in a column of labels) while its longest token fits
    the space left; otherwise it goes under its label, indented, so that a date-time
    (``"2026-11-20T12:48:23.395000+00:00"``, 34 cells) or an id is never broken in the
    middle. Only a token wider than the whole pane is folded.
    """

    def __init__(self, rows: Sequence[tuple[Text, Text]]) -> None:
        self.rows = list(rows)
        self._label_width = min(
            LABEL_MAX, max((cell_len(label.plain) for label, _ in self.rows), default=0)
        )

    def beside(self, value: Text, width: int) -> bool:
        """Whether ``value`` goes beside its label at this pane ``width``."""
        value_width = width - self._label_width - 1
        return value_width >= max(VALUE_MIN, longest_token(value))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        run: list[tuple[Text, Text]] = []  # consecutive rows side by side: one grid
        for label, value in self.rows:
            if self.beside(value, width):
                run.append((label, value))
                continue
            if run:
                yield self._grid(run)
                run = []
            yield _folding(label)
            indent = 2 if width - 2 >= longest_token(value) else 0
            yield Padding(_folding(value), (0, 0, 0, indent))
        if run:
            yield self._grid(run)

    def _grid(self, rows: list[tuple[Text, Text]]) -> Table:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=self._label_width, overflow="fold")
        grid.add_column(overflow="fold", ratio=1)
        for label, value in rows:
            grid.add_row(label, value)
        return grid

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)


def _folding(text: Text) -> Text:
    folded = text.copy()
    folded.overflow = "fold"
    return folded


def fit_id(value: str, width: int) -> str:
    """``value`` whole when it fits ``width`` cells, else cut in the middle with ``…``
    (``lead_sHR5sxie…TPt8x1NU0``): its start and end stay comparable, and a cut id
    never looks whole. Text with spaces ("system (no user)") is cut at the end."""
    if cell_len(value) <= width:
        return value
    if width <= 1:
        return "…"[:width]
    if " " in value or not value.isascii():
        return set_cell_size(value, width - 1) + "…"
    keep = width - 1
    head = (keep + 1) // 2
    return f"{value[:head]}…{value[len(value) - (keep - head):]}"


class DetailHeader:
    """The header: the action (as a coloured badge), the object type and the time, then
    one line per id.

    Laid out at render time for the pane's width: the time goes to its own line, whole,
    when it does not fit after the type (never "UTC" alone on a line), and ids that do
    not fit are cut in the middle with ``…`` (:func:`fit_id`): ``y`` copies the whole
    event id, the JSON tab has every id whole.
    """

    def __init__(
        self,
        action: str,
        action_style: Style | str,
        object_type: str,
        when: str,
        ids: Sequence[tuple[str, str] | tuple[str, str, str]],
    ) -> None:
        """``ids``: (label, id) or (label, id, name); a name goes first, whole when it
        fits, and the id after it, dim and cut to what is left."""
        self.action = action
        self.action_style = action_style
        self.object_type = object_type
        self.when = when
        self.ids = list(ids)

    def lines(self, width: int) -> list[Text]:
        width = max(1, width)
        title = Text.assemble(
            (f" {self.action} ", self.action_style), " ", (self.object_type, "bold")
        )
        out: list[Text] = []
        if cell_len(title.plain) + 2 + cell_len(self.when) <= width:
            title.append("  ")
            title.append(self.when, "dim")
            out.append(title)
        else:
            title.truncate(width, overflow="ellipsis")
            out.append(title)
            out.append(Text(fit_id(self.when, width), "dim"))
        room = width - HEADER_LABEL - 1
        for label, value, *named in self.ids:
            line = Text.assemble((label.rjust(HEADER_LABEL), "dim"), " ")
            name = named[0] if named else ""
            if name:
                line.append(fit_id(name, max(1, room)), "bold")
                left = room - cell_len(name) - 1
                if left >= MIN_ID_BESIDE_NAME:
                    line.append(" ")
                    line.append(fit_id(value, left), "dim")
            else:
                line.append(fit_id(value, max(1, room)))
            line.truncate(width, overflow="ellipsis")
            out.append(line)
        return out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines(options.max_width):
            line.no_wrap = True
            yield line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)


def _label(label: str, custom: bool) -> Text:
    return Text(visible(label), style=_CUSTOM if custom else _LABEL)


def _missing_side(event: Event, name: str) -> str:
    if event.payload_state(name) == "missing":  # type: ignore[arg-type]
        return "(not included)"
    return f"(not in {name})"


def named_value(value: Any, names: Mapping[str, str]) -> str | None:
    """The name of ``value`` when it is an id ``names`` knows (``stat_…``, ``user_…``)."""
    if isinstance(value, str) and "_" in value and len(value) <= 80:
        name = names.get(value)
        if isinstance(name, str) and name and name != value:
            return name
    return None


def _value(value: Any, names: Mapping[str, str], style: str = "") -> Text:
    """One value: an id ``names`` knows as its name and its short id (dim); anything
    else as JSON (:func:`value_text`)."""
    name = named_value(value, names)
    if name is None:
        return Text(value_text(value), style=style)
    return Text.assemble(
        (visible(name[:MAX_VALUE_CHARS]), style), (f" ({short_id(value)})", "dim")
    )


def _change_text(event: Event, change: FieldChange, names: Mapping[str, str]) -> Text:
    out = Text()
    kind = change.kind
    if change.text_diff:
        for number, line in enumerate(change.text_diff):
            if number:
                out.append("\n")
            style = _OLD if line.startswith("-") else _NEW if line.startswith("+") else "dim"
            out.append(visible(line[:MAX_VALUE_CHARS]), style)
        return out
    if kind == "changed":
        old, new = _value(change.old, names, _OLD), _value(change.new, names, _NEW)
        out.append_text(old)
        # Short values read best on one line; long ones (ids, dates) one under the other.
        short = cell_len(old.plain) + cell_len(new.plain) <= SHORT_PAIR
        out.append(" → " if short else " →\n", "dim")
        out.append_text(new)
    elif kind == "added":
        out.append("added ", "dim")
        out.append_text(_value(change.new, names, _NEW))
    elif kind == "removed":
        out.append("removed ", "dim")
        out.append_text(_value(change.old, names, _OLD))
    elif kind == "unchanged":
        out.append_text(_value(change.new, names))
        out.append(" (listed as changed, same value)", _NOTE)
    else:  # unknown: say which side is not known and why
        if change.old is ABSENT:
            out.append(_missing_side(event, "previous_data"), _NOTE)
        else:
            out.append_text(_value(change.old, names, _OLD))
        out.append(" →\n", "dim")
        if change.new is ABSENT:
            out.append(_missing_side(event, "data"), _NOTE)
        else:
            out.append_text(_value(change.new, names, _NEW))
    return out


class EventDetail(Vertical):
    """Shows one event. The app fetches; this widget only draws what it is given.

    The JSON view posts :class:`JsonView.PivotRequested` (Enter on an id); it bubbles
    through this widget to the app.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = tone_classes("event-detail")

    DEFAULT_CSS = (
        """
    EventDetail {
        padding: 0 0 0 1;
        border-left: vkey $foreground 20%;
    """
        + palette_css("event-detail", extra="text-style: bold reverse;")
        + """
    }
    EventDetail > #detail-header { height: auto; max-height: 8; }
    EventDetail > #detail-notes { color: $warning; height: auto; max-height: 6; }
    EventDetail > #detail-notes.-empty { display: none; }
    EventDetail > #detail-tabs { height: 1fr; }
    EventDetail > #detail-tabs.-hidden { display: none; }
    EventDetail #changes-scroll { height: 1fr; padding-right: 1; }
    EventDetail TabPane { padding: 0; }
    """
    )

    BINDINGS: ClassVar[list[BindingType]] = [*bindings_for("detail")]

    def __init__(
        self,
        *,
        format_time: Callable[[datetime], str],
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._format_time = format_time
        self.event: Event | None = None
        self.event_id: str | None = None
        self.changes: EventChanges | None = None
        self._names: Mapping[str, str] = {}
        #: The ids the event on show was drawn with, and their names then.
        self._names_used: dict[str, str | None] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text(EMPTY_TEXT, style="dim"), id="detail-header")
        yield Static("", id="detail-notes", classes="-empty")
        with TabbedContent(id="detail-tabs", initial="tab-changes", classes="-hidden"):
            with TabPane("Changes", id="tab-changes"), VerticalScroll(id="changes-scroll"):
                yield Static("", id="detail-changes")
            with TabPane("JSON", id="tab-json"):
                yield JsonView(id="detail-json")

    # ------------------------------------------------------------------ parts

    @property
    def _header(self) -> Static:
        return self.query_one("#detail-header", Static)

    @property
    def _notes(self) -> Static:
        return self.query_one("#detail-notes", Static)

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one("#detail-tabs", TabbedContent)

    @property
    def json_view(self) -> JsonView:
        return self.query_one("#detail-json", JsonView)

    @property
    def changes_view(self) -> Static:
        return self.query_one("#detail-changes", Static)

    @property
    def active_tab(self) -> str:
        """``"changes"`` or ``"json"``."""
        return "json" if self.tabs.active == "tab-json" else "changes"

    # ------------------------------------------------------------------ public API

    def set_names(self, names: Mapping[str, str]) -> None:
        """Names of ids (leads, users, custom fields, statuses): the header and the
        Changes tab use them. Redraws only when a name the event shows has changed."""
        self._names = names
        if self.event is None or not self._names_used:
            return
        if any(names.get(key) != name for key, name in self._names_used.items()):
            event = self.event
            self._header.update(self._header_text(event))
            if self.changes is not None:
                self.changes_view.update(self._changes_content(event, self.changes))

    def _changes_content(self, event: Event, changes: EventChanges) -> RenderableType:
        names = NamesUsed(self._names)
        content = changes_renderable(event, changes, self._format_time, names)
        self._names_used.update(names.used)
        return content

    def clear(self, message: str = EMPTY_TEXT) -> None:
        """Show no event, only ``message`` (an empty result: "no events match this
        filter"), so the pane never keeps an event the table no longer lists."""
        self.event = None
        self.event_id = None
        self._header.update(Text(visible(message), style="dim"))
        self._set_notes([])
        self._clear_body()

    def show_loading(self, event_id: str) -> None:
        self.event_id = event_id
        if self.event is None or self.event.id != event_id:
            self._header.update(Text.assemble(("Loading ", "dim"), (visible(event_id), "bold")))
            self._set_notes([])
            self._clear_body()

    def show_message(self, event_id: str, message: str, *, severity: str = "error") -> None:
        self.event = None
        self.event_id = event_id
        style = "bold red" if severity == "error" else "bold yellow"
        self._header.update(
            Text.assemble((visible(event_id), "bold"), "\n", (visible(message), style))
        )
        self._set_notes([])
        self._clear_body()

    def show_event(self, event: Event) -> None:
        """Draw ``event``. The same event again (same id and ``date_updated``, e.g. after
        the time display changed) only redraws the header: tab, folds, cursor and search
        stay where the user left them."""
        same = (
            self.event is not None
            and self.event.id == event.id
            and self.event.date_updated == event.date_updated
            and self.changes is not None
        )
        self.event = event
        self.event_id = event.id
        if not same:
            self._names_used = {}
        self._header.update(self._header_text(event))
        if same:
            return
        changes = event_changes(event)
        self.changes = changes
        self._set_notes(list(changes.notes))
        self.changes_view.update(self._changes_content(event, changes))
        object_types = {event.object_id: event.object_type} if event.object_id else {}
        self.json_view.load(event.to_api(), object_types=object_types)
        self.tabs.remove_class("-hidden")
        self.show_tab(default_tab(changes), focus=False)
        self.query_one("#changes-scroll", VerticalScroll).scroll_home(animate=False)

    def show_tab(self, tab: str, *, focus: bool = True) -> None:
        """Switch to ``"changes"`` or ``"json"``; moves the focus along if it was in here."""
        if tab not in ("changes", "json"):
            return
        self.tabs.active = f"tab-{tab}"
        if focus and self.has_focus_within:
            self._focus_active()

    # ------------------------------------------------------------------ actions

    def action_show_tab(self, tab: str) -> None:
        self.show_tab(tab)

    def _in_json(self) -> JsonView:
        if self.active_tab != "json":
            self.show_tab("json", focus=False)
        self.json_view.focus()
        return self.json_view

    def action_search(self) -> None:
        if self.event is not None:
            self._in_json().open_search()

    def action_next_match(self) -> None:
        if self.event is not None:
            self._in_json().lines.next_match()

    def action_previous_match(self) -> None:
        if self.event is not None:
            self._in_json().lines.previous_match()

    def action_fold_all(self) -> None:
        if self.event is not None:
            self._in_json().lines.fold_all()

    def action_unfold_all(self) -> None:
        if self.event is not None:
            self._in_json().lines.unfold_all()

    def action_copy_value(self) -> None:
        if self.event is not None:
            self._in_json().lines.action_copy_value()

    def action_copy_path(self) -> None:
        if self.event is not None:
            self._in_json().lines.action_copy_path()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Copying from the Changes tab would copy what is under a cursor nobody sees.
        if action in ("copy_value", "copy_path") and self.event is not None:
            return self.active_tab == "json"
        return True

    @on(TabbedContent.TabActivated, "#detail-tabs")
    def _tab_activated(self, _: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()

    # ------------------------------------------------------------------ internals

    def _focus_active(self) -> None:
        if self.active_tab == "json":
            self.json_view.focus()
        else:
            self.query_one("#changes-scroll", VerticalScroll).focus()

    def _clear_body(self) -> None:
        self.changes = None
        self.changes_view.update("")
        self.json_view.load(None)
        self.tabs.add_class("-hidden")

    def _set_notes(self, notes: list[str]) -> None:
        self._notes.update(Text("\n".join("• " + visible(n) for n in notes)))
        self._notes.set_class(not notes, "-empty")

    def _header_text(self, event: Event) -> RenderableType:
        tone = action_tone(event.action)
        ids: list[tuple[str, str] | tuple[str, str, str]] = []
        for label, value in (
            ("event", event.id),
            ("object", event.object_id),
            ("lead", event.lead_id),
            ("user", event.user_id or "system (no user)"),
            ("request", event.request_id),
            ("api key", event.api_key_id),
        ):
            if not isinstance(value, str) or not value:
                continue
            name = self._names.get(value) if label in ("lead", "user") else None
            if label in ("lead", "user"):
                self._names_used[value] = name
            if name and name != value:
                ids.append((label, visible(value), visible(name)))
            else:
                ids.append((label, visible(value)))
        return DetailHeader(
            visible(event.action),
            self.get_component_rich_style(tone_class("event-detail", tone)),
            visible(event.object_type),
            visible(self._format_time(event.date_updated)),
            ids,
        )

    def notify_style_update(self) -> None:
        """Theme changed: the action badge takes the new palette (only then: this runs
        on every focus change inside the pane too, and a header update costs a layout)."""
        super().notify_style_update()
        if self.event is None or not self.is_mounted:
            return
        header = self._header.content
        if not isinstance(header, DetailHeader):
            return
        tone = action_tone(header.action)
        style = self.get_component_rich_style(tone_class("event-detail", tone))
        if style != header.action_style:
            self._header.update(self._header_text(self.event))
