"""A small modal asking for a name: saving the current view (server filter + local filter)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from close_tui.core.sanitize import visible
from close_tui.ui.keys import bindings_for


class NameScreen(ModalScreen[str | None]):
    """Ask for one line of text; Enter returns it (stripped), Esc returns ``None``."""

    DEFAULT_CSS = """
    NameScreen { align: center middle; }
    NameScreen > Vertical {
        width: 64; height: auto; border: round $primary; background: $surface; padding: 1 2;
    }
    NameScreen Input { margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("name")

    def __init__(self, title: str, *, value: str = "", detail: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, style="bold"))
            if self.detail:
                yield Static(Text(visible(self.detail), style="dim"))
            yield Input(value=self.value, id="name-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
