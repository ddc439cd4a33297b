"""The key table: every key of every widget, in one place.

Each widget's ``BINDINGS`` is made here (:func:`bindings_for`), the help screen lists
what is *active* where the focus is (so it shows a remapped key, and never a key that
does nothing there), and every binding has an id, so a user can remap it in the config
file (``settings.bindings``: ``{"explorer.pivot_lead": "ctrl+l"}``, Textual's keymap; see
:func:`check_keymap`). A command bound in several widgets (the pivots work from the
table and from the detail pane) has one id, so one remap moves it everywhere.

Letters act only where no text is typed: they are bound on the table, the detail pane and
the JSON view, never on the app or the screen, so typing an id into the form never
triggers them. Keys of scope ``app`` are ctrl/F-keys and ``?``.

Ids read ``<area>.<command>``: ``app.*`` everywhere, ``explorer.*`` the table and the
detail pane, ``table.*``/``rows.*`` the table, ``detail.*`` the detail pane, ``json.*`` the
JSON view, ``form.*`` the filter form, and one area per dialog.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from textual.binding import Binding, BindingType

Scope = Literal[
    "app", "screen", "rows", "table", "detail", "json", "json_search", "form", "form_field",
    "local_input", "export", "name", "help", "login",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class KeySpec:
    id: str
    keys: str  # comma-separated Textual key names
    action: str
    description: str
    #: The widgets it is bound on (a command of the table and the detail pane: both).
    scopes: tuple[Scope, ...]
    #: In the footer (the help screen lists every active key either way).
    show: bool = False
    #: A heading of the help screen.
    section: str = ""
    #: Before the focused widget (ctrl+q must quit from inside a dialog's input).
    priority: bool = False

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.description, show=self.show,
                       priority=self.priority, id=self.id)


MOVE = "Move"
TABLE = "Event table"
BOTH = "Table and detail pane"
INVESTIGATE = "Investigate"
FOLLOW = "Follow, filter, export"
DETAIL = "Detail pane"
JSON = "JSON"
FORM = "Filter form"
EVERYWHERE = "Everywhere"
EXPLORER: tuple[Scope, ...] = ("table", "detail")

KEYMAP: Final[tuple[KeySpec, ...]] = (
    # -- the event table: moving (EventTable) -------------------------------------------
    KeySpec("rows.up", "up,k", "cursor_up", "Previous event", ("rows",), section=MOVE),
    KeySpec("rows.down", "down,j", "cursor_down", "Next event", ("rows",), section=MOVE),
    KeySpec("rows.page_up", "pageup", "page_up", "Page up", ("rows",), section=MOVE),
    KeySpec("rows.page_down", "pagedown", "page_down", "Page down", ("rows",), section=MOVE),
    KeySpec("rows.first", "home,g", "first", "Newest (top)", ("rows",), section=MOVE),
    KeySpec("rows.last", "end,G", "last", "Oldest loaded (loads more)", ("rows",),
            section=MOVE),
    KeySpec("rows.open", "enter", "select", "Open", ("rows",), show=True, section=TABLE),
    KeySpec("rows.time_mode", "t", "cycle_time_mode", "Time: local, UTC, age", ("rows",),
            section=TABLE),
    KeySpec("rows.api_key_column", "K", "toggle_api_key_column", "API key column", ("rows",),
            section=TABLE),
    # -- the explorer's letters (the table and the detail pane) -------------------------
    KeySpec("explorer.focus_form", "f", "screen.focus_form", "Filter", EXPLORER, show=True,
            section=BOTH),
    KeySpec("explorer.toggle_detail", "d", "screen.toggle_detail", "Detail", EXPLORER,
            show=True, section=BOTH),
    KeySpec("table.refresh", "r", "screen.refresh", "Refresh (retry)", ("table",),
            section=TABLE),
    KeySpec("explorer.copy_id", "y", "screen.copy_id", "Copy id", EXPLORER, section=BOTH),
    KeySpec("explorer.copy_json", "Y", "screen.copy_json", "Copy JSON", EXPLORER,
            section=BOTH),
    KeySpec("explorer.quit", "q", "app.quit", "Quit", EXPLORER, section=BOTH),
    KeySpec("explorer.back", "backspace,alt+left", "screen.history_back", "Back", EXPLORER,
            show=True, section=INVESTIGATE),
    KeySpec("explorer.forward", "alt+right", "screen.history_forward", "Forward", EXPLORER,
            section=INVESTIGATE),
    KeySpec("explorer.pivot_lead", "L", "screen.pivot('lead')", "This lead's events",
            EXPLORER, section=INVESTIGATE),
    KeySpec("explorer.pivot_object", "O", "screen.pivot('object')", "This object's history",
            EXPLORER, section=INVESTIGATE),
    KeySpec("explorer.pivot_request", "R", "screen.pivot('request')", "This request's events",
            EXPLORER, section=INVESTIGATE),
    KeySpec("explorer.pivot_user", "U", "screen.pivot('user')", "This user's events",
            EXPLORER, section=INVESTIGATE),
    KeySpec("explorer.open_web", "o", "screen.open_web", "Lead in Close (link)", EXPLORER,
            section=INVESTIGATE),
    KeySpec("explorer.restore", "u", "screen.restore", "Restore (undo a deletion)…",
            EXPLORER, section=INVESTIGATE),
    KeySpec("table.follow", "F", "screen.toggle_follow", "Follow", ("table",), show=True,
            section=FOLLOW),
    KeySpec("table.local_filter", "slash", "screen.local_filter", "Local filter", ("table",),
            show=True, section=FOLLOW),
    KeySpec("table.stop_scan", "escape", "screen.stop_scan", "Stop a local scan", ("table",),
            section=FOLLOW),
    KeySpec("table.export", "e", "screen.export", "Export to a file", ("table",),
            section=FOLLOW),
    KeySpec("explorer.close_overlay", "escape", "close_detail", "Back to the table",
            ("screen",), show=True, section=DETAIL),
    # -- the detail pane --------------------------------------------------------------
    KeySpec("detail.refetch", "r", "screen.refresh_detail", "Fetch again", ("detail",),
            section=DETAIL),
    KeySpec("detail.to_table", "escape", "screen.focus_table", "To the table", ("detail",),
            show=True, section=DETAIL),
    KeySpec("detail.tab_changes", "1", "show_tab('changes')", "Changes tab", ("detail",),
            section=DETAIL),
    KeySpec("detail.tab_json", "2", "show_tab('json')", "JSON tab", ("detail",),
            section=DETAIL),
    # -- the JSON view (bound on the view, and on the detail pane, which switches to the
    #    JSON tab first: "/" searches from the Changes tab too) ----------------------------
    KeySpec("json.search", "slash", "search", "Search the JSON", ("json", "detail"),
            show=True, section=JSON),
    KeySpec("json.next_match", "n", "next_match", "Next match", ("json", "detail"),
            section=JSON),
    KeySpec("json.previous_match", "N", "previous_match", "Previous match", ("json", "detail"),
            section=JSON),
    KeySpec("json.copy_value", "c", "copy_value", "Copy value", ("json", "detail"),
            section=JSON),
    KeySpec("json.copy_path", "p", "copy_path", "Copy jq path", ("json", "detail"),
            section=JSON),
    KeySpec("json.activate", "enter", "activate", "Fold / pivot on an id", ("json",),
            section=JSON),
    KeySpec("json.toggle", "space", "toggle_node", "Fold / unfold this node", ("json",),
            section=JSON),
    KeySpec("json.unfold", "right,l", "unfold", "Unfold", ("json",), section=JSON),
    KeySpec("json.fold", "left,h", "fold", "Fold / to the parent", ("json",), section=JSON),
    KeySpec("json.fold_all", "z", "fold_all", "Fold all", ("json", "detail"), section=JSON),
    KeySpec("json.unfold_all", "Z", "unfold_all", "Unfold all", ("json", "detail"),
            section=JSON),
    KeySpec("json.up", "up,k", "cursor_up", "Up", ("json",), section=JSON),
    KeySpec("json.down", "down,j", "cursor_down", "Down", ("json",), section=JSON),
    KeySpec("json.page_up", "pageup", "page_up", "Page up", ("json",), section=JSON),
    KeySpec("json.page_down", "pagedown", "page_down", "Page down", ("json",), section=JSON),
    KeySpec("json.first", "home,g", "first", "Top", ("json",), section=JSON),
    KeySpec("json.last", "end,G", "last", "Bottom", ("json",), section=JSON),
    KeySpec("json.clear_search", "escape", "clear_search", "Clear the search", ("json",),
            section=JSON),
    KeySpec("json.search_close", "escape", "close", "Close the search", ("json_search",),
            section=JSON),
    # -- the filter form ----------------------------------------------------------------
    # priority: Input binds ctrl+x to "cut", and focus is usually in an Input.
    KeySpec("form.clear", "ctrl+x", "clear", "Clear", ("form",), show=True, section=FORM,
            priority=True),
    KeySpec("form.leave", "escape", "leave", "To the table", ("form",), show=True,
            section=FORM),
    # Inputs submit on Enter themselves; this one serves the rest of the form.
    KeySpec("form.apply", "enter", "apply", "Apply", ("form",), section=FORM),
    KeySpec("form.next_choice", "down", "cycle_choice(1)", "Next choice", ("form_field",),
            section=FORM),
    KeySpec("form.previous_choice", "up", "cycle_choice(-1)", "Previous choice",
            ("form_field",), section=FORM),
    # -- dialogs ------------------------------------------------------------------------
    KeySpec("local.cancel", "escape", "cancel", "Cancel", ("local_input",)),
    KeySpec("export.cancel", "escape", "cancel", "Cancel / close", ("export",)),
    KeySpec("name.cancel", "escape", "cancel", "Cancel", ("name",)),
    KeySpec("help.close", "escape,q,question_mark,f1", "dismiss", "Close this help",
            ("help",)),
    # priority: the key field (an Input) binds ctrl+d to "delete right".
    KeySpec("login.demo", "ctrl+d", "demo", "Try the demo", ("login",), show=True,
            priority=True),
    # -- everywhere ---------------------------------------------------------------------
    KeySpec("app.help", "question_mark,f1", "app.show_help", "Keys", ("app",), show=True,
            section=EVERYWHERE),
    KeySpec("app.quit", "ctrl+q", "app.quit", "Quit", ("app",), show=True,
            section=EVERYWHERE, priority=True),
    KeySpec("app.palette", "ctrl+p", "app.command_palette", "Palette", ("app",),
            section=EVERYWHERE, priority=True),
)

SPECS_BY_ID: Final[Mapping[str, KeySpec]] = {spec.id: spec for spec in KEYMAP}

#: What a narrow screen's key bar keeps first (the footer shows all shown keys in order).
KEY_BAR_ORDER: Final[tuple[str, ...]] = (
    "app.help", "rows.open", "detail.to_table", "explorer.close_overlay", "form.leave",
    "explorer.focus_form", "explorer.toggle_detail", "explorer.back", "app.quit",
    "table.local_filter", "json.search", "table.follow", "form.clear",
)


def bindings_for(scope: Scope) -> list[BindingType]:
    """The bindings of one widget (its ``BINDINGS``)."""
    return [spec.binding() for spec in KEYMAP if scope in spec.scopes]


_KEY_NAMES: Final = {
    "question_mark": "?", "slash": "/", "enter": "Enter", "escape": "Esc",
    "backspace": "Backspace", "alt+left": "Alt+←", "alt+right": "Alt+→", "up": "↑",
    "down": "↓", "left": "←", "right": "→", "pageup": "PgUp", "pagedown": "PgDn",
    "home": "Home", "end": "End", "space": "Space", "f1": "F1",
}


def display_keys(keys: str) -> str:
    """``"up,k"`` → ``"↑ / k"``: how the help screen and README write keys."""
    return " / ".join(_KEY_NAMES.get(k, k) for k in keys.split(","))


def check_keymap(keymap: Mapping[str, object]) -> tuple[dict[str, str], list[str]]:
    """A user's keymap from the config: ``(usable, problems)``.

    Unknown ids and keys that are not strings are left out with one line each (a typo in
    a config file should be said, not silently ignored, and never stop the app).
    """
    usable: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in keymap.items():
        if binding_id not in SPECS_BY_ID:
            problems.append(f"keymap: no key binding has the id {binding_id!r}")
        elif not isinstance(keys, str) or not keys.strip():
            problems.append(f"keymap: the keys of {binding_id!r} must be a non-empty string")
        else:
            usable[binding_id] = ",".join(k.strip() for k in keys.split(",") if k.strip())
    return usable, problems
