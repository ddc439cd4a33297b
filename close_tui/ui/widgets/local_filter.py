"""The local filter bar: ``/`` opens an input for a predicate; a line says what it scans.

Local means the server does not filter: the app pages the server query and keeps the
events that match, so the bar always says so, with live counts ("scanned 2,350 · 12
match · paging…"): a rare predicate may need many pages, and the user should see why.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from close_tui.core.sanitize import visible
from close_tui.ui.keys import bindings_for

PLACEHOLDER = (
    "local filter: text, field=value, meta.bulk_action_id=…, changed_fields~status "
    "(AND) · Enter applies, empty clears, Esc cancels"
)


class PredicateInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("local_input")

    def action_cancel(self) -> None:
        self.post_message(LocalFilterBar.Cancelled())


class LocalFilterBar(Vertical):
    """Hidden unless a predicate is active or being typed."""

    DEFAULT_CSS = """
    LocalFilterBar { height: auto; display: none; background: $boost; }
    LocalFilterBar.-active, LocalFilterBar.-editing { display: block; }
    LocalFilterBar > PredicateInput { display: none; border: none; height: 1; padding: 0 1; }
    LocalFilterBar.-editing > PredicateInput { display: block; }
    LocalFilterBar > #local-status { height: 1; padding: 0 1; color: $accent; text-wrap: nowrap; }
    LocalFilterBar.-editing > #local-status { display: none; }
    """

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Cancelled(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.status_text = ""

    def compose(self) -> ComposeResult:
        yield PredicateInput(placeholder=PLACEHOLDER, id="local-input")
        yield Static("", id="local-status")

    @property
    def input(self) -> PredicateInput:
        return self.query_one(PredicateInput)

    @property
    def editing(self) -> bool:
        return self.has_class("-editing")

    def open(self, text: str) -> None:
        self.add_class("-editing")
        self.input.value = text
        self.input.cursor_position = len(text)
        self.input.focus()

    def close(self) -> None:
        self.remove_class("-editing")

    def set_status(self, text: str) -> None:
        """Show ``text`` (plain) and the bar; ``""`` hides the bar (no predicate)."""
        self.status_text = text
        self.set_class(bool(text), "-active")
        if self.is_mounted:
            self.query_one("#local-status", Static).update(Text(visible(text)))

    @on(Input.Submitted, "#local-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value))

    @on(Cancelled)
    def _cancelled(self, event: LocalFilterBar.Cancelled) -> None:
        # Re-post from the bar so the app sees it with the bar as sender; close first.
        self.close()
