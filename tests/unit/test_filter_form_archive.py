"""The form's rules on the archive (``evaluate(any_combination=True)``): every set of
fields is a filter, nothing is disabled for the API's table, the hint says "archive", and
a search makes the filter an ``ArchiveFilter``. The API's form is unchanged."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from close_tui.core.archive.query import ArchiveFilter
from close_tui.core.filters import FILTER_FIELDS, EventFilter, is_supported
from close_tui.ui.widgets.filter_form import evaluate

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
USER = "user_" + "a" * 43
LEAD = "lead_" + "b" * 43
#: A valid value for each field (object_type and object_id agree: a note).
VALUES = {
    "lead_id": LEAD,
    "user_id": USER,
    "request_id": "req_" + "c" * 22,
    "object_type": "activity.note",
    "object_id": "acti_" + "d" * 43,
    "action": "deleted",
}


def test_an_action_alone_is_a_filter_on_the_archive_and_refused_by_the_api() -> None:
    api = evaluate({"action": "deleted"}, now=NOW, local_tz=UTC)
    assert api.filter is None and api.hint_level in ("warning", "error")
    state = evaluate({"action": "deleted"}, now=NOW, local_tz=UTC, any_combination=True)
    assert state.filter == EventFilter(action="deleted")
    assert state.hint_level == "ok"
    assert state.hint.startswith("✓ archive (any combination) · action")


def test_user_and_action_make_a_filter_and_disable_nothing() -> None:
    values = {"user_id": USER, "action": "deleted"}
    assert not is_supported(values)  # the API refuses this pair
    api = evaluate(values, now=NOW, local_tz=UTC)
    assert api.filter is None
    state = evaluate(values, now=NOW, local_tz=UTC, any_combination=True)
    assert state.filter == EventFilter(user_id=USER, action="deleted")
    assert state.disabled == set()


@pytest.mark.parametrize(
    "fields",
    [c for n in range(len(FILTER_FIELDS) + 1) for c in itertools.combinations(FILTER_FIELDS, n)],
)
def test_every_combination_of_the_six_fields_is_a_filter(fields: tuple[str, ...]) -> None:
    values = {name: VALUES[name] for name in fields}
    state = evaluate(values, now=NOW, local_tz=UTC, any_combination=True)
    assert state.filter == EventFilter(**values)  # type: ignore[arg-type]
    assert state.disabled == set(), state.reasons
    assert "archive" in state.hint


def test_no_filter_says_all_events_of_the_archive() -> None:
    state = evaluate({}, now=NOW, local_tz=UTC, any_combination=True)
    assert state.filter == EventFilter()
    assert state.hint == "✓ archive (any combination) · all events · Enter applies"


def test_a_search_makes_an_archive_filter_with_the_other_fields_and_dates() -> None:
    state = evaluate(
        {"action": "deleted", "since": "3d", "search": '  "call back" acme*  '},
        now=NOW, local_tz=UTC, any_combination=True,
    )
    assert isinstance(state.filter, ArchiveFilter)
    assert state.filter.search == '"call back" acme*'
    assert state.filter.action == "deleted"
    assert state.filter.date_updated__gte == datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
    assert 'search "call back" acme*' in state.hint


def test_a_search_with_no_word_is_refused_under_its_field() -> None:
    state = evaluate({"search": "-- ?"}, now=NOW, local_tz=UTC, any_combination=True)
    assert state.filter is None
    assert state.hint_level == "error" and state.hint.startswith("search: nothing to search")
    assert state.reasons["search"][1] == "error"


def test_the_api_form_ignores_a_search_text() -> None:
    # Only the archive's form has the field: a stray value must not turn an API filter
    # into one the API cannot be sent.
    state = evaluate({"lead_id": LEAD, "search": "acme"}, now=NOW, local_tz=UTC)
    assert state.filter == EventFilter(lead_id=LEAD)
    assert type(state.filter) is EventFilter


def test_invalid_values_still_block_apply_on_the_archive() -> None:
    state = evaluate({"user_id": "lead_x", "action": "deleted"}, now=NOW, local_tz=UTC,
                     any_combination=True)
    assert state.filter is None and state.hint_level == "error"
    state = evaluate({"since": "yesterday-ish"}, now=NOW, local_tz=UTC, any_combination=True)
    assert state.filter is None and state.hint_level == "error"
