"""The status bar: organization, the query actually sent, rows, paging state, budget, error."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from close_tui.core.sanitize import visible


@dataclass(frozen=True, slots=True)
class StatusInfo:
    organization: str = ""
    query: str = ""
    rows: int = 0
    paging: str = ""  # "more available", "end of log", "loading…"
    rate: str = ""  # "rate 17/20 · reset 0.4s"
    error: str = ""
    activity: str = ""  # transient: "retrying in 3 s"
    names: str = ""  # "names limited": some ids are shown as they are, for now
    request: str = "GET /event/?"  # what the query line's query is for (or "archive …: ")


class StatusBar(Vertical):
    """Two lines at the bottom; every part is plain text made visible (no markup)."""

    DEFAULT_CSS = """
    StatusBar {
        height: 2;
        background: $panel;
        color: $text-muted;
        padding: 0 1;
    }
    StatusBar > Static {
        width: 1fr;
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.info = StatusInfo()

    def compose(self) -> ComposeResult:
        yield Static("", id="status-summary")
        yield Static("", id="status-query")

    def set(self, **changes: object) -> None:
        self.info = replace(self.info, **changes)  # type: ignore[arg-type]
        if self.is_mounted:
            summary, query = self.status_lines()
            self.query_one("#status-summary", Static).update(summary)
            self.query_one("#status-query", Static).update(query)

    def on_mount(self) -> None:
        self.set()

    def status_lines(self) -> tuple[Text, Text]:
        info = self.info
        summary = Text()
        summary.append(visible(info.organization or "—"), "bold")
        summary.append(f"  {info.rows:,} rows")
        if info.paging:
            summary.append(" · " + info.paging, "italic")
        if info.rate:
            summary.append("   " + info.rate, "dim")
        if info.names:
            summary.append(" · " + visible(info.names), "dim italic")
        if info.activity:
            summary.append("   " + visible(info.activity), "bold yellow")
        query = Text()
        query.append(visible(info.request), "dim")
        query.append(visible(info.query))
        if info.error:
            query.append("   ⚠ " + visible(info.error), "bold red")
        return summary, query
