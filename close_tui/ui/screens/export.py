"""The export modal: choose a file, watch the progress, cancel.

The engine (:mod:`close_tui.core.exporter`) does the work in an app worker; this screen
only asks where to write (the extension picks the format: ``.csv`` or JSON Lines) and
shows what the app reports. Esc cancels a running export (the partial file is kept and
named), or closes the modal.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
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


def format_for(path: Path) -> str:
    """``csv`` for a ``.csv`` file, else ``jsonl`` (one event per line, as the API sent it)."""
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


class ExportScreen(ModalScreen[None]):
    """Ask for a path; then show progress until done, failed or cancelled."""

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen > Vertical {
        width: 84; height: auto; border: round $primary; background: $surface; padding: 1 2;
    }
    ExportScreen #export-path { margin: 1 0; }
    ExportScreen #export-progress { color: $accent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = bindings_for("export")

    def __init__(
        self,
        *,
        what: str,
        default_path: str,
        start: Callable[[Path, str], object],
        cancel: Callable[[], object],
    ) -> None:
        super().__init__()
        self.what = what
        self.default_path = default_path
        self._start = start
        self._cancel = cancel
        self.running = False
        self.finished = False
        self.progress_text = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Export events", style="bold"))
            yield Static(Text(visible(self.what), style="dim"), id="export-what")
            yield Input(value=self.default_path, id="export-path",
                        placeholder="file.jsonl or file.csv")
            yield Static(Text("Enter starts · .csv for CSV, anything else JSON Lines · "
                              "Esc cancels", style="dim"), id="export-progress")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.running:
            return
        if self.finished:
            self.dismiss(None)
            return
        raw = event.value.strip()
        if not raw:
            return
        path = Path(raw).expanduser()
        self.running = True
        event.input.disabled = True
        self.show_progress(f"starting ({format_for(path)})…")
        self._start(path, format_for(path))

    def show_progress(self, text: str) -> None:
        self.progress_text = text
        if self.is_mounted:
            self.query_one("#export-progress", Static).update(Text(visible(text)))

    def done(self, text: str) -> None:
        """The export ended (written, failed or cancelled): say how; Esc/Enter closes."""
        self.running = False
        self.finished = True
        self.show_progress(text + " · Esc closes")
        self.focus()

    def action_cancel(self) -> None:
        if self.running:
            self._cancel()
            return
        self.dismiss(None)
