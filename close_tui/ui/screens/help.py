"""``?``/F1: the keys that work where the focus is, drawn from the one key table."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from close_tui.ui.keys import KEYMAP, KeySpec, Scope, display_keys

_SCOPE_TITLES: dict[Scope, str] = {
    "table": "Event table",
    "form": "Filter form",
    "detail": "Detail pane",
    "app": "Everywhere",
}

_TABLE_MOVES = (
    ("↑ ↓ / j k", "Move"),
    ("PgUp / PgDn", "Page"),
    ("Home / g", "Newest (top)"),
    ("End / G", "Oldest loaded (loads more)"),
    ("wheel, click", "Scroll, select"),
)


_LOCAL_FILTER = (
    ("text", "anywhere in the event's JSON"),
    ("field=value", "equals: any field, or a dotted path (data.status_label=Won)"),
    ("field!=value", "differs"),
    ("field~text", "contains (changed_fields~status)"),
    ("Enter / Esc", "apply (empty clears) / stop a scan"),
)


class HelpScreen(ModalScreen[None]):
    """A modal list of keys; any of Esc, q, ? or F1 closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 72; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 1 2;
    }
    """
    BINDINGS = [  # noqa: RUF012
        Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, scope: Scope) -> None:
        super().__init__()
        self.scope = scope

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._render_keys(), id="help-keys")

    def _render_keys(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_row(Text(f"Keys — {_SCOPE_TITLES[self.scope]}", style="bold underline"), "")
        if self.scope == "table":
            for keys, what in _TABLE_MOVES:
                table.add_row(keys, what)
        self._add_specs(table, [s for s in KEYMAP if s.scope == self.scope and not s.section])
        sections = dict.fromkeys(s.section for s in KEYMAP if s.scope == self.scope and s.section)
        for section in sections:
            table.add_row("", "")
            table.add_row(Text(section, style="bold underline"), "")
            self._add_specs(table, [s for s in KEYMAP
                                    if s.scope == self.scope and s.section == section])
        if self.scope in ("table", "detail"):
            table.add_row("", "")
            table.add_row(Text("Local filter (/)", style="bold underline"),
                          Text("terms are AND-ed", style="dim"))
            for keys, what in _LOCAL_FILTER:
                table.add_row(keys, what)
        table.add_row("", "")
        table.add_row(Text(_SCOPE_TITLES["app"], style="bold underline"), "")
        self._add_specs(table, [s for s in KEYMAP if s.scope == "app"])
        coming = [spec for spec in KEYMAP if spec.reserved and spec.scope == self.scope]
        if coming:
            table.add_row("", "")
            table.add_row(Text("Coming soon", style="bold underline dim"), "")
            for spec in coming:
                table.add_row(Text(display_keys(spec.keys), style="dim"),
                              Text(spec.description, style="dim"))
        return table

    @staticmethod
    def _add_specs(table: Table, specs: list[KeySpec]) -> None:
        seen: set[str] = set()
        for spec in specs:
            if spec.reserved or spec.description in seen:
                continue
            seen.add(spec.description)
            table.add_row(display_keys(spec.keys), spec.description)
