"""``summarize``: the one-line description of an event shown in the table and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from close_tui.core.catalog import OBJECT_TYPE_ACTIONS
from close_tui.core.models import Event
from close_tui.core.summary import MAX_SUMMARY_CHARS, summarize

DOC_EXAMPLES = Path("/work/shared/data/close-doc-examples.json")


def make_event(**fields: Any) -> Event:
    raw: dict[str, Any] = {
        "id": "ev_17VaZdcdnsMNyWY9ZJnjph",
        "date_created": "2026-11-20T12:48:23.395000",
        "date_updated": "2026-11-20T12:48:23.395000",
        "object_type": "lead",
        "object_id": "lead_sHR5sxie4dKOBkODA2flGciHen2c91YEpvTPt8x1NU0",
        "lead_id": "lead_sHR5sxie4dKOBkODA2flGciHen2c91YEpvTPt8x1NU0",
        "action": "updated",
        "changed_fields": [],
    }
    raw.update(fields)
    return Event.model_validate(raw)


@pytest.fixture(scope="module")
def doc_examples() -> dict[str, Any]:
    examples: dict[str, Any] = json.loads(DOC_EXAMPLES.read_text())
    return examples


def test_doc_note_example_shows_the_note_text(doc_examples: dict[str, Any]) -> None:
    event = Event.model_validate(doc_examples["event_get_example"])
    assert summarize(event) == "My note."


def test_doc_opportunity_example_shows_the_status_change_and_other_fields(
    doc_examples: dict[str, Any],
) -> None:
    event = Event.model_validate(doc_examples["webhook_opportunity_updated_example"]["event"])
    # status_* and date_updated are folded into "status …" / dropped as noise.
    assert summarize(event) == "status Active → Won · changed: confidence"


def test_note_uses_the_first_non_blank_line_only() -> None:
    event = make_event(
        object_type="activity.note",
        action="created",
        data={"note": "\n  Called Bob  \nsecond line\nthird"},
        previous_data={},
    )
    assert summarize(event) == "Called Bob"


def test_updated_note_shows_text_and_changes() -> None:
    event = make_event(
        object_type="activity.note",
        data={"note": "Draft v2"},
        previous_data={"note": "Draft"},
        changed_fields=["note", "date_updated"],
    )
    assert summarize(event) == "Draft v2 · changed: note"


def test_lead_status_change() -> None:
    event = make_event(
        data={"status_label": "Qualified", "display_name": "Acme"},
        previous_data={"status_label": "Potential"},
        changed_fields=["status_id", "status_label"],
    )
    assert summarize(event) == "status Potential → Qualified"


def test_status_change_activity() -> None:
    event = make_event(
        object_type="activity.lead_status_change",
        action="created",
        data={"old_status_label": "Potential", "new_status_label": "Bad Fit"},
        previous_data={},
    )
    assert summarize(event) == "status Potential → Bad Fit"


def test_changed_fields_listed_without_noise() -> None:
    event = make_event(
        changed_fields=["name", "url", "custom.cf_abc", "date_updated", "updated_by"],
        data={"name": "Acme"},
        previous_data={"name": "Acme Inc"},
    )
    assert summarize(event) == "changed: name, url, custom.cf_abc"


@pytest.mark.parametrize(
    ("object_type", "previous", "expected"),
    [
        ("lead", {"display_name": "Acme Inc", "name": "Acme"}, "deleted Acme Inc"),
        ("contact", {"name": "Bob Loblaw"}, "deleted Bob Loblaw"),
        ("activity.note", {"note": "old note\nmore"}, "deleted old note"),
        ("activity.email", {"subject": "Re: offer"}, "deleted Re: offer"),
        ("contact", {"first_name": "Ann", "last_name": "Veal"}, "deleted Ann Veal"),
        ("task.lead", {}, "deleted"),
    ],
)
def test_deletes_name_what_was_deleted(
    object_type: str, previous: dict[str, Any], expected: str
) -> None:
    event = make_event(object_type=object_type, action="deleted", data=None, previous_data=previous)
    assert summarize(event) == expected


def test_created_objects_are_named() -> None:
    lead = make_event(action="created", data={"display_name": "Acme"}, previous_data={})
    opportunity = make_event(
        object_type="opportunity",
        action="created",
        data={"lead_name": "KLine", "value_formatted": "$1,000", "status_label": "Active"},
        previous_data={},
    )
    call = make_event(
        object_type="activity.call",
        action="completed",
        data={"direction": "outbound", "duration": 42},
    )
    assert summarize(lead) == "Acme"
    assert summarize(opportunity) == "KLine $1,000 Active"
    assert summarize(call) == "outbound call 42s"


def test_merge_names_both_leads() -> None:
    event = make_event(
        action="merged",
        meta={"merge_source_lead_id": "lead_a", "merge_destination_lead_id": "lead_b"},
    )
    assert summarize(event) == "merged lead_a into lead_b"


def test_missing_payload_is_said_and_changes_still_shown() -> None:
    hidden = make_event()  # no data / previous_data keys at all: the non-admin privacy rule
    assert "hidden" in summarize(hidden)
    with_changes = make_event(changed_fields=["name"])
    assert summarize(with_changes) == "changed: name"


@pytest.mark.parametrize(
    "data",
    [None, [], [1, 2], "a string", 42, {"note": None}, {"note": ["x"]}, {"status_label": {}}],
)
def test_odd_data_shapes_do_not_break(data: Any) -> None:
    event = make_event(object_type="activity.note", data=data, previous_data=data)
    assert isinstance(summarize(event), str)


def test_control_characters_and_markup_come_back_inert() -> None:
    event = make_event(
        object_type="activity.note",
        action="created",
        data={"note": "[bold]x[/] \x1b[31mred\x07 [@click=app.quit]"},
    )
    text = summarize(event)
    assert "\x1b" not in text and "\x07" not in text
    assert text.startswith("[bold]x[/] ␛[31mred␇ [@click=app.quit]")


def test_long_text_is_capped() -> None:
    event = make_event(object_type="activity.note", action="created", data={"note": "x" * 10_000})
    text = summarize(event)
    assert len(text) == MAX_SUMMARY_CHARS and text.endswith("…")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            ["note", "status_label", "name", "display_name", "old_status_label",
             "new_status_label", "direction", "duration", "lead_name", "subject", "x"]
        )
        | st.text(max_size=8),
        children,
        max_size=5,
    ),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    object_type=st.sampled_from([*OBJECT_TYPE_ACTIONS, "note", "??"]) | st.text(max_size=12),
    action=st.sampled_from(["created", "updated", "deleted", "merged"]) | st.text(max_size=8),
    data=json_values,
    previous_data=json_values,
    meta=json_values,
    changed=st.lists(st.text(max_size=10), max_size=5),
)
def test_never_raises_on_any_json(
    object_type: str, action: str, data: Any, previous_data: Any, meta: Any, changed: list[str]
) -> None:
    event = make_event(
        object_type=object_type,
        action=action,
        data=data,
        previous_data=previous_data,
        meta=meta,
        changed_fields=changed,
    )
    text = summarize(event)
    assert isinstance(text, str)
    assert len(text) <= MAX_SUMMARY_CHARS
    assert "\n" not in text and "\x1b" not in text


@settings(max_examples=100, deadline=None)
@given(junk=json_values)
def test_never_raises_even_when_validation_was_skipped(junk: Any) -> None:
    # model_construct skips validation: fields of any type at all reach summarize.
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    event = Event.model_construct(
        id="ev_x", date_created=epoch, date_updated=epoch, object_type=junk, action=junk,
        changed_fields=junk, data=junk, previous_data=junk, meta=junk,
    )  # fmt: skip
    assert isinstance(summarize(event), str)
