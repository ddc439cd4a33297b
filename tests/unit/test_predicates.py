"""Local predicates: parsing what is typed, matching events on any field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from close_tui.core.models import Event
from close_tui.core.predicates import Predicate, Term, matches_api, parse, resolve, tokenize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "close-doc-examples.json"


def event(**fields: Any) -> Event:
    base: dict[str, Any] = {
        "id": "ev_0000000000000000000001",
        "date_created": "2026-11-20T12:00:00.000000",
        "date_updated": "2026-11-20T12:00:00.000000",
        "object_type": "opportunity",
        "action": "updated",
        "object_id": "oppo_abc",
        "lead_id": "lead_abc",
        "user_id": None,
        "request_id": "req_abc",
        "api_key_id": "api_5bTz",
        "changed_fields": ["status_label", "custom.cf_tier"],
        "data": {"status_label": "Won", "custom.cf_tier": "Gold", "note": "Call  back",
                 "emails": [{"email": "a@x.test"}, {"email": "b@x.test"}], "value": 1200,
                 "active": True},
        "previous_data": {"status_label": "Active"},
        "meta": {"request_method": "PUT", "bulk_action_id": "bulk_1",
                 "merge_source_lead_id": "lead_src"},
    }
    base.update(fields)
    return Event.model_validate(base)


def test_parse_terms_and_free_text() -> None:
    predicate = parse('api_key_id=api_5bTz  data.status_label="Closed Won" changed_fields~status '
                      "user_id!=null hello")
    assert predicate.terms == (
        Term("eq", "api_key_id", "api_5bTz"),
        Term("eq", "data.status_label", "Closed Won"),
        Term("contains", "changed_fields", "status"),
        Term("ne", "user_id", "null"),
        Term("text", "", "hello"),
    )
    assert parse(predicate.describe()) == predicate


def test_things_that_are_not_a_field_are_free_text() -> None:
    assert parse("=x").terms == (Term("text", "", "=x"),)
    assert parse("a b=c=d").terms == (Term("text", "", "a"), Term("eq", "b", "c=d"))
    assert parse("1abc=x").terms == (Term("text", "", "1abc=x"),)
    assert parse("   ") == Predicate()
    assert not parse("")


def test_tokenize_quotes() -> None:
    assert tokenize('a "b c" d="e f"g "unclosed x') == ["a", "b c", "d=e fg", "unclosed x"]
    assert tokenize('""') == [""]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api_key_id=api_5bTz", True),
        ("api_key_id=API_5BTZ", True),  # case-insensitive
        ("api_key_id=api_other", False),
        ("meta.bulk_action_id=bulk_1", True),
        ("meta.merge_source_lead_id=lead_src", True),
        ("meta.merge_destination_lead_id=null", True),  # missing counts as null
        ("meta.merge_destination_lead_id=", True),
        ("data.status_label=Won", True),
        ("data.status_label=won", True),
        ("data.status_label=Lost", False),
        ("data.status_label!=Lost", True),
        ("previous_data.status_label=Active", True),
        ("data.custom.cf_tier=Gold", True),  # a dotted key is one key
        ("data.emails.email=b@x.test", True),  # lists fan out
        ("data.emails.1.email=b@x.test", True),
        ("data.emails.0.email=b@x.test", False),
        ("data.value=1200", True),
        ("data.active=true", True),
        ("changed_fields=status_label", True),  # any element of a list
        ("changed_fields~status", True),
        ("changed_fields~STATUS", True),
        ("changed_fields~email", False),
        ("user_id=null", True),
        ("user_id!=null", False),
        ("lead_id~abc", True),
        ("nosuchfield=x", False),
        ("nosuchfield!=x", True),
        ("data~gold", True),  # an object: its JSON
        ("won", True),  # free text, anywhere
        ('"call  back"', True),
        ("won nowhere-to-be-found", False),  # AND
        ('"back call"', False),  # quoted: one phrase
        ("meta.request_method=PUT data.status_label=Won changed_fields~status", True),
    ],
)
def test_matching(text: str, expected: bool) -> None:
    assert parse(text).matches(event()) is expected


def test_call_and_back_as_two_words() -> None:
    # Both words are present (separately): AND of free-text terms.
    assert parse("call back").matches(event())


def test_empty_predicate_matches_everything() -> None:
    assert Predicate().matches(event())


def test_the_doc_examples_match_on_their_own_fields() -> None:
    raw = json.loads(FIXTURES.read_text())
    examples = raw if isinstance(raw, list) else list(raw.values())
    events = [e for e in examples if isinstance(e, dict) and "id" in e]
    assert events
    for example in events:
        ev = Event.model_validate(example)
        assert parse(f"id={ev.id}").matches(ev)
        assert parse(f"object_type={ev.object_type} action={ev.action}").matches(ev)
        assert not parse(f"id!={ev.id}").matches(ev)


def test_resolve_prefers_the_longest_key_then_shorter_ones() -> None:
    value = {"a.b": 1, "a": {"b": 2}}
    assert list(resolve(value, ["a", "b"])) == [1, 2]
    assert list(resolve([1, [2]], ["5"])) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60), payload=json_values, meta=json_values)
def test_never_raises_on_any_input(text: str, payload: Any, meta: Any) -> None:
    predicate = parse(text)
    assert isinstance(predicate.describe(), str)
    ev = event(data=payload, meta=meta, changed_fields=[])
    assert predicate.matches(ev) in (True, False)
    assert matches_api(predicate, {"weird": payload}) in (True, False)
    # The canonical form parses back to the same predicate.
    assert parse(predicate.describe()) == predicate


@settings(max_examples=200, deadline=None)
@given(
    field=st.from_regex(r"[a-z_][a-z0-9_]{0,6}(\.[a-z_][a-z0-9_]{0,6}){0,3}", fullmatch=True),
    value=st.text(min_size=1, max_size=10).filter(lambda v: '"' not in v),
)
def test_field_terms_round_trip(field: str, value: str) -> None:
    predicate = parse(f'{field}="{value}"')
    assert predicate.terms == (Term("eq", field, value),)
