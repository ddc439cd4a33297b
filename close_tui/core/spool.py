"""A later export window's events, held in order until their turn to be written.

With ``--parallel`` windows finish out of order; all but the head window wait. Their
events wait here: in memory while the export's budget allows, then in an anonymous
temporary file (one JSON array per line), so memory stays flat however many events wait.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from typing import IO, Any

from close_tui.core import jsonnum
from close_tui.core.dates import parse_api_datetime, to_api_datetime
from close_tui.core.models import Event

#: One buffered event: its id, its ``date_updated``, and either the text the writer
#: rendered for it or (for sinks that cannot render ahead) the event itself.
Record = tuple[str, datetime, "str | Event"]


class Spool:
    """A later window's events, in order, until their turn to be written: in memory,
    then, once memory is short, in an anonymous temp file (one JSON array per line).

    Appends and reads can interleave (a window keeps fetching while it is replayed).
    ``memory_bytes`` counts the rendered text (or an estimate for kept events).
    """

    def __init__(self) -> None:
        self.items: list[tuple[Record, int]] = []
        self._mem_read = 0
        self.memory_bytes = 0
        self.file: IO[bytes] | None = None
        self._read_pos = 0
        self._write_pos = 0
        self.pending = 0

    def append(self, record: Record, size: int) -> int:
        """Add a record; returns the bytes added to memory (0 once spilled)."""
        self.pending += 1
        if self.file is not None:
            self._write([record])
            return 0
        self.items.append((record, size))
        self.memory_bytes += size
        return size

    def _write(self, records: list[Record]) -> None:
        assert self.file is not None
        lines = []
        for event_id, when, payload in records:
            body: Any = payload if isinstance(payload, str) else payload.to_api()
            kind = 0 if isinstance(payload, str) else 1
            line = jsonnum.dumps([event_id, to_api_datetime(when), kind, body],
                              ensure_ascii=False, separators=(",", ":"))
            lines.append(line.encode("utf-8") + b"\n")
        data = b"".join(lines)
        self.file.seek(self._write_pos)
        self.file.write(data)
        self._write_pos += len(data)

    def spill(self) -> int:
        """Move the records held in memory to a temp file; returns the bytes freed."""
        if self.file is not None:
            return 0
        freed = self.memory_bytes
        # Closed by close(), when the window has been written (or the export ends).
        self.file = tempfile.TemporaryFile(prefix="close-tui-export-")  # noqa: SIM115
        self._write([r for r, _ in self.items[self._mem_read :]])
        self.items = []
        self._mem_read = 0
        self.memory_bytes = 0
        return freed

    def take(self, max_items: int) -> list[Record]:
        """Up to ``max_items`` unread records, in the order they were appended."""
        if self.file is None:
            batch = self.items[self._mem_read : self._mem_read + max_items]
            self._mem_read += len(batch)
            self.memory_bytes -= sum(size for _, size in batch)
            if self._mem_read == len(self.items):
                self.items = []
                self._mem_read = 0
            self.pending -= len(batch)
            return [r for r, _ in batch]
        out: list[Record] = []
        self.file.seek(self._read_pos)
        while len(out) < max_items and self._read_pos < self._write_pos:
            line = self.file.readline()
            if not line:
                break
            self._read_pos += len(line)
            event_id, when, kind, body = jsonnum.loads(line)
            payload: str | Event = body if kind == 0 else Event.model_validate(body)
            out.append((event_id, parse_api_datetime(when), payload))
        self.pending -= len(out)
        return out

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        self.items = []
        self.memory_bytes = 0




#: Names the exporter used before the split.
_Spool = Spool
_Record = Record
