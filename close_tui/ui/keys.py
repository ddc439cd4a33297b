"""The default key table: one place that says which key does what, where.

The help screen (``?``/F1) is drawn from it, the bindings are built from it, and keys
reserved for features still to come are listed so nothing else takes them. Each binding
has an id, so users can remap it (Textual's keymap) without us changing code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding, BindingType

Scope = Literal["app", "table", "form", "detail"]


@dataclass(frozen=True, slots=True)
class KeySpec:
    id: str
    keys: str  # comma-separated Textual key names
    action: str
    description: str
    scope: Scope
    show: bool = True
    reserved: bool = False  # planned, not yet bound
    #: A heading of the help screen ("Investigate"); empty: the scope's own list.
    section: str = ""

    def binding(self) -> Binding:
        return Binding(
            self.keys, self.action, self.description, show=self.show, id=self.id
        )


# Letters act only when the focus is not in a text input: they are bound on the table
# and the detail pane (scope "table"/"detail"), never on the app, so typing an id into
# the form never triggers them. Scope "app" keys are non-letters (or ctrl/F-keys).
KEYMAP: tuple[KeySpec, ...] = (
    KeySpec("app.help", "question_mark,f1", "show_help", "Keys", "app"),
    KeySpec("app.quit", "ctrl+q", "quit", "Quit", "app"),
    KeySpec("app.palette", "ctrl+p", "command_palette", "Palette", "app", show=False),
    KeySpec("table.quit", "q", "app.quit", "Quit", "table", show=False),
    KeySpec("table.focus_form", "f", "app.focus_form", "Filter", "table"),
    KeySpec("table.open", "enter", "app.open_selected", "Open", "table"),
    KeySpec("table.refresh", "r", "app.refresh", "Refresh", "table"),
    KeySpec("table.toggle_detail", "d", "app.toggle_detail", "Detail", "table"),
    KeySpec("table.time_mode", "t", "app.cycle_time", "Time", "table"),
    KeySpec("table.copy_id", "y", "app.copy_id", "Copy id", "table"),
    KeySpec("table.copy_json", "Y", "app.copy_json", "Copy JSON", "table", show=False),
    KeySpec("table.api_key_column", "K", "toggle_api_key_column", "API key column", "table",
            show=False),
    KeySpec("detail.quit", "q", "app.quit", "Quit", "detail", show=False),
    KeySpec("detail.focus_form", "f", "app.focus_form", "Filter", "detail", show=False),
    KeySpec("detail.refresh", "r", "app.refresh_detail", "Refetch", "detail"),
    KeySpec("detail.toggle_detail", "d", "app.toggle_detail", "Hide", "detail"),
    KeySpec("detail.copy_id", "y", "app.copy_id", "Copy id", "detail"),
    KeySpec("detail.copy_json", "Y", "app.copy_json", "Copy JSON", "detail"),
    KeySpec("detail.back", "escape", "app.focus_table", "Table", "detail"),
    KeySpec("detail.tab_changes", "1", "show_tab('changes')", "Changes tab", "detail",
            show=False),
    KeySpec("detail.tab_json", "2", "show_tab('json')", "JSON tab", "detail", show=False),
    # The JSON view's keys (ids "json.*"): bound on the view itself, and on the detail
    # pane, which switches to the JSON tab first (so "/" searches from the Changes tab).
    KeySpec("json.search", "slash", "search", "Search JSON", "detail"),
    KeySpec("json.next_match", "n", "next_match", "Next match", "detail", show=False),
    KeySpec("json.previous_match", "N", "previous_match", "Previous match", "detail",
            show=False),
    KeySpec("json.copy_value", "c", "copy_value", "Copy value", "detail"),
    KeySpec("json.copy_path", "p", "copy_path", "Copy jq path", "detail"),
    KeySpec("json.fold_all", "z", "fold_all", "Fold all", "detail", show=False),
    KeySpec("json.unfold_all", "Z", "unfold_all", "Unfold all", "detail", show=False),
    KeySpec("form.apply", "enter", "apply", "Apply", "form"),
    KeySpec("form.leave", "escape", "leave", "To table", "form"),
    KeySpec("form.clear", "ctrl+x", "clear", "Clear", "form"),
    # Investigate: pivots (one supported filter each), history, follow, local filter.
    # Pivots stay out of the footer (no room); "?" lists them.
    KeySpec("table.pivot_lead", "L", "app.pivot('lead')", "This lead's events", "table",
            show=False, section="Investigate"),
    KeySpec("table.pivot_object", "O", "app.pivot('object')", "This object's history",
            "table", show=False, section="Investigate"),
    KeySpec("table.pivot_request", "R", "app.pivot('request')", "This request's events",
            "table", show=False, section="Investigate"),
    KeySpec("table.pivot_user", "U", "app.pivot('user')", "This user's events", "table",
            show=False, section="Investigate"),
    KeySpec("table.back", "backspace,alt+left", "app.history_back", "Back", "table",
            section="Investigate"),
    KeySpec("table.forward", "alt+right", "app.history_forward", "Forward", "table",
            show=False, section="Investigate"),
    KeySpec("table.follow", "F", "app.toggle_follow", "Follow", "table",
            section="Follow, filter, export"),
    KeySpec("table.local_filter", "slash", "app.local_filter", "Local filter", "table",
            section="Follow, filter, export"),
    KeySpec("table.stop_scan", "escape", "app.stop_scan", "Stop local scan", "table",
            show=False, section="Follow, filter, export"),
    KeySpec("table.open_web", "o", "app.open_web", "Lead in Close (link)", "table",
            show=False, section="Investigate"),
    KeySpec("table.export", "e", "app.export", "Export to a file", "table", show=False,
            section="Follow, filter, export"),
    KeySpec("detail.pivot_lead", "L", "app.pivot('lead')", "This lead's events", "detail",
            show=False, section="Investigate"),
    KeySpec("detail.pivot_object", "O", "app.pivot('object')", "This object's history",
            "detail", show=False, section="Investigate"),
    KeySpec("detail.pivot_request", "R", "app.pivot('request')", "This request's events",
            "detail", show=False, section="Investigate"),
    KeySpec("detail.pivot_user", "U", "app.pivot('user')", "This user's events", "detail",
            show=False, section="Investigate"),
    KeySpec("detail.history_back", "backspace,alt+left", "app.history_back", "Back", "detail",
            show=False, section="Investigate"),
    KeySpec("detail.history_forward", "alt+right", "app.history_forward", "Forward",
            "detail", show=False, section="Investigate"),
    KeySpec("detail.open_web", "o", "app.open_web", "Lead in Close (link)", "detail",
            show=False, section="Investigate"),
)


def bindings_for(scope: Scope) -> list[BindingType]:
    """The active bindings of one scope."""
    return [spec.binding() for spec in KEYMAP if spec.scope == scope and not spec.reserved]


def display_keys(keys: str) -> str:
    names = {"question_mark": "?", "slash": "/", "enter": "Enter", "escape": "Esc",
             "backspace": "Backspace", "alt+left": "Alt+←", "alt+right": "Alt+→"}
    return " / ".join(names.get(k, k) for k in keys.split(","))
