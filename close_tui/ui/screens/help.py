"""``?``/F1: the keys that work where the focus is, from the bindings active there.

Drawn from the screen's *active* bindings (Textual's ``Screen.active_bindings``: the
focused widget, its ancestors, the screen and the app, after the user's keymap), ordered
and grouped by the one key table (:mod:`close_tui.ui.keys`). So the help shows a
remapped key as remapped, and lists nothing that does not work there: in the detail pane
``/`` searches the JSON, so the local filter's syntax is not listed there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from close_tui.ui.keys import KEYMAP, bindings_for, display_keys

#: How the local filter reads (shown where ``/`` opens it: the event table).
LOCAL_FILTER_SYNTAX = (
    ("text", "anywhere in the event's JSON"),
    ("field=value", "equals: any field, or a dotted path (data.status_label=Won)"),
    ("field!=value", "differs"),
    ("field~text", "contains (changed_fields~status)"),
    ("Enter / Esc", "apply (empty clears) / cancel; Esc on the table stops a scan"),
)
MOUSE = ("wheel, click", "scroll, select (a click on TIME changes the time display)")


@dataclass(frozen=True, slots=True)
class HelpLine:
    keys: str
    description: str
    binding_id: str = ""


@dataclass(frozen=True, slots=True)
class HelpSection:
    title: str
    lines: tuple[HelpLine, ...]
    note: str = ""


def help_sections(
    active: Mapping[str, ActiveBinding], *, where: str, local_filter: bool
) -> list[HelpSection]:
    """The help of one place: the key table's entries that are active there, with the
    keys they are bound to now, grouped by the table's sections in its order."""
    keys_of: dict[str, list[str]] = {}
    for key, bound in active.items():
        binding_id = bound.binding.id
        if binding_id is not None and key not in keys_of.setdefault(binding_id, []):
            keys_of[binding_id].append(key)
    grouped: dict[str, list[HelpLine]] = {}
    for spec in KEYMAP:
        keys = keys_of.get(spec.id)
        if keys is None:
            continue
        title = spec.section or where
        grouped.setdefault(title, []).append(
            HelpLine(display_keys(",".join(keys)), spec.description, spec.id))
    sections = [HelpSection(title, tuple(lines)) for title, lines in grouped.items()]
    if "Move" in grouped:
        index = next(i for i, s in enumerate(sections) if s.title == "Move")
        sections[index] = HelpSection("Move", (*sections[index].lines, HelpLine(*MOUSE)))
    if local_filter:
        sections.append(HelpSection(
            "Local filter (/)",
            tuple(HelpLine(k, d) for k, d in LOCAL_FILTER_SYNTAX),
            note="terms are AND-ed",
        ))
    return sections


class HelpScreen(ModalScreen[None]):
    """A modal list of keys; Esc (or q, ?, F1) closes it, as its last line says."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 84; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 1 2;
    }
    """
    BINDINGS = bindings_for("help")

    def __init__(self, where: str, sections: Sequence[HelpSection]) -> None:
        super().__init__()
        #: Where the focus was ("Event table", "Detail pane", "Filter form"…).
        self.where = where
        self.sections = list(sections)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.render_keys(), id="help-keys")

    def render_keys(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_column(style="dim", no_wrap=True)
        table.add_row(Text(f"Keys — {self.where}", style="bold underline"),
                      Text("Esc closes this help (q, ? and F1 too)", style="italic"),
                      Text("id (to remap)", style="dim italic"))
        for section in self.sections:
            table.add_row("", "", "")
            table.add_row(Text(section.title, style="bold underline"),
                          Text(section.note, style="dim"), "")
            for line in section.lines:
                table.add_row(line.keys, line.description, line.binding_id)
        return table

    @property
    def text(self) -> str:
        """Everything the help says, as plain lines (tests, screen readers)."""
        lines = [f"Keys — {self.where}", "Esc closes this help"]
        for section in self.sections:
            lines.append(section.title)
            lines.extend(f"{line.keys}  {line.description}" for line in section.lines)
        return "\n".join(lines)
