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
    # Reserved for the investigate features (pivots, history, follow, local filter).
    KeySpec("table.pivot_lead", "L", "pivot_lead", "This lead's events", "table", reserved=True),
    KeySpec("table.pivot_object", "O", "pivot_object", "This object's history", "table",
            reserved=True),
    KeySpec("table.pivot_request", "R", "pivot_request", "This request's events", "table",
            reserved=True),
    KeySpec("table.pivot_user", "U", "pivot_user", "This user's events", "table",
            reserved=True),
    KeySpec("table.back", "backspace,alt+left", "back", "Back", "table", reserved=True),
    KeySpec("table.forward", "alt+right", "forward", "Forward", "table", reserved=True),
    KeySpec("table.follow", "F", "follow", "Follow live", "table", reserved=True),
    KeySpec("table.local_filter", "slash", "local_filter", "Filter loaded", "table",
            reserved=True),
)


def bindings_for(scope: Scope) -> list[BindingType]:
    """The active bindings of one scope."""
    return [spec.binding() for spec in KEYMAP if spec.scope == scope and not spec.reserved]


def display_keys(keys: str) -> str:
    names = {"question_mark": "?", "slash": "/", "enter": "Enter", "escape": "Esc",
             "backspace": "Backspace"}
    return " / ".join(names.get(k, k) for k in keys.split(","))
