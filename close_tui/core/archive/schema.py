"""The archive's SQLite schema, and how a connection to it is opened.

Why it looks the way it does:

* **One integer orders everything, newest first.** ``event.k`` (the rowid) is
  ``(MAX_KEY_MS − date_updated in ms) << 20 | slot``, where ``slot`` orders the events of
  one millisecond by ``(date_updated, id)``, newest first. Newest first is then
  ``ORDER BY k``, a keyset page is ``k > last_k``, and every secondary index (which SQLite
  suffixes with the rowid) is already in date order within each value: ``WHERE usr = ?
  ORDER BY k LIMIT 50`` reads 50 index entries, whatever the table holds. Keys grow
  towards the past because a first sync writes newest first: its inserts then append
  to the B-trees (measured: descending inserts leave pages half full, doubling the
  file). See ``store.group_base``.
* **Every combination has a date-ordered path.** High-cardinality fields (request,
  object, lead) get one index each: a bucket is small, the rest of the filter is checked
  row by row. The low-cardinality ones (user, object type, action) get an index for every
  subset of them, so "user X deleted anything" never walks all of X's events to find the
  few deletions. Which index serves a query is decided in ``query.py``, not left to the
  planner's guess.
* **Repeated strings are stored once.** Lead, user, object ids, object types and actions
  live in ``term`` and the event row holds small integers, so an index entry is ~12 bytes
  instead of ~60. Request ids are nearly unique per event, so they stay inline.
* **The raw JSON is the record.** ``raw`` holds the event exactly as the API sent it
  (numbers kept by ``jsonnum``); everything else is derived from it and could be rebuilt.
* **Full-text search is FTS5, its rowid the same ``k``**, so "newest matches first" is
  the index's own order, and each document carries its event's filter values as tag
  tokens, so FTS5 intersects a search with any filter itself (``text.py``). Documents
  are built after a sync window is stored (``unindexed`` lists what is pending), when
  the names learned from all its events are known.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from close_tui.core.archive.errors import ArchiveMissing, ArchiveUnreadable
from close_tui.core.archive.paths import ensure_private_file
from close_tui.core.archive.text import TOKENIZER

SCHEMA_VERSION: Final = 1
#: Bits of ``k`` below the millisecond: room for a million events in one millisecond.
RANK_BITS: Final = 20
RANK_SPACE: Final = 1 << RANK_BITS
#: Largest millisecond a key can hold (year 2248); later dates are clamped into it.
MAX_KEY_MS: Final = (1 << (63 - RANK_BITS)) - 1
PAGE_SIZE: Final = 16_384
#: How long a statement waits for another connection's write lock before failing.
BUSY_TIMEOUT_S: Final = 30.0

#: Filter fields -> the event column holding their value (interned, except ``req``).
COLUMNS: Final[dict[str, str]] = {
    "lead_id": "lead",
    "user_id": "usr",
    "object_type": "otype",
    "object_id": "obj",
    "action": "act",
    "request_id": "req",
}

#: Index of each high-cardinality column, best (smallest buckets) first.
SELECTIVE_INDEXES: Final[tuple[tuple[str, str], ...]] = (
    ("req", "event_req"),
    ("obj", "event_obj"),
    ("lead", "event_lead"),
)
#: Index for each subset of the low-cardinality columns (user, type, action).
GROUP_INDEXES: Final[dict[frozenset[str], str]] = {
    frozenset({"usr"}): "event_usr",
    frozenset({"otype"}): "event_otype",
    frozenset({"act"}): "event_act",
    frozenset({"usr", "act"}): "event_usr_act",
    frozenset({"otype", "act"}): "event_otype_act",
    frozenset({"usr", "otype"}): "event_usr_otype",
    frozenset({"usr", "otype", "act"}): "event_usr_otype_act",
}

_TABLES: Final = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS term (
    n INTEGER PRIMARY KEY,
    v TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS event (
    k INTEGER PRIMARY KEY,        -- order key: newest first, see store.group_base()
    id TEXT NOT NULL UNIQUE,
    updated INTEGER NOT NULL,     -- date_updated, microseconds since the epoch (UTC)
    lead INTEGER, usr INTEGER, otype INTEGER, obj INTEGER, act INTEGER,
    req TEXT,                     -- request ids are nearly unique: not worth a term
    payload INTEGER NOT NULL,     -- bit 1: "data" key present, bit 2: "previous_data"
    raw TEXT NOT NULL             -- the event's JSON as the API sent it
);

CREATE INDEX IF NOT EXISTS event_req ON event(req);
CREATE INDEX IF NOT EXISTS event_obj ON event(obj);
CREATE INDEX IF NOT EXISTS event_lead ON event(lead);
CREATE INDEX IF NOT EXISTS event_usr ON event(usr);
CREATE INDEX IF NOT EXISTS event_otype ON event(otype);
CREATE INDEX IF NOT EXISTS event_act ON event(act);
CREATE INDEX IF NOT EXISTS event_usr_act ON event(usr, act);
CREATE INDEX IF NOT EXISTS event_otype_act ON event(otype, act);
CREATE INDEX IF NOT EXISTS event_usr_otype ON event(usr, otype);
CREATE INDEX IF NOT EXISTS event_usr_otype_act ON event(usr, otype, act);
-- Events stored without a payload (a non-admin key): counted by `archive status`.
CREATE INDEX IF NOT EXISTS event_hidden ON event(payload) WHERE payload != 3;

-- Ranges of date_updated (microseconds, inclusive) whose events were all fetched.
CREATE TABLE IF NOT EXISTS coverage (
    lo INTEGER NOT NULL,
    hi INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS sync_run (
    n INTEGER PRIMARY KEY,
    started TEXT NOT NULL,        -- local clock, ISO (when the run began)
    finished TEXT,
    status TEXT NOT NULL,         -- running, ok, failed
    server_time TEXT,             -- the server's clock at the start: the snapshot bound
    events INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT ''
);

-- Display names of users, leads and custom fields learned while syncing.
CREATE TABLE IF NOT EXISTS name (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
) WITHOUT ROWID;

-- Events stored but not yet in the full-text index.
CREATE TABLE IF NOT EXISTS unindexed (
    k INTEGER PRIMARY KEY
);
"""

_FTS: Final = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5("
    f"summary, names, body, tags, tokenize = '{TOKENIZER}', columnsize = 0)"
)

_fts5_available: bool | None = None


def fts5_available() -> bool:
    """Whether this Python's SQLite was built with FTS5 (asked once)."""
    global _fts5_available
    if _fts5_available is None:
        probe = sqlite3.connect(":memory:")
        try:
            probe.execute("CREATE VIRTUAL TABLE probe USING fts5(x)")
            _fts5_available = True
        except sqlite3.OperationalError:
            _fts5_available = False
        finally:
            probe.close()
    return _fts5_available


def connect(path: Path, *, create: bool, readonly: bool = False) -> sqlite3.Connection:
    """A connection to the archive at ``path`` with the schema in place.

    ``create=False`` raises :class:`ArchiveMissing` when there is no file (a reader must
    not leave an empty archive behind). Autocommit mode: writers open their own
    ``BEGIN IMMEDIATE`` transactions, so a batch is all or nothing.
    """
    if create:
        ensure_private_file(path)
    elif not path.is_file():
        raise ArchiveMissing(
            f"no archive at {path}: run `close-tui archive sync` first (or give --db PATH)"
        )
    uri = f"{path.resolve().as_uri()}?mode=rw"
    try:
        con = sqlite3.connect(
            uri,
            uri=True,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise ArchiveUnreadable(f"cannot open the archive {path}: {exc}") from None
    try:
        _prepare(con, path, readonly=readonly)
    except sqlite3.DatabaseError as exc:
        con.close()
        raise ArchiveUnreadable(f"{path} is not a readable close-tui archive: {exc}") from None
    except BaseException:
        con.close()
        raise
    return con


def _prepare(con: sqlite3.Connection, path: Path, *, readonly: bool) -> None:
    if not readonly and path.stat().st_size == 0:
        # 16 KB pages: an event row is ~1.6 KB, and 4 KB pages hold only two of them
        # (a fifth of the file would be slack). Only possible before the first table.
        con.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    con.execute("PRAGMA journal_mode = WAL")
    # NORMAL in WAL mode: a power cut may lose the last commits, never consistency;
    # the next sync fetches them again.
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("PRAGMA temp_store = MEMORY")
    con.execute("PRAGMA cache_size = -65536")  # 64 MB of page cache
    version = _meta(con, "schema_version")
    if version is None:
        if readonly:
            raise ArchiveUnreadable(f"{path} is empty: run `close-tui archive sync` first")
        _create(con)
    elif version != str(SCHEMA_VERSION):
        raise ArchiveUnreadable(
            f"{path} is an archive of schema version {version}; this close-tui reads "
            f"version {SCHEMA_VERSION}"
        )
    elif not readonly and fts5_available() and _meta(con, "fts") != "1":
        # Made by a Python without FTS5: add the index now; the next sync fills it.
        with transaction(con):
            con.execute(_FTS)
            _set_meta(con, "fts", "1")
    if readonly:
        con.execute("PRAGMA query_only = ON")


def _create(con: sqlite3.Connection) -> None:
    with transaction(con):
        for statement in _TABLES.split(";"):
            if statement.strip():
                con.execute(statement)
        fts = fts5_available()
        if fts:
            con.execute(_FTS)
        _set_meta(con, "fts", "1" if fts else "0")
        _set_meta(con, "schema_version", str(SCHEMA_VERSION))


@contextlib.contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception (cancellation too)."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _meta(con: sqlite3.Connection, key: str) -> str | None:
    try:
        row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            if con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise sqlite3.DatabaseError("it has tables, but not close-tui's") from None
            return None
        raise
    return None if row is None else str(row[0])


def _set_meta(con: sqlite3.Connection, key: str, value: str) -> None:
    con.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


get_meta = _meta
set_meta = _set_meta
