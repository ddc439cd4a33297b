"""What an event changed (close_tui.core.diff): the Changes tab's specification."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from close_tui.core.diff import (
    ABSENT,
    LONG_TEXT,
    PRIVACY_NOTE,
    FieldChange,
    diff_values,
    event_changes,
    path_label,
    same,
    text_diff,
)
from close_tui.core.models import Event

FIXTURES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "close-doc-examples.json").read_text()
)

BASE: dict[str, Any] = {
    "id": "ev_0000000000000000000001",
    "date_created": "2026-11-20T11:00:00.000000",
    "date_updated": "2026-11-20T11:00:00.000000",
    "object_type": "lead",
    "object_id": "lead_abc",
    "lead_id": "lead_abc",
    "action": "updated",
    "changed_fields": [],
}


def event(**fields: Any) -> Event:
    raw = {**copy.deepcopy(BASE), **fields}
    return Event.model_validate(raw)


def by_label(changes: tuple[FieldChange, ...]) -> dict[str, FieldChange]:
    return {c.label: c for c in changes}


# ----------------------------------------------------------------------- doc examples


def test_webhook_example_is_an_opportunity_won() -> None:
    ev = Event.model_validate(FIXTURES["webhook_opportunity_updated_example"]["event"])
    result = event_changes(ev)
    assert result.kind == "update"
    # date_updated moves on every update: said once (touched), not counted as a change.
    assert result.summary == "4 fields changed"
    changes = by_label(result.changes)
    assert (changes["status_label"].kind, changes["status_label"].old,
            changes["status_label"].new) == ("changed", "Active", "Won")
    assert (changes["status_type"].old, changes["status_type"].new) == ("active", "won")
    assert (changes["confidence"].old, changes["confidence"].new) == (70, 100)
    # The example's data is abridged: status_id is not in it. Unknown, not "removed".
    assert changes["status_id"].kind == "unknown"
    assert changes["status_id"].old.startswith("stat_") and changes["status_id"].new is ABSENT
    assert "date_updated" not in changes
    assert result.touched is not None and result.touched.new is ABSENT  # abridged data
    assert result.touched.old == ev.previous_data["date_updated"]  # type: ignore[index]
    assert result.notes == ()


def test_date_updated_is_said_once_not_listed_with_the_fields_a_person_changed() -> None:
    ev = event(
        changed_fields=["name", "date_updated", "updated_by"],
        previous_data={"name": "Old", "date_updated": "2026-11-20T11:58:10.000000+00:00",
                       "updated_by": "user_a"},
        data={"name": "New", "date_updated": "2026-11-20T12:03:04.000000+00:00",
              "updated_by": "user_b"},
    )  # fmt: skip
    result = event_changes(ev)
    assert [c.label for c in result.changes] == ["name", "updated_by"]  # bookkeeping last
    assert result.summary == "2 fields changed"
    assert result.touched == FieldChange(
        ("date_updated",), "changed",
        "2026-11-20T11:58:10.000000+00:00", "2026-11-20T12:03:04.000000+00:00",
    )  # fmt: skip


def test_date_updated_alone_is_listed_as_the_change() -> None:
    ev = event(
        changed_fields=["date_updated"],
        previous_data={"date_updated": "2026-11-20T11:58:10.000000+00:00"},
        data={"date_updated": "2026-11-20T12:03:04.000000+00:00"},
    )
    result = event_changes(ev)
    assert [c.label for c in result.changes] == ["date_updated"]
    assert result.summary == "1 field changed" and result.touched is None


def test_doc_example_create_lists_the_new_object() -> None:
    ev = Event.model_validate(FIXTURES["event_get_example"])
    result = event_changes(ev)
    assert result.kind == "create"
    assert result.changes == ()
    fields = {f.label: f.value for f in result.fields}
    assert fields["note"] == "My note."
    assert fields["_type"] == "Note"
    assert len(result.fields) == len(FIXTURES["event_get_example"]["data"])
    assert result.summary == f"the new object: {len(result.fields)} fields"


# ----------------------------------------------------------------------- kinds of events


def test_delete_lists_the_last_state() -> None:
    ev = event(action="deleted", data=None,
               previous_data={"name": "Acme", "status_label": "Potential"})
    result = event_changes(ev)
    assert result.kind == "delete"
    assert [(f.label, f.value) for f in result.fields] == [
        ("name", "Acme"), ("status_label", "Potential")
    ]


def test_delete_without_last_state_says_so() -> None:
    result = event_changes(event(action="deleted", data=None, previous_data={}))
    assert result.kind == "delete" and result.fields == ()
    assert any("previous_data is empty" in n for n in result.notes)


def test_create_with_null_data_says_so() -> None:
    result = event_changes(event(action="created", data=None, previous_data={}))
    assert result.kind == "create" and any("data is null" in n for n in result.notes)


def test_other_actions_with_changes_are_diffed() -> None:
    ev = event(action="completed", object_type="task.lead", changed_fields=["is_complete"],
               previous_data={"is_complete": False}, data={"is_complete": True})
    result = event_changes(ev)
    assert result.kind == "update"
    assert (result.changes[0].old, result.changes[0].new) == (False, True)


def test_other_actions_without_changes_list_the_object() -> None:
    ev = event(action="merged", data={"id": "lead_abc", "name": "Acme"}, previous_data={})
    result = event_changes(ev)
    assert result.kind == "state" and len(result.fields) == 2


def test_update_with_no_recorded_change_says_so() -> None:
    result = event_changes(event(data={"a": 1}, previous_data={}))
    assert result.kind == "update" and result.changes == ()
    assert any("no field changes" in n for n in result.notes)


def test_fields_only_in_previous_data_are_included() -> None:
    ev = event(changed_fields=["name"], previous_data={"name": "A", "url": "x"},
               data={"name": "B", "url": "y"})
    assert [c.label for c in event_changes(ev).changes] == ["name", "url"]


def test_listed_but_equal_is_unchanged() -> None:
    ev = event(changed_fields=["name"], previous_data={"name": "A"}, data={"name": "A"})
    (change,) = event_changes(ev).changes
    assert change.kind == "unchanged" and change.new == "A"


def test_custom_fields_are_labelled() -> None:
    key = "custom.cf_7QwjUmXEWXUsQ0XIrhqj2Wbv7ogxzPFj7NDR4xaeIgB"
    ev = event(changed_fields=[key], previous_data={key: "EMEA"}, data={key: "APAC"})
    (change,) = event_changes(ev).changes
    assert change.is_custom
    assert change.label == "custom field cf_7QwjUmXEWXUsQ0XIrhqj2Wbv7ogxzPFj7NDR4xaeIgB"
    assert (change.old, change.new) == ("EMEA", "APAC")


# ----------------------------------------------------------------------- notes


def test_consolidated_events_say_so() -> None:
    ev = event(date_updated="2026-11-20T11:02:05.000000", changed_fields=["name"],
               previous_data={"name": "A"}, data={"name": "B"})
    result = event_changes(ev)
    assert any("several edits made over 2 min 5 s were merged" in n for n in result.notes)


def test_missing_payloads_are_named_not_blank() -> None:
    raw = {k: v for k, v in BASE.items()}
    raw["changed_fields"] = ["status_label", "name"]
    ev = Event.model_validate(raw)  # no data, no previous_data: the privacy rule
    assert ev.payload_state("data") == "missing"
    result = event_changes(ev)
    assert result.notes == (f"data and previous_data {PRIVACY_NOTE}",)
    # The field names are still known from changed_fields.
    assert [(c.label, c.kind) for c in result.changes] == [
        ("status_label", "unknown"), ("name", "unknown")
    ]


def test_missing_payload_of_a_delete() -> None:
    raw = {**BASE, "action": "deleted"}
    result = event_changes(Event.model_validate(raw))
    assert result.kind == "delete" and result.fields == ()
    assert any(PRIVACY_NOTE in n for n in result.notes)


def test_null_and_empty_and_missing_differ() -> None:
    missing = event_changes(Event.model_validate({**BASE, "action": "created"}))
    null = event_changes(event(action="created", data=None, previous_data={}))
    empty = event_changes(event(action="created", data={}, previous_data={}))
    assert [any(PRIVACY_NOTE in n for n in r.notes) for r in (missing, null, empty)] == [
        True, False, False
    ]
    assert any("null" in n for n in null.notes) and any("empty" in n for n in empty.notes)


# ----------------------------------------------------------------------- nested and text


def test_nested_values_become_paths() -> None:
    old = {"addresses": [{"city": "Berlin", "zip": "10115"}], "meta": {"a": {"b": 1}}}
    new = {"addresses": [{"city": "Paris", "zip": "10115"}], "meta": {"a": {"b": 2, "c": 3}}}
    ev = event(changed_fields=["addresses", "meta"], previous_data=old, data=new)
    changes = by_label(event_changes(ev).changes)
    assert set(changes) == {"addresses[0].city", "meta.a.b", "meta.a.c"}
    assert (changes["addresses[0].city"].old, changes["addresses[0].city"].new) == (
        "Berlin", "Paris"
    )
    assert changes["meta.a.c"].kind == "added" and changes["meta.a.c"].new == 3


def test_list_insertions_are_one_change() -> None:
    found = diff_values(["a", "b", "c"], ["x", "a", "b", "c"], ("tags",))
    assert found == [FieldChange(("tags", 0), "added", new="x")]
    found = diff_values(["a", "b", "c"], ["a", "c"], ("tags",))
    assert found == [FieldChange(("tags", 1), "removed", old="b")]


def test_types_are_kept_apart() -> None:
    assert not same(1, True) and not same(0, False) and not same(None, 0)
    assert same(1, 1.0) and same({"a": [1]}, {"a": [1]})
    assert diff_values(True, 1) == [FieldChange((), "changed", True, 1)]


def test_long_text_is_diffed_by_line() -> None:
    old = "Called Jane.\nShe wants a demo.\nFollow up Friday."
    new = "Called Jane.\nShe wants a demo next week.\nFollow up Friday."
    ev = event(object_type="activity.note", changed_fields=["note"],
               previous_data={"note": old}, data={"note": new})
    (change,) = event_changes(ev).changes
    assert change.text_diff == (
        " Called Jane.", "-She wants a demo.", "+She wants a demo next week.",
        " Follow up Friday.",
    )


def test_single_long_line_is_diffed_too() -> None:
    old, new = "x" * (LONG_TEXT + 1), "y" * (LONG_TEXT + 1)
    (change,) = diff_values(old, new, ("note",))
    assert change.text_diff == ("-" + old, "+" + new)
    (short,) = diff_values("a", "b", ("note",))
    assert short.text_diff == ()


def test_huge_text_diff_is_cut() -> None:
    old = "\n".join(f"line {i}" for i in range(2000))
    new = "\n".join(f"LINE {i}" for i in range(2000))
    lines = text_diff(old, new)
    assert len(lines) == 401 and lines[-1].startswith("⋯ ")


def test_path_labels() -> None:
    assert path_label(("a", 0, "b")) == "a[0].b"
    assert path_label(("weird key", "x")) == '["weird key"].x'
    assert path_label(()) == "(whole object)"


def test_deep_nesting_does_not_recurse_forever() -> None:
    old: Any = 1
    new: Any = 2
    for _ in range(300):
        old, new = {"a": old}, {"a": new}
    (change,) = diff_values(old, new)
    assert change.kind == "changed" and len(change.path) == 64


# ----------------------------------------------------------------------- never raises

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=80, deadline=None)
@given(
    action=st.sampled_from(["created", "updated", "deleted", "completed", "merged", "x"]),
    data=json_values,
    previous=json_values,
    changed=st.lists(st.text(max_size=8), max_size=4),
    drop=st.sampled_from(["none", "data", "previous_data", "both"]),
)
def test_never_raises_on_arbitrary_json(
    action: str, data: Any, previous: Any, changed: list[str], drop: str
) -> None:
    raw: dict[str, Any] = {**BASE, "action": action, "changed_fields": changed,
                           "data": data, "previous_data": previous}
    if drop in ("data", "both"):
        del raw["data"]
    if drop in ("previous_data", "both"):
        del raw["previous_data"]
    result = event_changes(Event.model_validate(raw))
    assert result.summary
    for change in result.changes:
        assert change.label


@settings(max_examples=80, deadline=None)
@given(old=json_values, new=json_values)
def test_diff_of_equal_values_is_empty_and_of_different_ones_is_not(old: Any, new: Any) -> None:
    assert diff_values(old, copy.deepcopy(old)) == []
    if not same(old, new):
        assert diff_values(old, new)
