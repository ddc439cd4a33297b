"""The combination rules: the docs' table held literally, plus properties."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from close_tui.core import filters
from close_tui.core.filters import (
    DOCUMENTED_COMBINATIONS,
    FILTER_FIELDS,
    SUPPORTED_COMBINATIONS,
    EventFilter,
    UnsupportedFilter,
    can_add,
    completions,
    is_supported,
    nearest_supported,
    unsupported_message,
    why_disabled,
)

# close-event-api.md §1, copied literally (same order as the docs).
DOCS_TABLE = """
1. object_type + object_id
2. object_type + action
3. object_id + action
4. lead_id + object_type
5. lead_id + object_type + action
6. lead_id + user_id + object_type
7. lead_id + user_id + object_type + action
8. lead_id + user_id
9. user_id + object_id
10. user_id + object_id + action
11. user_id + object_type
12. user_id + object_type + action
13. lead_id
14. user_id
15. request_id
"""


def _docs_rows() -> list[frozenset[str]]:
    rows = []
    for line in DOCS_TABLE.strip().splitlines():
        _, _, combo = line.partition(". ")
        rows.append(frozenset(part.strip() for part in combo.split("+")))
    return rows


def test_documented_table_is_the_docs_table_in_order() -> None:
    assert list(DOCUMENTED_COMBINATIONS) == _docs_rows()


def test_supported_is_docs_plus_no_filter() -> None:
    assert set(SUPPORTED_COMBINATIONS) == set(_docs_rows()) | {frozenset()}
    assert len(SUPPORTED_COMBINATIONS) == 16


@pytest.mark.parametrize("combo", _docs_rows(), ids=lambda c: "+".join(sorted(c)))
def test_each_documented_combination_is_supported(combo: frozenset[str]) -> None:
    assert is_supported(combo)
    assert completions(combo) == [frozenset()]


@pytest.mark.parametrize(
    "combo",
    [
        {"object_type"},
        {"object_id"},
        {"action"},
        {"lead_id", "object_id"},
        {"lead_id", "action"},
        {"request_id", "lead_id"},
        {"user_id", "action"},
        {"object_type", "object_id", "action"},
        {"lead_id", "user_id", "object_id"},
        set(FILTER_FIELDS),
    ],
)
def test_undocumented_combinations_are_refused(combo: set[str]) -> None:
    assert not is_supported(combo)
    with pytest.raises(UnsupportedFilter):
        EventFilter(**{f: "x" for f in combo}).validate()


def test_completions_name_smallest_additions() -> None:
    assert completions({"action"}) == [frozenset({"object_type"}), frozenset({"object_id"})]
    assert completions({"object_type"}) == [
        frozenset({"lead_id"}),
        frozenset({"user_id"}),
        frozenset({"object_id"}),
        frozenset({"action"}),
    ]
    assert completions({"request_id", "lead_id"}) == []


def test_request_id_stands_alone() -> None:
    for other in FILTER_FIELDS:
        if other != "request_id":
            assert not can_add({"request_id"}, other)
            reason = why_disabled({"request_id"}, other)
            assert reason == f"{other} cannot be combined with request_id"
    assert why_disabled(set(), "request_id") is None


def test_why_disabled_names_whole_set_when_only_the_triple_clashes() -> None:
    # lead_id+action is fine as a step towards lead_id+object_type+action, and so is
    # object_id+action; but lead_id+object_id is never allowed.
    assert why_disabled({"lead_id", "action"}, "object_id") == (
        "object_id cannot be combined with lead_id"
    )
    assert not can_add({"object_id", "object_type"}, "action")
    assert why_disabled({"object_id", "object_type"}, "action") == (
        "action cannot be combined with object_type + object_id"
    )


def test_unsupported_message_names_supported_sets() -> None:
    msg = unsupported_message({"action"})
    assert "add object_type" in msg and "add object_id" in msg
    msg = unsupported_message({"request_id", "lead_id"})
    assert "nearest supported" in msg
    assert "request_id" in msg and "lead_id" in msg


def test_event_filter_params_send_naive_utc_dates() -> None:
    flt = EventFilter(
        lead_id="lead_1",
        date_updated__gte=datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
        date_updated__lt=datetime.fromisoformat("2026-11-02T01:00:00+01:00"),
    )
    assert flt.to_params() == {
        "lead_id": "lead_1",
        "date_updated__gte": "2026-11-01T12:00:00.000000",
        "date_updated__lt": "2026-11-02T00:00:00.000000",
    }
    assert EventFilter.from_params(flt.to_params()) == flt


def test_date_range_is_orthogonal() -> None:
    flt = EventFilter(date_updated__gte=datetime(2026, 11, 1, tzinfo=UTC))
    assert flt.field_names == frozenset()
    assert flt.validate() is flt


field_sets = st.sets(st.sampled_from(FILTER_FIELDS))


@given(field_sets)
def test_supported_iff_completion_is_empty(combo: set[str]) -> None:
    assert is_supported(combo) == (completions(combo) == [frozenset()])


@given(field_sets, st.sampled_from(FILTER_FIELDS))
def test_can_add_iff_some_supported_superset(combo: set[str], field: str) -> None:
    expected = any((combo | {field}) <= c for c in SUPPORTED_COMBINATIONS)
    assert can_add(combo, field) == expected
    assert (why_disabled(combo, field) is None) == expected


@given(field_sets)
def test_completions_reach_supported_sets_minimally(combo: set[str]) -> None:
    adds = completions(combo)
    for add in adds:
        assert is_supported(combo | add)
        assert not (add & combo)
    if adds:
        smallest = min(len(c - combo) for c in SUPPORTED_COMBINATIONS if combo <= c)
        assert all(len(a) == smallest for a in adds)
    else:
        assert not any(combo <= c for c in SUPPORTED_COMBINATIONS)


@given(field_sets)
def test_every_partial_supported_path_can_be_built_field_by_field(combo: set[str]) -> None:
    """The form adds fields one at a time: every supported set must be reachable."""
    if not is_supported(combo):
        return
    built: set[str] = set()
    for field in FILTER_FIELDS:
        if field in combo:
            assert can_add(built, field)
            built.add(field)
    assert built == combo


@given(field_sets)
def test_messages_never_raise_and_nearest_are_supported(combo: set[str]) -> None:
    assert isinstance(unsupported_message(combo), str)
    for near in nearest_supported(combo):
        assert is_supported(near)
    assert filters.describe(combo)
