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
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static, TabbedContent, TabPane

from close_tui.core import jsonnum
from close_tui.core.diff import (
    ABSENT,
    EventChanges,
    FieldChange,
    event_changes,
)
from close_tui.core.models import Event
from close_tui.core.sanitize import visible
from close_tui.ui.keys import bindings_for
from close_tui.ui.widgets.json_view import JsonView

#: Values in the Changes tab are cut after this many characters (the JSON tab has them whole).
MAX_VALUE_CHARS = 300
#: Old and new values together up to this long share one line ("Active" → "Won").
SHORT_PAIR = 24

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


def changes_renderable(event: Event, changes: EventChanges) -> RenderableType:
    """The Changes tab's content: a summary line and a grid of fields."""
    title = Text(changes.summary[:1].upper() + changes.summary[1:], style="bold")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=False, overflow="fold", max_width=24)
    grid.add_column(overflow="fold", ratio=1)
    if changes.kind == "update":
        for change in changes.changes:
            grid.add_row(_label(change.label, change.is_custom), _change_text(event, change))
    else:
        for item in changes.fields:
            grid.add_row(_label(item.label, item.is_custom), Text(value_text(item.value)))
    parts: list[RenderableType] = [title]
    if grid.row_count:
        parts.append(grid)
    return Group(*parts)


def _label(label: str, custom: bool) -> Text:
    return Text(visible(label), style=_CUSTOM if custom else _LABEL)


def _missing_side(event: Event, name: str) -> str:
    if event.payload_state(name) == "missing":  # type: ignore[arg-type]
        return "(not included)"
    return f"(not in {name})"


def _change_text(event: Event, change: FieldChange) -> Text:
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
        old, new = value_text(change.old), value_text(change.new)
        out.append(old, _OLD)
        # Short values read best on one line; long ones (ids, dates) one under the other.
        out.append(" → " if len(old) + len(new) <= SHORT_PAIR else " →\n", "dim")
        out.append(new, _NEW)
    elif kind == "added":
        out.append("added ", "dim")
        out.append(value_text(change.new), _NEW)
    elif kind == "removed":
        out.append("removed ", "dim")
        out.append(value_text(change.old), _OLD)
    elif kind == "unchanged":
        out.append(value_text(change.new))
        out.append(" (listed as changed, same value)", _NOTE)
    else:  # unknown: say which side is not known and why
        if change.old is ABSENT:
            out.append(_missing_side(event, "previous_data"), _NOTE)
        else:
            out.append(value_text(change.old), _OLD)
        out.append(" →\n", "dim")
        if change.new is ABSENT:
            out.append(_missing_side(event, "data"), _NOTE)
        else:
            out.append(value_text(change.new), _NEW)
    return out


class EventDetail(Vertical):
    """Shows one event. The app fetches; this widget only draws what it is given.

    The JSON view posts :class:`JsonView.PivotRequested` (Enter on an id); it bubbles
    through this widget to the app.
    """

    DEFAULT_CSS = """
    EventDetail {
        padding: 0 0 0 1;
        border-left: vkey $foreground 20%;
    }
    EventDetail > #detail-header { height: auto; max-height: 8; }
    EventDetail > #detail-notes { color: $warning; height: auto; max-height: 6; }
    EventDetail > #detail-notes.-empty { display: none; }
    EventDetail > #detail-tabs { height: 1fr; }
    EventDetail > #detail-tabs.-hidden { display: none; }
    EventDetail #changes-scroll { height: 1fr; padding-right: 1; }
    EventDetail TabPane { padding: 0; }
    """

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

    def compose(self) -> ComposeResult:
        yield Static(Text("Highlight an event to see it here.", style="dim"), id="detail-header")
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
        self._header.update(self._header_text(event))
        if same:
            return
        changes = event_changes(event)
        self.changes = changes
        self._set_notes(list(changes.notes))
        self.changes_view.update(changes_renderable(event, changes))
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
        title = Text.assemble(
            (visible(event.action), "bold reverse"),
            " ",
            (visible(event.object_type), "bold"),
            "  ",
            (self._format_time(event.date_updated), "dim"),
        )
        rows = Table.grid(padding=(0, 1))
        rows.add_column(style="dim", justify="right", no_wrap=True, min_width=7)
        # One line per id: the whole id is in the JSON tab (c copies it, Enter pivots).
        rows.add_column(no_wrap=True, overflow="ellipsis")
        for label, value in (
            ("event", event.id),
            ("object", event.object_id),
            ("lead", event.lead_id),
            ("user", event.user_id or "system (no user)"),
            ("request", event.request_id),
            ("api key", event.api_key_id),
        ):
            if value:
                rows.add_row(label, Text(visible(value)))
        return Group(title, rows)
