"""The archive file itself: upsert rules, order keys, coverage, exact JSON, file modes."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from close_tui.core import jsonnum
from close_tui.core.archive import schema
from close_tui.core.archive.errors import ArchiveMissing, ArchiveUnreadable, SearchUnavailable
from close_tui.core.archive.paths import default_archive_path, profile_filename
from close_tui.core.archive.query import ArchiveFilter, read_page
from close_tui.core.archive.store import ArchiveStore, encode, to_us
from close_tui.core.dates import to_api_datetime
from close_tui.core.models import Event

T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


def make_event(
    event_id: str,
    when: datetime,
    *,
    payload: bool = True,
    note: str = "call back tomorrow",
    **fields: Any,
) -> Event:
    raw: dict[str, Any] = {
        "id": event_id,
        "date_created": to_api_datetime(when - timedelta(seconds=1)),
        "date_updated": to_api_datetime(when),
        "organization_id": "orga_test",
        "user_id": "user_alice",
        "request_id": "req_" + event_id[3:],
        "api_key_id": None,
        "object_type": "activity.note",
        "object_id": "acti_" + event_id[3:],
        "lead_id": "lead_acme",
        "action": "updated",
        "changed_fields": ["note"],
        "meta": {"request_method": "PUT"},
    }
    raw.update(fields)
    if payload:
        raw["data"] = {"note": note}
        raw["previous_data"] = {"note": "old"}
    return Event.model_validate(raw)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ArchiveStore]:
    with ArchiveStore(tmp_path / "a.sqlite3", create=True) as opened:
        yield opened


def page_ids(store: ArchiveStore, flt: ArchiveFilter | None = None, limit: int = 1000) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = read_page(store, flt or ArchiveFilter(), cursor, limit)
        ids += [jsonnum.loads(raw)["id"] for raw in page.raws]
        cursor = page.cursor
        if not page.more:
            return ids


def put(store: ArchiveStore, *events: Event) -> None:
    with store.transaction():
        store.upsert(events)
    store.index_pending({})


# ---------------------------------------------------------------------------- upsert


def test_a_newer_form_replaces_and_an_older_one_is_ignored(store: ArchiveStore) -> None:
    put(store, make_event("ev_a", T0, note="first"))
    put(store, make_event("ev_a", T0 + timedelta(seconds=30), note="consolidated"))
    put(store, make_event("ev_a", T0, note="first"))  # the old form, met again late
    assert store.count() == 1
    raw = jsonnum.loads(store.get_raw("ev_a") or "")
    assert raw["data"] == {"note": "consolidated"}
    assert page_ids(store, ArchiveFilter(search="consolidated")) == ["ev_a"]
    assert page_ids(store, ArchiveFilter(search="first")) == []


def test_the_same_version_keeps_its_payload_and_gains_one_never_invents(
    store: ArchiveStore,
) -> None:
    put(store, make_event("ev_a", T0, payload=False), make_event("ev_b", T0, note="kept"))
    # A non-admin key sees ev_b again after its first hour: no payload; keep the one we had.
    # An admin key brings ev_a's payload for the same version: the fuller form wins.
    put(store, make_event("ev_a", T0, note="filled"), make_event("ev_b", T0, payload=False))
    a = jsonnum.loads(store.get_raw("ev_a") or "")
    b = jsonnum.loads(store.get_raw("ev_b") or "")
    assert a["data"] == {"note": "filled"}
    assert b["data"] == {"note": "kept"}
    # A newer version seen without payload is stored without: the old payload is not its.
    put(store, make_event("ev_b", T0 + timedelta(minutes=1), payload=False))
    b = jsonnum.loads(store.get_raw("ev_b") or "")
    assert "data" not in b and "previous_data" not in b
    assert page_ids(store, ArchiveFilter(search="kept")) == []


def test_raw_json_is_kept_exactly_numbers_included(store: ArchiveStore) -> None:
    raw = make_event("ev_n", T0).to_api() | {
        "data": {"huge": Decimal("1E+400"), "tiny": Decimal("1E-400"), "n": 10**40},
        "future_field": {"ünïcode": "✓"},
    }
    event = Event.model_validate(raw)
    put(store, event)
    text = store.get_raw("ev_n")
    assert text == encode(raw)
    assert '"huge":1E+400' in (text or "") and '"ünïcode":"✓"' in (text or "")
    assert jsonnum.loads(text or "") == raw


# ---------------------------------------------------------------------------- order keys


def test_events_of_one_millisecond_are_ordered_by_id_whatever_the_arrival_order(
    store: ArchiveStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    respreads: list[int] = []
    original = ArchiveStore._respread

    def counting(self: ArchiveStore, *args: Any) -> int:
        respreads.append(1)
        return original(self, *args)

    monkeypatch.setattr(ArchiveStore, "_respread", counting)
    # 60 events in the same millisecond, each arriving as the newest so far: the free
    # slots between neighbours run out and the keys are spread out again, repeatedly.
    ids = [f"ev_{i:03d}" for i in range(60)]
    for event_id in ids:
        put(store, make_event(event_id, T0, note=f"word{event_id[3:]}"))
    assert len(respreads) >= 2
    later = [make_event(f"ev_z{i:02d}", T0 + timedelta(microseconds=1)) for i in range(3)]
    put(store, *reversed(later))
    expected = sorted([*ids, *(e.id for e in later)], key=lambda i: (i.startswith("ev_z"), i))
    assert page_ids(store) == list(reversed(expected))
    assert page_ids(store, limit=7) == list(reversed(expected))
    # Documents moved with their events: each word finds its own event.
    for event_id in ("ev_000", "ev_031", "ev_059"):
        assert page_ids(store, ArchiveFilter(search=f"word{event_id[3:]}")) == [event_id]


def test_keyset_paging_neither_repeats_nor_skips_while_events_arrive(store: ArchiveStore) -> None:
    put(store, *(make_event(f"ev_{i:03d}", T0 - timedelta(seconds=i)) for i in range(100)))
    first = read_page(store, ArchiveFilter(), None, 30)
    # Meanwhile: newer events, more in the cursor's millisecond (keys respread), and the
    # cursor's own event consolidated away.
    last_id = jsonnum.loads(first.raws[-1])["id"]
    cursor_time = T0 - timedelta(seconds=29)
    put(store, *(make_event(f"ev_new{i}", T0 + timedelta(seconds=i)) for i in range(5)))
    put(store, *(make_event(f"ev_{i:03d}x", cursor_time) for i in range(40)))
    put(store, make_event(last_id, T0 + timedelta(hours=1)))
    rest = page_ids_from(store, first)
    seen = [jsonnum.loads(r)["id"] for r in first.raws]
    assert not set(seen) & set(rest)
    older = [f"ev_{i:03d}" for i in range(30, 100)]
    assert [i for i in rest if not i.endswith("x")] == older
    # Events of the cursor's millisecond with a smaller id than the cursor come later.
    assert {i for i in rest if i.endswith("x")} == {
        f"ev_{i:03d}x" for i in range(40) if f"ev_{i:03d}x" < last_id
    }


def page_ids_from(store: ArchiveStore, first: Any) -> list[str]:
    ids: list[str] = []
    cursor = first.cursor
    while True:
        page = read_page(store, ArchiveFilter(), cursor, 25)
        ids += [jsonnum.loads(raw)["id"] for raw in page.raws]
        cursor = page.cursor
        if not page.more:
            return ids


# ---------------------------------------------------------------------------- coverage


def test_coverage_merges_and_holes_are_what_is_left(store: ArchiveStore) -> None:
    with store.transaction():
        store.add_coverage(100, 200)
        store.add_coverage(300, 400)
        store.add_coverage(201, 250)  # touches the first range: merged
    assert store.coverage() == [(100, 250), (300, 400)]
    assert store.holes(0, 500) == [(0, 99), (251, 299), (401, 500)]
    assert store.holes(120, 380) == [(251, 299)]
    with store.transaction():
        store.add_coverage(240, 310)
    assert store.coverage() == [(100, 400)]


def test_status_reports_gaps_older_than_the_api_reach_as_lost(store: ArchiveStore) -> None:
    day = timedelta(days=1)
    now = T0
    with store.transaction():
        store.add_coverage(to_us(now - 100 * day), to_us(now - 60 * day))
        store.add_coverage(to_us(now - 20 * day), to_us(now - 10 * day))
    status = store.status(now, timedelta(days=30))
    gaps = [(g.lo, g.hi, g.lost) for g in status.gaps]
    reach = now - timedelta(days=30)
    one = timedelta(microseconds=1)
    assert gaps == [
        (now - 60 * day + one, reach - one, True),  # no sync for 40 days: lost
        (reach, now - 20 * day - one, False),  # still within the API's 30 days
    ]


# ---------------------------------------------------------------------------- the file


def test_the_file_and_its_journal_are_private(tmp_path: Path) -> None:
    os.umask(0o022)
    path = tmp_path / "deep" / "a.sqlite3"
    with ArchiveStore(path, create=True) as opened:
        put(opened, make_event("ev_a", T0))
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        for file in files:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_profile_names_cannot_escape_the_archive_directory() -> None:
    assert profile_filename("work") == "work.sqlite3"
    assert profile_filename(None) == "default.sqlite3"
    for hostile in ("../x", "a/b", "..", "\x1b[2J"):
        name = profile_filename(hostile)
        assert "/" not in name and name not in (".sqlite3", "..sqlite3")
    assert default_archive_path("../x").parent.name == "archive"


def test_a_missing_archive_and_a_foreign_file_are_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ArchiveMissing, match="run `close-tui archive sync` first"):
        ArchiveStore(tmp_path / "none.sqlite3")
    assert not (tmp_path / "none.sqlite3").exists()  # a reader creates nothing
    other = tmp_path / "other.sqlite3"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE people(name)")
    con.commit()
    con.close()
    with pytest.raises(ArchiveUnreadable, match="not a readable close-tui archive"):
        ArchiveStore(other, create=True)
    text = tmp_path / "text.sqlite3"
    text.write_text("hello, I am not a database " * 100)
    with pytest.raises(ArchiveUnreadable):
        ArchiveStore(text)


def test_without_fts5_filters_work_and_search_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.sqlite3"
    monkeypatch.setattr(schema, "_fts5_available", False)
    with ArchiveStore(path, create=True) as opened:
        assert not opened.fts
        put(opened, make_event("ev_a", T0, note="pricing"))
        assert page_ids(opened, ArchiveFilter(action="updated")) == ["ev_a"]
        with pytest.raises(SearchUnavailable, match="FTS5"):
            read_page(opened, ArchiveFilter(search="pricing"))
        assert opened.unindexed_count() == 1  # kept pending for a Python that has FTS5
    monkeypatch.setattr(schema, "_fts5_available", True)
    with ArchiveStore(path, readonly=True) as reader, pytest.raises(
        SearchUnavailable, match="no full-text index yet: run `close-tui archive sync`"
    ):
        read_page(reader, ArchiveFilter(search="pricing"))
    with ArchiveStore(path, create=True) as opened:  # what a sync opens
        assert opened.fts
        assert opened.index_pending({}) == 1
        assert page_ids(opened, ArchiveFilter(search="pricing")) == ["ev_a"]
