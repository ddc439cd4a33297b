"""Event and page models: nothing lost, nothing walked, three kinds of 'no data'."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from close_tui.core.models import Event, EventPage

# A copy of ../shared/data/close-doc-examples.json: Close's own published payloads.
EXAMPLES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "close-doc-examples.json").read_text()
)
DOC_EVENTS = [
    EXAMPLES["event_get_example"],
    EXAMPLES["webhook_opportunity_updated_example"]["event"],
]


@pytest.mark.parametrize("raw", DOC_EVENTS, ids=["get_example", "webhook_example"])
def test_doc_examples_round_trip(raw: dict[str, Any]) -> None:
    event = Event.model_validate(raw)
    assert json.loads(json.dumps(event.to_api())) == raw
    assert event.date_created.utcoffset() is not None  # naive read as UTC
    assert event.date_created.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_unknown_fields_are_kept() -> None:
    raw = dict(DOC_EVENTS[0], brand_new_field={"x": [1, 2]})
    event = Event.model_validate(raw)
    assert event.model_extra == {"brand_new_field": {"x": [1, 2]}}
    assert event.to_api()["brand_new_field"] == {"x": [1, 2]}


def test_data_nested_200_deep_loads() -> None:
    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(200):
        cursor["child"] = {}
        cursor = cursor["child"]
    raw = dict(DOC_EVENTS[0], data=deep)
    event = Event.model_validate(json.loads(json.dumps(raw)))
    assert event.data == deep
    assert json.loads(json.dumps(event.to_api())) == raw


def test_missing_null_and_empty_are_distinguished() -> None:
    base = {k: v for k, v in DOC_EVENTS[0].items() if k not in ("data", "previous_data")}
    missing = Event.model_validate(base)
    assert missing.payload_state("data") == "missing"
    assert "data" not in missing.to_api()
    null = Event.model_validate(dict(base, data=None, previous_data={}))
    assert null.payload_state("data") == "null"
    assert null.payload_state("previous_data") == "empty"
    assert Event.model_validate(DOC_EVENTS[1]).payload_state("previous_data") == "present"


def test_page_cursors_and_end() -> None:
    page = EventPage.model_validate(EXAMPLES["list_response_example"])
    assert page.cursor_next == "cursor2" and page.has_more and page.data == []
    last = EventPage.model_validate({"data": DOC_EVENTS, "cursor_next": None})
    assert not last.has_more and len(last.data) == 2


def test_repr_is_short() -> None:
    raw = dict(DOC_EVENTS[0], data={"note": "x" * 65536})
    event = Event.model_validate(raw)
    assert len(repr(event)) < 200 and len(str(event)) < 200


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(data=json_values, previous=json_values, extra=st.dictionaries(
    st.text(min_size=1, max_size=8).filter(lambda k: k not in Event.model_fields), json_values,
    max_size=3,
))
def test_any_payload_round_trips(data: Any, previous: Any, extra: dict[str, Any]) -> None:
    raw = dict(DOC_EVENTS[0], data=data, previous_data=previous, **extra)
    wire = json.loads(json.dumps(raw))
    event = Event.model_validate(wire)
    assert json.loads(json.dumps(event.to_api())) == wire
