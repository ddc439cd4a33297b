"""Any filter combination, date ranges and full-text search from the archive, checked
against a naive scan of the emulator's truth (``archive_support.reference``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from close_tui.core import jsonnum
from close_tui.core.archive.query import ArchiveFilter, archive_filter, read_page
from close_tui.core.archive.source import ArchiveSource
from close_tui.core.archive.store import ArchiveStore
from close_tui.core.archive.text import SearchSyntaxError, fts_query
from close_tui.core.dates import parse_api_datetime
from close_tui.core.errors import NotFound
from close_tui.core.filters import FILTER_FIELDS, EventFilter, UnsupportedFilter, is_supported
from close_tui.core.models import Event
from close_tui.core.names import NameDirectory
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from tests.unit.archive_support import order_key, reference

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)

Json = dict[str, Any]


class World:
    def __init__(self, em: Emulator, store: ArchiveStore, names: dict[str, str]) -> None:
        self.em = em
        self.store = store
        self.names = names
        self.events: list[Json] = em.events()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    em = Emulator(EmulatorConfig(n_leads=40, n_users=6), clock=FakeClock(NOW))
    events = [Event.model_validate(e) for e in em.events()]
    directory = NameDirectory(client=None)  # type: ignore[arg-type]  # learn() only
    directory.learn(events)
    names = {u["id"]: f"{u['first_name']} {u['last_name']}" for u in em.users}
    names.update(directory.names())
    path = tmp_path_factory.mktemp("archive") / "a.sqlite3"
    with ArchiveStore(path, create=True) as store:
        with store.transaction():
            store.upsert(events)
        store.index_pending(names)
        yield World(em, store, names)


def all_ids(store: ArchiveStore, flt: EventFilter, limit: int = 17) -> list[str]:
    """Every page of ``flt`` (a small page size, so keyset paging is exercised)."""
    ids: list[str] = []
    cursor = None
    for _ in range(10_000):
        page = read_page(store, flt, cursor, limit)
        ids += [jsonnum.loads(raw)["id"] for raw in page.raws]
        cursor = page.cursor
        if not page.more:
            return ids
    raise AssertionError("paging never ended")


def samples(world: World) -> list[Json]:
    """Events whose fields make interesting filters: a note update by a user on a lead,
    a lead deletion, and an event without a user."""
    events = world.events
    note = next(
        e for e in events
        if e["object_type"] == "activity.note" and e["action"] == "updated" and e["user_id"]
    )
    deleted = next(e for e in events if e["action"] == "deleted" and e["lead_id"])
    system = next(e for e in events if e["user_id"] is None)
    return [note, deleted, system]


def test_every_combination_of_the_filters_equals_the_truth(world: World) -> None:
    """All 64 subsets of the six fields (49 of them refused by the API), with and without
    a date range, on three events' values: the archive answers each like a plain scan."""
    unsupported = checked = 0
    middle = NOW - timedelta(days=15)
    for sample in samples(world):
        for size in range(len(FILTER_FIELDS) + 1):
            for combo in itertools.combinations(FILTER_FIELDS, size):
                values = {f: sample[f] for f in combo if sample[f] is not None}
                if len(values) < len(combo):
                    continue
                for dates in ({}, {"date_updated__gte": middle - timedelta(days=9),
                                   "date_updated__lt": middle}):
                    flt = ArchiveFilter(**values, **dates)  # type: ignore[arg-type]
                    assert all_ids(world.store, flt) == reference(world.events, flt), flt
                    checked += 1
                unsupported += not is_supported(values)
    assert checked > 200 and unsupported > 80


def test_values_no_event_has_and_empty_ranges_give_nothing(world: World) -> None:
    user = world.em.users[1]["id"]
    assert all_ids(world.store, ArchiveFilter(lead_id="lead_nobody")) == []
    assert all_ids(world.store, ArchiveFilter(user_id=user, action="no-such-action")) == []
    backwards = ArchiveFilter(date_updated__gte=NOW, date_updated__lt=NOW - timedelta(days=1))
    assert all_ids(world.store, backwards) == []
    assert read_page(world.store, ArchiveFilter(request_id="req_nothing")).raws == []


def test_supported_combinations_equal_the_emulator_expected(world: World) -> None:
    note = samples(world)[0]
    for params in ({}, {"lead_id": note["lead_id"]}, {"user_id": note["user_id"]},
                   {"object_type": note["object_type"], "action": "updated"},
                   {"date_updated__gte": "2026-11-10", "date_updated__lt": "2026-11-12"}):
        expected = sorted(world.em.expected(params), key=order_key, reverse=True)
        flt = EventFilter.from_params(params)
        assert all_ids(world.store, flt, limit=50) == [e["id"] for e in expected], params


def test_pages_come_from_the_index_made_for_the_combination(world: World) -> None:
    note = samples(world)[0]
    cases = {
        "event_act": ArchiveFilter(action="deleted"),
        "event_usr_act": ArchiveFilter(user_id=note["user_id"], action="deleted"),
        "event_usr_otype_act": ArchiveFilter(
            user_id=note["user_id"], object_type="lead", action="deleted"
        ),
        "event_lead": ArchiveFilter(lead_id=note["lead_id"], action="deleted"),
        "event_req": ArchiveFilter(request_id=note["request_id"], lead_id=note["lead_id"]),
        "table": ArchiveFilter(date_updated__gte=NOW - timedelta(days=2)),
    }
    for plan, flt in cases.items():
        assert read_page(world.store, flt).plan == plan


# ---------------------------------------------------------------------------- search


SEARCHES = ("questionnaire", '"security questionnaire"', "question*", "DocuSign legal")


def test_search_equals_a_scan_of_the_documents(world: World) -> None:
    for search in SEARCHES:
        flt = ArchiveFilter(search=search)
        expected = reference(world.events, flt, world.names)
        assert expected, f"the test data has no match for {search!r}"
        assert all_ids(world.store, flt) == expected, search


def test_search_finds_events_by_the_names_of_their_user_and_lead(world: World) -> None:
    user = world.em.users[2]
    last_name = user["last_name"]
    flt = ArchiveFilter(search=last_name)
    ids = all_ids(world.store, flt)
    assert ids == reference(world.events, flt, world.names)
    by_user = {e["id"] for e in world.events if e["user_id"] == user["id"]}
    assert by_user <= set(ids)  # named in no payload of theirs, found by the name


def test_search_with_any_filters_equals_the_scan(world: World) -> None:
    """Words with filters are one FTS5 query (the filters as tag tokens): common words
    with rare filters, rare words with common filters, requests and a date range."""
    note, deleted, _ = samples(world)
    middle = NOW - timedelta(days=15)
    for filters in (
        {"user_id": note["user_id"]},
        {"lead_id": note["lead_id"]},
        {"action": "updated", "object_type": "activity.note"},
        {"action": "deleted"},
        {"action": "merged"},
        {"request_id": note["request_id"]},
        {"object_id": deleted["object_id"], "lead_id": deleted["lead_id"]},
        {"user_id": note["user_id"], "date_updated__gte": middle - timedelta(days=5),
         "date_updated__lt": middle},
    ):
        for search in (*SEARCHES, "call", "the"):
            flt = ArchiveFilter(**filters, search=search)  # type: ignore[arg-type]
            assert read_page(world.store, flt).plan == "fts"
            assert all_ids(world.store, flt) == reference(world.events, flt, world.names), flt


def test_filter_tags_never_match_what_a_person_types(world: World) -> None:
    note = samples(world)[0]
    n = world.store.find_term(note["action"])
    assert n is not None
    assert all_ids(world.store, ArchiveFilter(search=f"a{n}")) == []
    assert read_page(world.store, ArchiveFilter(search=f"a{n}", action=note["action"])).raws == []


def test_a_search_is_never_read_as_fts_syntax() -> None:
    assert fts_query('acme AND -x OR "a b"* NEAR(c) col:"d"') == (
        '"acme" AND "and" AND "x" AND "or" AND "a b"* AND "near c" AND "col d"'
    )
    assert fts_query("e-mail lead_abc") == '"e mail" AND "lead abc"'
    with pytest.raises(SearchSyntaxError, match="nothing to search for"):
        fts_query('  ** "" - ()  ')


def test_a_search_never_goes_to_the_api() -> None:
    with pytest.raises(UnsupportedFilter, match="only by the local archive"):
        ArchiveFilter(lead_id="lead_x", search="acme").validate()
    # The API path still refuses what it always refused; the archive takes it.
    with pytest.raises(UnsupportedFilter):
        ArchiveFilter(action="deleted").validate()
    flt = archive_filter(EventFilter(lead_id="lead_x"), search="acme")
    assert flt.to_params() == {"lead_id": "lead_x", "search": "acme"}
    assert ArchiveFilter.from_params(flt.to_params()) == flt
    assert flt.without_search() == EventFilter(lead_id="lead_x")
    assert flt.replace(action="deleted").search == "acme"


# ---------------------------------------------------------------------------- source


async def test_the_source_pages_like_the_api_pager_and_gets_events(
    world: World,
) -> None:
    note = samples(world)[0]
    flt = EventFilter(user_id=note["user_id"], action="updated")  # refused by the API
    async with ArchiveSource(world.store.path) as source:
        pager = source.pager(flt)
        got: list[str] = []
        while not pager.exhausted:
            page = await pager.next_page()
            assert len(page) <= 50
            got += [e.id for e in page]
        assert got == reference(world.events, flt)
        assert await pager.next_page() == []
        event = await source.get_event(note["id"])
        assert event.to_api() == note
        with pytest.raises(NotFound):
            await source.get_event("ev_absent")
        status = await source.status(NOW)
        assert status.events == len(world.events)
        with pytest.raises(SearchSyntaxError):  # at once, like an unsupported API filter
            source.pager(ArchiveFilter(search="--"))


def test_dates_keep_microsecond_bounds(world: World) -> None:
    event = samples(world)[0]
    when = parse_api_datetime(event["date_updated"])
    one = timedelta(microseconds=1)
    on = ArchiveFilter(date_updated__gte=when, date_updated__lte=when)
    assert event["id"] in all_ids(world.store, on)
    assert event["id"] not in all_ids(world.store, ArchiveFilter(date_updated__gt=when))
    assert event["id"] not in all_ids(world.store, ArchiveFilter(date_updated__lt=when))
    assert event["id"] in all_ids(world.store, ArchiveFilter(date_updated__gt=when - one))
