"""Export the archive as day-partitioned Parquet, for when one machine is not enough.

Tens of millions of events belong in a warehouse, not in a SQLite file a terminal app
pages through; rather than build a distributed store, the archive writes what DuckDB,
Spark and BigQuery read directly::

    DIR/date=2026-11-20/events.parquet      (Hive-style: ``date`` becomes a column)

    duckdb -c "SELECT action, count(*) FROM read_parquet('DIR/*/*.parquet',
               hive_partitioning = true) GROUP BY ALL"

One file per day of ``date_updated`` (UTC); re-exporting rewrites each day's file
atomically (temp file + rename), so a reader never sees half a file and a re-run after
more syncs just refreshes the days. Columns:

* the event's scalar fields as strings, ``date_created``/``date_updated`` as UTC
  timestamps (microseconds), ``changed_fields`` as a list of strings;
* ``data``, ``previous_data``, ``meta`` as JSON text, numbers exact (``jsonnum``). A
  payload the key was not allowed to read is a SQL ``NULL`` (the key was missing), a
  ``null`` payload is the JSON text ``null``: the three states stay apart;
* ``extra``: unknown top-level fields as a JSON object (``NULL`` when there are none), so
  nothing the API sent is lost.

pyarrow is an optional dependency (``pip install 'close-tui[parquet]'``): it is ~55 MB
and only this command needs it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from close_tui.core import jsonnum
from close_tui.core.archive.errors import ArchiveError
from close_tui.core.archive.source import event_from_raw
from close_tui.core.archive.store import ArchiveStore
from close_tui.core.models import Event

FILE_NAME: Final = "events.parquet"
#: Scalar fields written as string columns, in order.
STRING_FIELDS: Final = (
    "id",
    "organization_id",
    "user_id",
    "request_id",
    "api_key_id",
    "object_type",
    "object_id",
    "lead_id",
    "action",
)
JSON_FIELDS: Final = ("meta", "data", "previous_data")
_KNOWN: Final = frozenset(
    {*STRING_FIELDS, *JSON_FIELDS, "date_created", "date_updated", "changed_fields"}
)


@dataclass(frozen=True)
class ParquetResult:
    directory: Path
    events: int
    files: int


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ArchiveError(
            "Parquet export needs pyarrow, which is not installed: "
            "pip install 'close-tui[parquet]' (or pip install pyarrow)"
        ) from None
    return pyarrow, pyarrow.parquet


def parquet_schema(pa: Any) -> Any:
    ts = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("id", pa.string()),
            ("date_created", ts),
            ("date_updated", ts),
            *[(name, pa.string()) for name in STRING_FIELDS[1:]],
            ("changed_fields", pa.list_(pa.string())),
            *[(name, pa.string()) for name in JSON_FIELDS],
            ("extra", pa.string()),
        ]
    )


def _text(value: Any) -> str | None:
    """A string column's value: strings as they are (lone surrogates, which UTF-8 cannot
    hold, made visible), anything else as its JSON text."""
    if value is None:
        return None
    if not isinstance(value, str):
        return _json(value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _json(value: Any) -> str:
    text = jsonnum.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: \u escapes keep the JSON exact
        text = jsonnum.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text


def _row(event: Event) -> dict[str, Any]:
    raw = event.to_api()
    row: dict[str, Any] = {name: _text(raw.get(name)) for name in STRING_FIELDS}
    row["id"] = event.id
    row["date_created"] = event.date_created
    row["date_updated"] = event.date_updated
    changed = raw.get("changed_fields")
    row["changed_fields"] = (
        [_text(f) or "" for f in changed] if isinstance(changed, list) else None
    )
    for name in JSON_FIELDS:
        row[name] = _json(raw[name]) if name in raw else None
    extra = {k: v for k, v in raw.items() if k not in _KNOWN}
    row["extra"] = _json(extra) if extra else None
    return row


def export_parquet(store: ArchiveStore, directory: Path) -> ParquetResult:
    """Write every stored event to ``directory/date=YYYY-MM-DD/events.parquet``."""
    pa, pq = _pyarrow()
    schema = parquet_schema(pa)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    events = files = 0
    day: str | None = None
    rows: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal files
        if day is None or not rows:
            return
        table = pa.Table.from_pylist(rows, schema=schema)
        _write_atomically(pq, table, directory / f"date={day}" / FILE_NAME)
        files += 1

    for raw in store.iter_raw(newest_first=False):
        event = event_from_raw(raw)
        event_day = _day(event.date_updated)
        if event_day != day:
            flush()
            day, rows = event_day, []
        rows.append(_row(event))
        events += 1
    flush()
    return ParquetResult(directory=directory, events=events, files=files)


def _day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d")  # date_updated is UTC (models.Event)


def _write_atomically(pq: Any, table: Any, target: Path) -> None:
    target.parent.mkdir(exist_ok=True, mode=0o700)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.chmod(tmp, 0o600)  # CRM data, like the archive itself
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
