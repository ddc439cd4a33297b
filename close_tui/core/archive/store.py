"""The archive database: storing events (upsert by id), coverage, names, and status.

Reading pages lives in ``query.py``; syncing with the API in ``sync.py``. This module is
synchronous and owns the SQL that changes the file. Writers wrap each batch in
:meth:`ArchiveStore.transaction`, so a sync stopped at any instant leaves the last
committed batch and nothing half-written.

Upsert rules (the event log consolidates: one id, a newer ``date_updated``, a longer
``changed_fields``):

* an older or equal ``date_updated`` than the stored one never replaces it;
* at an equal ``date_updated`` a form that carries payload keys the stored one lacks
  replaces it (a non-admin key stored the event after its payload was hidden, an admin
  key brings it): the fuller form of the *same* version wins;
* a newer ``date_updated`` always replaces, payload or not: the payload of an older
  version is not this version's, so a hidden one stays absent, never invented.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from close_tui.core import jsonnum
from close_tui.core.archive import schema
from close_tui.core.archive.errors import OrganizationMismatch
from close_tui.core.archive.schema import MAX_KEY_MS, RANK_BITS, RANK_SPACE
from close_tui.core.archive.text import document, tags_text
from close_tui.core.models import Event

#: Terms kept in memory while writing (ids repeat: a lead's id in each of its events).
_TERM_CACHE_SIZE: Final = 200_000
#: Documents built per transaction when indexing.
_INDEX_BATCH: Final = 2_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
#: The event columns whose values become the document's tag tokens, in SELECT order.
_TAG_COLUMNS: Final = ("lead", "usr", "otype", "obj", "act", "req")
_PAYLOAD_DATA: Final = 1
_PAYLOAD_PREVIOUS: Final = 2


def to_us(when: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact, no float)."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def key_ms(us: int) -> int:
    """The millisecond of a ``date_updated``, clamped into what a key can hold."""
    return min(max(us // 1000, 0), MAX_KEY_MS)


def group_base(us: int) -> int:
    """The smallest order key of ``us``'s millisecond (see ``schema.py``): newer
    milliseconds have smaller keys, so ``ORDER BY k`` is newest first."""
    return (MAX_KEY_MS - key_ms(us)) << RANK_BITS


def key_range(lo_us: int | None, hi_us: int | None) -> tuple[int, int]:
    """The order keys of events whose ``date_updated`` may lie in ``[lo_us, hi_us]``."""
    first = 0 if hi_us is None else group_base(hi_us)
    last = (MAX_KEY_MS << RANK_BITS) | (RANK_SPACE - 1)
    if lo_us is not None:
        last = group_base(lo_us) + RANK_SPACE - 1
    return first, last


def payload_bits(raw: Mapping[str, Any]) -> int:
    return (_PAYLOAD_DATA if "data" in raw else 0) | (
        _PAYLOAD_PREVIOUS if "previous_data" in raw else 0
    )


def encode(raw: Mapping[str, Any]) -> str:
    """The stored text of an event: compact JSON, numbers exact, as the API writes it."""
    return jsonnum.dumps(raw, ensure_ascii=False, separators=(",", ":"))


@dataclass
class UpsertCounts:
    """What one batch did to the archive."""

    inserted: int = 0
    #: Stored events replaced by a newer form (consolidated) or a fuller one.
    updated: int = 0
    #: Events already stored in this form (the five-minute overlap, mostly).
    unchanged: int = 0
    #: Events older than the stored form of the same id (it moved on meanwhile).
    stale: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.stale += other.stale

    @property
    def written(self) -> int:
        return self.inserted + self.updated


@dataclass(frozen=True)
class SyncRun:
    """One row of the sync log."""

    started: str
    finished: str | None
    status: str
    server_time: str | None
    events: int
    requests: int
    detail: str


@dataclass(frozen=True)
class UsRange:
    """A range of ``date_updated`` in microseconds, both ends included."""

    lo_us: int
    hi_us: int

    @property
    def lo(self) -> datetime:
        return from_us(self.lo_us)

    @property
    def hi(self) -> datetime:
        return from_us(self.hi_us)


@dataclass(frozen=True)
class Gap(UsRange):
    """A range of ``date_updated`` no sync has covered."""

    #: ``True`` when it is older than the API's 30 days: its events can no longer be
    #: fetched and may be missing for good. ``False``: the next sync fetches it.
    lost: bool


@dataclass(frozen=True)
class ArchiveStatus:
    """What ``close-tui archive status`` reports."""

    path: Path
    organization_id: str | None
    organization_name: str | None
    events: int
    oldest: datetime | None
    newest: datetime | None
    #: Bytes on disk: the database plus its write-ahead log.
    size_bytes: int
    last_sync: SyncRun | None
    last_attempt: SyncRun | None
    coverage: tuple[tuple[datetime, datetime], ...]
    gaps: tuple[Gap, ...]
    #: Events stored without ``data``/``previous_data`` (hidden from a non-admin key).
    hidden_payloads: int
    #: Events not yet in the full-text index (a sync was interrupted).
    unindexed: int
    fts: bool


class ArchiveStore:
    """One archive file, open for writing (syncs) or reading (status, export).

    Not thread-safe: one store per thread. ``close()`` it, or use it as a context
    manager.
    """

    def __init__(self, path: Path, *, create: bool = False, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self.con = schema.connect(path, create=create, readonly=readonly)
        self._terms: dict[str, int] = {}
        self._fts = schema.get_meta(self.con, "fts") == "1"

    @classmethod
    def open(cls, path: Path, *, create: bool = False, readonly: bool = False) -> ArchiveStore:
        return cls(path, create=create, readonly=readonly)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> ArchiveStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return schema.transaction(self.con)

    @property
    def fts(self) -> bool:
        """Whether this archive has a full-text index (SQLite with FTS5 made it)."""
        return self._fts

    # ------------------------------------------------------------------ organization

    @property
    def organization_id(self) -> str | None:
        return schema.get_meta(self.con, "organization_id")

    @property
    def organization_name(self) -> str | None:
        return schema.get_meta(self.con, "organization_name")

    def claim_organization(self, org_id: str, org_name: str | None) -> None:
        """Record the archive's organization, or raise :class:`OrganizationMismatch` if
        it already holds another one. Call inside a transaction."""
        current = self.organization_id
        if current is not None and current != org_id:
            mine = self.organization_name
            label = f"{mine} ({current})" if mine else current
            other = f"{org_name} ({org_id})" if org_name else org_id
            raise OrganizationMismatch(
                f"the archive {self.path} holds organization {label}, but this key belongs "
                f"to {other}: refusing to mix them (use another --db or --profile)"
            )
        if current is None:
            schema.set_meta(self.con, "organization_id", org_id)
        if org_name:
            schema.set_meta(self.con, "organization_name", org_name)

    # ------------------------------------------------------------------ terms

    def term(self, value: str) -> int:
        """The integer standing for ``value`` (created if new; inside a transaction)."""
        n = self._terms.get(value)
        if n is not None:
            return n
        row = self.con.execute("SELECT n FROM term WHERE v = ?", (value,)).fetchone()
        if row is None:
            cursor = self.con.execute("INSERT INTO term(v) VALUES (?)", (value,))
            n = cursor.lastrowid
            assert n is not None
        else:
            n = int(row[0])
        if len(self._terms) >= _TERM_CACHE_SIZE:
            self._terms.clear()
        self._terms[value] = n
        return n

    def find_term(self, value: str) -> int | None:
        """The integer of ``value`` if any event ever used it (never creates one)."""
        n = self._terms.get(value)
        if n is not None:
            return n
        row = self.con.execute("SELECT n FROM term WHERE v = ?", (value,)).fetchone()
        return None if row is None else int(row[0])

    def _term_or_none(self, value: Any) -> int | None:
        return self.term(value) if isinstance(value, str) and value else None

    # ------------------------------------------------------------------ writing events

    def upsert(self, events: Iterable[Event]) -> UpsertCounts:
        """Store ``events`` by id (rules in the module docstring). Inside a transaction."""
        counts = UpsertCounts()
        con = self.con
        for event in events:
            raw = event.to_api()
            us = to_us(event.date_updated)
            bits = payload_bits(raw)
            row = con.execute(
                "SELECT k, updated, payload FROM event WHERE id = ?", (event.id,)
            ).fetchone()
            if row is not None:
                old_k, old_us, old_bits = int(row[0]), int(row[1]), int(row[2])
                if us < old_us:
                    counts.stale += 1
                    continue
                if us == old_us:
                    if bits != old_bits and bits & old_bits == old_bits:
                        con.execute(
                            "UPDATE event SET raw = ?, payload = ? WHERE k = ?",
                            (encode(raw), bits, old_k),
                        )
                        self._unindex(old_k)
                        counts.updated += 1
                    else:
                        counts.unchanged += 1
                    continue
                self._delete(old_k)
                counts.updated += 1
            else:
                counts.inserted += 1
            k = self._new_key(us, event.id)
            con.execute(
                "INSERT INTO event(k, id, updated, lead, usr, otype, obj, act, req, payload, raw)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    k,
                    event.id,
                    us,
                    self._term_or_none(event.lead_id),
                    self._term_or_none(event.user_id),
                    self._term_or_none(event.object_type),
                    self._term_or_none(event.object_id),
                    self._term_or_none(event.action),
                    event.request_id or None,
                    bits,
                    encode(raw),
                ),
            )
            con.execute("INSERT INTO unindexed(k) VALUES (?)", (k,))
        return counts

    def _unindex(self, k: int) -> None:
        """Take ``k``'s document out of the full-text index and mark it pending."""
        added = self.con.execute("INSERT OR IGNORE INTO unindexed(k) VALUES (?)", (k,)).rowcount
        if added and self.fts:
            self.con.execute("DELETE FROM fts WHERE rowid = ?", (k,))

    def _delete(self, k: int) -> None:
        con = self.con
        con.execute("DELETE FROM event WHERE k = ?", (k,))
        if not con.execute("DELETE FROM unindexed WHERE k = ?", (k,)).rowcount and self.fts:
            con.execute("DELETE FROM fts WHERE rowid = ?", (k,))

    def _new_key(self, us: int, event_id: str) -> int:
        """A free order key for ``(us, event_id)`` between its neighbours in its
        millisecond; the millisecond's keys are spread out again when there is no gap
        left (rare: it takes ~20 events of one millisecond arriving in the worst order).
        """
        base = group_base(us)
        group = self.con.execute(
            "SELECT k, updated, id FROM event WHERE k BETWEEN ? AND ? ORDER BY k",
            (base, base + RANK_SPACE - 1),
        ).fetchall()
        if not group:
            return base + RANK_SPACE // 2
        me = (us, event_id)
        # The group is newest first: find the first event older than this one.
        position = 0
        while position < len(group) and (int(group[position][1]), str(group[position][2])) > me:
            position += 1
        newer = int(group[position - 1][0]) - base if position > 0 else -1
        older = int(group[position][0]) - base if position < len(group) else RANK_SPACE
        if older - newer >= 2:
            return base + (newer + older) // 2
        return self._respread(base, group, position)

    def _respread(self, base: int, group: list[Any], position: int) -> int:
        """Give the millisecond's events evenly spaced keys, leaving one for the new
        event at ``position``; returns that key. Order is kept, so a reader's keyset
        cursor stays valid (see ``query.py``)."""
        con = self.con
        count = len(group) + 1
        if count >= RANK_SPACE:
            raise OverflowError("more than a million events in one millisecond")
        keys = [base + (i + 1) * RANK_SPACE // (count + 1) for i in range(count)]
        new_key = keys.pop(position)
        old_keys = [int(row[0]) for row in group]
        rows = [con.execute("SELECT * FROM event WHERE k = ?", (k,)).fetchone() for k in old_keys]
        pending = {
            int(r[0])
            for r in con.execute(
                f"SELECT k FROM unindexed WHERE k IN ({','.join('?' * len(old_keys))})",
                old_keys,
            )
        }
        fts = self.fts
        docs = {}
        for k in old_keys:
            if fts and k not in pending:
                docs[k] = con.execute(
                    "SELECT summary, names, body, tags FROM fts WHERE rowid = ?", (k,)
                ).fetchone()
                con.execute("DELETE FROM fts WHERE rowid = ?", (k,))
            con.execute("DELETE FROM event WHERE k = ?", (k,))
            con.execute("DELETE FROM unindexed WHERE k = ?", (k,))
        for old, k, row in zip(old_keys, keys, rows, strict=True):
            con.execute(
                "INSERT INTO event VALUES (" + ",".join("?" * len(row)) + ")", (k, *row[1:])
            )
            doc = docs.get(old)
            if doc is not None:
                con.execute(
                    "INSERT INTO fts(rowid, summary, names, body, tags) VALUES (?, ?, ?, ?, ?)",
                    (k, *doc),
                )
            else:
                con.execute("INSERT INTO unindexed(k) VALUES (?)", (k,))
        return new_key

    # ------------------------------------------------------------------ full-text index

    def unindexed_count(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM unindexed").fetchone()[0])

    def index_pending(self, names: Mapping[str, str]) -> int:
        """Build the documents of every event not yet indexed; returns how many.

        ``names`` (id -> display name) adds the names of each event's user, lead and
        object. One transaction per batch: interrupted, the rest stays pending.
        """
        if not self.fts:
            return 0
        done = 0
        con = self.con
        while True:
            with self.transaction():
                # CROSS JOIN: read the (usually empty) pending list and look events up,
                # never the other way round (the planner, without statistics, once chose
                # to scan a million events to find none pending: 1.5 s per sync).
                rows = con.execute(
                    "SELECT e.k, e.raw, e.lead, e.usr, e.otype, e.obj, e.act, e.req "
                    "FROM unindexed AS u CROSS JOIN event AS e ON e.k = u.k "
                    "ORDER BY u.k LIMIT ?",
                    (_INDEX_BATCH,),
                ).fetchall()
                if not rows:
                    # Pending keys without an event cannot happen; drop any anyway.
                    con.execute("DELETE FROM unindexed")
                    return done
                for k, raw, *values in rows:
                    event = Event.model_validate(jsonnum.loads(raw))
                    tags = tags_text(dict(zip(_TAG_COLUMNS, values, strict=True)))
                    con.execute(
                        "INSERT INTO fts(rowid, summary, names, body, tags) VALUES (?, ?, ?, ?, ?)",
                        (k, *document(event, names), tags),
                    )
                con.executemany("DELETE FROM unindexed WHERE k = ?", [(r[0],) for r in rows])
                done += len(rows)

    # ------------------------------------------------------------------ names

    def names(self) -> dict[str, str]:
        return {str(i): str(n) for i, n in self.con.execute("SELECT id, name FROM name")}

    def save_names(self, names: Mapping[str, str]) -> None:
        """Remember names (inside a transaction); a name already stored is replaced."""
        self.con.executemany(
            "INSERT INTO name(id, name) VALUES (?, ?) "
            "ON CONFLICT(id) DO UPDATE SET name = excluded.name",
            list(names.items()),
        )

    # ------------------------------------------------------------------ coverage

    def coverage(self) -> list[tuple[int, int]]:
        """Disjoint covered ranges (microseconds, inclusive), oldest first."""
        rows = self.con.execute("SELECT lo, hi FROM coverage ORDER BY lo").fetchall()
        return [(int(lo), int(hi)) for lo, hi in rows]

    def add_coverage(self, lo_us: int, hi_us: int) -> None:
        """Record that every event with ``date_updated`` in ``[lo_us, hi_us]`` has been
        fetched (inside the transaction that stored them). Ranges that touch merge."""
        if hi_us < lo_us:
            return
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted([*self.coverage(), (lo_us, hi_us)]):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        self.con.execute("DELETE FROM coverage")
        self.con.executemany("INSERT INTO coverage(lo, hi) VALUES (?, ?)", merged)

    def holes(self, lo_us: int, hi_us: int) -> list[tuple[int, int]]:
        """The parts of ``[lo_us, hi_us]`` no coverage range holds, oldest first."""
        holes: list[tuple[int, int]] = []
        cursor = lo_us
        for lo, hi in self.coverage():
            if hi < cursor:
                continue
            if lo > hi_us:
                break
            if lo > cursor:
                holes.append((cursor, lo - 1))
            cursor = max(cursor, hi + 1)
        if cursor <= hi_us:
            holes.append((cursor, hi_us))
        return holes

    def newest_us(self) -> int | None:
        row = self.con.execute("SELECT updated FROM event ORDER BY k LIMIT 1").fetchone()
        return None if row is None else int(row[0])

    def oldest_us(self) -> int | None:
        row = self.con.execute("SELECT updated FROM event ORDER BY k DESC LIMIT 1").fetchone()
        return None if row is None else int(row[0])

    # ------------------------------------------------------------------ sync log

    def begin_run(self, started: datetime) -> int:
        with self.transaction():
            cursor = self.con.execute(
                "INSERT INTO sync_run(started, status) VALUES (?, 'running')",
                (started.isoformat(timespec="seconds"),),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def update_run(self, run: int, **values: object) -> None:
        allowed = {"finished", "status", "server_time", "events", "requests", "detail"}
        if not set(values) <= allowed:
            raise ValueError(f"unknown sync_run columns: {set(values) - allowed}")
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self.transaction():
            self.con.execute(
                f"UPDATE sync_run SET {assignments} WHERE n = ?", (*values.values(), run)
            )

    def runs(self) -> list[SyncRun]:
        rows = self.con.execute(
            "SELECT started, finished, status, server_time, events, requests, detail "
            "FROM sync_run ORDER BY n"
        ).fetchall()
        return [SyncRun(*row) for row in rows]

    def tidy(self) -> None:
        """After a sync: fold the write-ahead log into the file (so the size on disk is
        the archive's, and a copied file is complete) and refresh the planner's stats."""
        self.con.execute("PRAGMA optimize")
        self.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # ------------------------------------------------------------------ reading

    def get_raw(self, event_id: str) -> str | None:
        row = self.con.execute("SELECT raw FROM event WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else str(row[0])

    def count(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM event").fetchone()[0])

    def iter_raw(self, *, newest_first: bool = False, batch: int = 1000) -> Iterator[str]:
        """Every stored event's JSON in date order, read in keyset batches (no long
        read transaction, flat memory)."""
        order = "ASC" if newest_first else "DESC"
        compare = ">" if newest_first else "<"
        last: int | None = None
        while True:
            if last is None:
                rows = self.con.execute(
                    f"SELECT k, raw FROM event ORDER BY k {order} LIMIT ?", (batch,)
                ).fetchall()
            else:
                rows = self.con.execute(
                    f"SELECT k, raw FROM event WHERE k {compare} ? ORDER BY k {order} LIMIT ?",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            for _, raw in rows:
                yield str(raw)
            last = int(rows[-1][0])

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += os.stat(str(self.path) + suffix).st_size
        return total

    def status(self, now: datetime, history: timedelta) -> ArchiveStatus:
        """What is stored, what is covered, and where events may be missing."""
        con = self.con
        runs = self.runs()
        ok = [r for r in runs if r.status == "ok"]
        covered = self.coverage()
        gaps: list[Gap] = []
        if covered:
            reachable = to_us(now - history)
            # Holes between covered ranges, and after the last one the part that is
            # already past the API's reach (the rest is just "since the last sync").
            top = max(covered[-1][1], min(to_us(now), reachable - 1))
            for lo, hi in self.holes(covered[0][0], top):
                if hi < reachable:
                    gaps.append(Gap(lo, hi, lost=True))
                elif lo >= reachable:
                    gaps.append(Gap(lo, hi, lost=False))
                else:
                    gaps.append(Gap(lo, reachable - 1, lost=True))
                    gaps.append(Gap(reachable, hi, lost=False))
        oldest, newest = self.oldest_us(), self.newest_us()
        # A literal, so the partial index event_hidden (WHERE payload != 3) answers it.
        assert _PAYLOAD_DATA | _PAYLOAD_PREVIOUS == 3
        hidden = con.execute("SELECT count(*) FROM event WHERE payload != 3").fetchone()[0]
        return ArchiveStatus(
            path=self.path,
            organization_id=self.organization_id,
            organization_name=self.organization_name,
            events=self.count(),
            oldest=None if oldest is None else from_us(oldest),
            newest=None if newest is None else from_us(newest),
            size_bytes=self.size_bytes(),
            last_sync=ok[-1] if ok else None,
            last_attempt=runs[-1] if runs else None,
            coverage=tuple((from_us(lo), from_us(hi)) for lo, hi in covered),
            gaps=tuple(gaps),
            hidden_payloads=int(hidden),
            unindexed=self.unindexed_count(),
            fts=self.fts,
        )
