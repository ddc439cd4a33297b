"""Streaming writers for events: JSONL, JSON, CSV and a plain terminal table.

Each writer takes events one at a time and writes them at once, so memory stays flat
however many events pass through, and ``close-tui events | head`` sees output
immediately.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from close_tui.core import jsonnum
from close_tui.core.models import Event
from close_tui.core.sanitize import visible

#: CSV columns, in order. JSON-valued columns hold compact JSON; see README "CSV columns".
CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "date_updated",
    "date_created",
    "action",
    "object_type",
    "object_id",
    "lead_id",
    "user_id",
    "request_id",
    "api_key_id",
    "organization_id",
    "changed_fields",
    "meta",
    "data",
    "previous_data",
)
_JSON_COLUMNS = frozenset({"meta", "data", "previous_data"})


class TextSink(Protocol):
    """Where a writer's text goes: ``sys.stdout``, a file, or an
    :class:`~close_tui.core.output.RecordStream`. Each ``write`` is one whole record."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class EventWriter(Protocol):
    def write(self, event: Event) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class RenderingWriter(Protocol):
    """A writer that can turn an event into its text ahead of time.

    ``write(e)`` is ``write_rendered(render(e))``. The parallel exporter renders events of
    windows that must wait their turn as they arrive, so their turn costs a plain copy.
    """

    def write(self, event: Event) -> None: ...

    def render(self, event: Event) -> str: ...

    def write_rendered(self, text: str) -> None: ...

    def close(self) -> None: ...


def _dumps(value: Any) -> str:
    return jsonnum.dumps(value, ensure_ascii=False, separators=(",", ":"))


class JsonlWriter:
    """One event per line, JSON-equal to what the API returned."""

    def __init__(self, stream: TextSink) -> None:
        self._stream = stream

    def render(self, event: Event) -> str:
        return _dumps(event.to_api()) + "\n"

    def write_rendered(self, text: str) -> None:
        self._stream.write(text)

    def write(self, event: Event) -> None:
        self._stream.write(self.render(event))

    def close(self) -> None:
        self._stream.flush()


class JsonWriter:
    """A JSON array, written incrementally (``[`` first, ``]`` on close)."""

    def __init__(self, stream: TextSink) -> None:
        self._stream = stream
        self._count = 0

    def render(self, event: Event) -> str:
        return _dumps(event.to_api())

    def write_rendered(self, text: str) -> None:
        self._stream.write(("[\n" if self._count == 0 else ",\n") + text)
        self._count += 1

    def write(self, event: Event) -> None:
        self.write_rendered(self.render(event))

    def close(self) -> None:
        self._stream.write("[]\n" if self._count == 0 else "\n]\n")
        self._stream.flush()


class CsvWriter:
    """One row per event; ``data`` missing is an empty cell, ``null`` is ``null``."""

    def __init__(self, stream: TextSink) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(CSV_COLUMNS)
        self._stream = stream
        self._line = io.StringIO()
        self._line_writer = csv.writer(self._line, lineterminator="\n")

    def render(self, event: Event) -> str:
        self._line.seek(0)
        self._line.truncate()
        self._line_writer.writerow(self._row(event))
        return self._line.getvalue()

    def write_rendered(self, text: str) -> None:
        self._stream.write(text)

    def write(self, event: Event) -> None:
        self._writer.writerow(self._row(event))

    def _row(self, event: Event) -> list[str]:
        raw = event.to_api()
        row: list[str] = []
        for column in CSV_COLUMNS:
            if column not in raw:
                row.append("")
            elif column in _JSON_COLUMNS:
                row.append(_dumps(raw[column]))
            elif column == "changed_fields":
                row.append(";".join(str(f) for f in raw.get(column) or []))
            else:
                value = raw[column]
                row.append("" if value is None else str(value))
        return row

    def close(self) -> None:
        self._stream.flush()


class TableWriter:
    """Aligned columns for a person at a terminal; API text made visible, never obeyed."""

    def __init__(
        self, stream: TextSink, width: int | None = None, names: Mapping[str, str] | None = None
    ) -> None:
        self._stream = stream
        self._width = width or shutil.get_terminal_size((120, 24)).columns
        self._header_done = False
        #: id -> name (a live mapping, e.g. ``Directory.names()``): leads, users, fields.
        self._names: Mapping[str, str] = names if names is not None else {}

    def write(self, event: Event) -> None:
        from close_tui.core.summary import summarize

        if not self._header_done:
            self._header()
        when = event.date_updated.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        self._line(
            when,
            event.action,
            event.object_type,
            event.object_id or "",
            self._names.get(event.lead_id or "", event.lead_id or ""),
            self._names.get(event.user_id or "", event.user_id or "system"),
            summarize(event, self._names),
        )

    def _header(self) -> None:
        self._line("TIME", "ACTION", "OBJECT TYPE", "OBJECT ID", "LEAD", "USER", "SUMMARY")
        self._header_done = True

    def _line(self, *cells: str) -> None:
        widths = (19, 10, 22, 14, 14, 14)
        parts = [_fit(visible(c), w) for c, w in zip(cells, widths, strict=False)]
        line = " ".join(parts) + " " + visible(cells[-1])
        self._stream.write(line[: self._width].rstrip() + "\n")

    def close(self) -> None:
        """End the table: with no event at all, the header and a line saying so (an
        empty screen reads as "still waiting" or "broken", not "nothing matched")."""
        if not self._header_done:
            self._header()
            self._stream.write("no events match\n")
        self._stream.flush()


def _fit(text: str, width: int) -> str:
    if len(text) <= width:
        return text.ljust(width)
    return text[: width - 1] + "…"


def open_writer(fmt: str, stream: TextSink) -> EventWriter:
    """The writer for ``fmt`` (jsonl, json, csv, table)."""
    writers: dict[str, type[JsonlWriter | JsonWriter | CsvWriter | TableWriter]] = {
        "jsonl": JsonlWriter,
        "json": JsonWriter,
        "csv": CsvWriter,
        "table": TableWriter,
    }
    try:
        return writers[fmt](stream)
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(writers)}") from None

