"""``summarize``: the one-line sentence shown in the table's summary column and the CLI."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from close_tui.core.catalog import OBJECT_TYPE_ACTIONS
from close_tui.core.models import Event
from close_tui.core.summary import (
    HIDDEN_NOTE,
    MAX_QUOTE_CHARS,
    MAX_SUMMARY_CHARS,
    format_duration,
    noun_for,
    summarize,
)
from close_tui.emulator import Emulator

DOC_EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "close-doc-examples.json"
LEAD = "lead_sHR5sxie4dKOBkODA2flGciHen2c91YEpvTPt8x1NU0"


def make_event(**fields: Any) -> Event:
    raw: dict[str, Any] = {
        "id": "ev_17VaZdcdnsMNyWY9ZJnjph",
        "date_created": "2026-11-20T12:48:23.395000",
        "date_updated": "2026-11-20T12:48:23.395000",
        "object_type": "lead",
        "object_id": LEAD,
        "lead_id": LEAD,
        "action": "updated",
        "changed_fields": [],
        "data": {},
        "previous_data": {},
    }
    raw.update(fields)
    for key in ("data", "previous_data"):
        if raw[key] is _DROP:
            del raw[key]
    return Event.model_validate(raw)


_DROP: Any = object()


@pytest.fixture(scope="module")
def doc_examples() -> dict[str, Any]:
    examples: dict[str, Any] = json.loads(DOC_EXAMPLES.read_text())
    return examples


# ---------------------------------------------------------------------- Close's own examples


def test_doc_note_example(doc_examples: dict[str, Any]) -> None:
    event = Event.model_validate(doc_examples["event_get_example"])  # legacy type "note"
    assert summarize(event) == "Note added: 'My note.'"


def test_doc_opportunity_example_reads_as_a_status_move_with_the_value(
    doc_examples: dict[str, Any],
) -> None:
    event = Event.model_validate(doc_examples["webhook_opportunity_updated_example"]["event"])
    assert summarize(event) == "Opportunity Active → Won ($1,000)"


# ---------------------------------------------------------------------- the brief's sentences


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            dict(
                object_type="opportunity",
                changed_fields=["status_id", "status_label", "status_type", "date_updated"],
                data={"status_label": "Won", "value_formatted": "$12,000"},
                previous_data={"status_label": "Active", "status_type": "active"},
            ),
            "Opportunity Active → Won ($12,000)",
        ),
        (
            dict(
                object_type="activity.note",
                action="created",
                data={"note": "Called about the renewal, they want a discount on seats"},
            ),
            "Note added: 'Called about the renewal, they want a discount…'",
        ),
        (
            dict(
                object_type="lead",
                action="merged",
                data={"display_name": "Acme"},
                meta={"merge_source_lead_id": "lead_src", "merge_destination_lead_id": LEAD},
            ),
            "Lead merged into Acme",
        ),
        (
            dict(
                object_type="contact",
                action="deleted",
                data=None,
                previous_data={"name": "Jane Doe", "display_name": "Jane Doe"},
            ),
            "Contact deleted: Jane Doe",
        ),
        (
            dict(
                object_type="activity.email",
                action="sent",
                data={"subject": "Re: Intro", "status": "sent", "direction": "outgoing"},
            ),
            "Email sent: 'Re: Intro'",
        ),
        (
            dict(object_type="activity.call", action="completed", data={"duration": 192}),
            "Call completed (3m 12s)",
        ),
        (
            dict(object_type="task.lead", action="completed", data={"text": "Follow up"}),
            "Task completed: Follow up",
        ),
        (
            dict(
                changed_fields=["status_id", "status_label", "date_updated"],
                data={"status_label": "Qualified", "display_name": "Acme"},
                previous_data={"status_label": "Potential"},
            ),
            "Lead status Potential → Qualified",
        ),
        (
            dict(object_type="import", action="completed", data={"status": "done"}),
            "Import completed",
        ),
        (
            dict(
                object_type="opportunity",
                changed_fields=["status_label", "value", "value_formatted", "confidence"],
                data={"value_formatted": "$2", "confidence": 50},
                previous_data={"value_formatted": "$1", "confidence": 40},
            ),
            "3 fields changed: status, value, confidence",
        ),
    ],
)
def test_sentences(fields: dict[str, Any], expected: str) -> None:
    assert summarize(make_event(**fields)) == expected


# ---------------------------------------------------------------------- updates


def test_one_changed_field_shows_old_and_new() -> None:
    event = make_event(
        object_type="contact",
        changed_fields=["title", "date_updated", "updated_by"],
        data={"title": "CTO"},
        previous_data={"title": "CEO"},
    )
    assert summarize(event) == "Contact title: CEO → CTO"


def test_one_changed_field_without_readable_values_is_named() -> None:
    event = make_event(
        object_type="contact",
        changed_fields=["phones"],
        data={"phones": [{"phone": "+1"}]},
        previous_data={"phones": []},
    )
    assert summarize(event) == "Contact phones changed"


def test_money_is_shown_formatted() -> None:
    event = make_event(
        object_type="opportunity",
        changed_fields=["value", "value_formatted", "date_updated"],
        data={"value": 1000000, "value_formatted": "$10,000"},
        previous_data={"value": 500000, "value_formatted": "$5,000"},
    )
    assert summarize(event) == "Opportunity value: $5,000 → $10,000"


def test_only_bookkeeping_changed() -> None:
    event = make_event(changed_fields=["date_updated", "updated_by"])
    assert summarize(event) == "Lead updated"


def test_many_fields_are_listed_up_to_a_limit() -> None:
    fields = [f"field_{n}" for n in range(8)]
    event = make_event(changed_fields=fields)
    assert summarize(event) == ("8 fields changed: field_0, field_1, field_2, field_3, field_4, …")


def test_custom_fields_use_their_name_when_known() -> None:
    cf = "custom.cf_a5PRNOiOFTgF14AsQ6uYbrmM3bPPMqU8ldXLUqSabZC"
    unnamed = make_event(changed_fields=[cf, "url"])
    assert summarize(unnamed) == "2 fields changed: custom.cf_a5P…bZC, url"
    # Close's lead objects also carry a name -> value "custom" map.
    in_data = make_event(
        changed_fields=[cf, "url"],
        data={cf: "Retail", "custom": {"Industry": "Retail", "Region": "EMEA"}},
    )
    assert summarize(in_data) == "2 fields changed: Industry, url"
    # Or the caller knows it (a custom_fields.* event seen in the list).
    named = {"cf_a5PRNOiOFTgF14AsQ6uYbrmM3bPPMqU8ldXLUqSabZC": "Lead source"}
    one = make_event(changed_fields=[cf], data={cf: "Web"}, previous_data={cf: "Referral"})
    assert summarize(one, named) == "Lead Lead source: Referral → Web"


def test_consolidated_note_edits_show_the_text() -> None:
    event = make_event(
        object_type="activity.note",
        changed_fields=["note", "date_updated"],
        data={"note": "\n  Called Bob  \nsecond line"},
        previous_data={"note": "Called"},
    )
    assert summarize(event) == "Note edited: 'Called Bob'"


def test_children_moved_by_a_merge() -> None:
    event = make_event(
        object_type="contact",
        changed_fields=["lead_id", "date_updated"],
        data={"lead_id": "lead_dest"},
        previous_data={"lead_id": "lead_src"},
        meta={"merge_source_lead_id": "lead_src", "merge_destination_lead_id": "lead_dest"},
    )
    assert summarize(event) == "Contact moved (lead merge)"
    assert summarize(event, {"lead_dest": "Acme"}) == "Contact moved to Acme (lead merge)"


# ---------------------------------------------------------------------- one per family


@pytest.mark.parametrize(
    ("object_type", "action", "data", "previous", "expected"),
    [
        ("lead", "created", {"display_name": "Acme"}, {}, "Lead created: Acme"),
        ("lead", "deleted", None, {"display_name": "Acme", "name": "x"}, "Lead deleted: Acme"),
        ("contact", "created", {"name": "Ann Veal"}, {}, "Contact created: Ann Veal"),
        ("contact", "deleted", None, {"first_name": "Ann", "last_name": "Veal"},
         "Contact deleted: Ann Veal"),
        ("opportunity", "created", {"value_formatted": "$500", "status_label": "Active"}, {},
         "Opportunity created ($500, Active)"),
        ("opportunity", "deleted", None, {"value_formatted": "$500"},
         "Opportunity deleted ($500)"),
        ("task.missed_call", "created", {"text": "Call back Bob"}, {},
         "Missed call task created: Call back Bob"),
        ("task.incoming_email", "deleted", None, {"text": "Reply"},
         "Incoming email task deleted: Reply"),
        ("activity.note", "deleted", None, {"note": "old note\nmore"}, "Note deleted: 'old note'"),
        ("activity.email", "created", {"subject": "Hi", "direction": "incoming", "status": "inbox"},
         {}, "Email received: 'Hi'"),
        ("activity.email", "created", {"subject": "Hi", "status": "draft"}, {},
         "Email draft created: 'Hi'"),
        ("activity.email", "deleted", None, {"subject": "Re: offer"}, "Email deleted: 'Re: offer'"),
        ("activity.sms", "sent", {"text": "See you", "direction": "outbound"}, {},
         "SMS sent: 'See you'"),
        ("activity.sms", "created", {"text": "Hello", "direction": "inbound"}, {},
         "SMS received: 'Hello'"),
        ("activity.whatsapp_message", "created",
         {"message_markdown": "Hola", "direction": "incoming"}, {},
         "WhatsApp message received: 'Hola'"),
        ("activity.call", "created", {"direction": "outbound"}, {}, "Call started (outbound)"),
        ("activity.call", "answered", {"direction": "inbound"}, {}, "Call answered (inbound)"),
        ("activity.call", "completed", {"status": "no-answer", "duration": 0}, {},
         "Call completed (no-answer)"),
        ("activity.meeting", "scheduled", {"title": "Demo"}, {}, "Meeting scheduled: Demo"),
        ("activity.meeting", "canceled", {"title": "Demo"}, {}, "Meeting canceled: Demo"),
        ("activity.email_thread", "created", {"subject": "Intro"}, {},
         "Email thread created: Intro"),
        ("activity.form_submission", "created", {"form_name": "Contact us"}, {},
         "Form submitted: Contact us"),
        ("activity.custom_activity", "created", {"activity_type": "Site visit"}, {},
         "Custom activity created: Site visit"),
        ("activity.lead_status_change", "created",
         {"old_status_label": "Potential", "new_status_label": "Bad Fit"}, {},
         "Lead status Potential → Bad Fit"),
        ("activity.opportunity_status_change", "created",
         {"old_status_label": "Active", "new_status_label": "Won"}, {}, "Opportunity Active → Won"),
        ("activity.lead_merge", "created", {"source_lead_name": "Acme Old"}, {},
         "Lead Acme Old merged in"),
        ("activity.task_completed", "created", {"task_text": "Send contract"}, {},
         "Task completed: Send contract"),
        ("unsubscribed_email", "created", {"email": "a@b.example"}, {},
         "Email unsubscribed: a@b.example"),
        ("unsubscribed_email", "deleted", None, {"email": "a@b.example"},
         "Email resubscribed: a@b.example"),
        ("import", "created", {"file_name": "leads.csv", "n_leads": 1200}, {},
         "Import created: leads.csv (1,200 leads)"),
        ("import", "reverted", {"file_name": "leads.csv"}, {}, "Import reverted: leads.csv"),
        ("export.lead", "completed", {"n_objects": 42}, {}, "Lead export completed (42 objects)"),
        ("bulk_action.delete", "created", {"query": 'lead_status:"Potential"'}, {},
         'Bulk delete started: lead_status:"Potential"'),
        ("bulk_action.edit", "paused", {"status": "paused"}, {}, "Bulk edit paused"),
        ("custom_fields.lead", "created", {"name": "Industry"}, {},
         "Lead custom field created: Industry"),
        ("status.opportunity", "deleted", None, {"label": "Lost"},
         "Opportunity status deleted: Lost"),
        ("saved_search", "created", {"name": "My leads"}, {}, "Saved search created: My leads"),
        ("comment", "created", {"body": "Looks good"}, {}, "Comment added: 'Looks good'"),
        ("membership", "deactivated", {"user_id": "user_abcdefghijklmnop"}, {},
         "Member deactivated: user_abc…nop"),
        ("status_change.opportunity", "created",
         {"old_status_label": "Active", "new_status_label": "Lost"}, {},
         "Opportunity Active → Lost"),
        ("widget.gizmo_thing", "exploded", {"name": "G1"}, {}, "Widget gizmo thing exploded: G1"),
        ("task.lead", "reopened", {}, {}, "Task reopened"),
    ],
)  # fmt: skip
def test_every_family_has_a_sentence(
    object_type: str, action: str, data: Any, previous: Any, expected: str
) -> None:
    event = make_event(object_type=object_type, action=action, data=data, previous_data=previous)
    assert summarize(event) == expected


def test_membership_names_the_user_when_known() -> None:
    event = make_event(object_type="membership", action="activated", data={"user_id": "user_x"})
    assert summarize(event, {"user_x": "Gob Bluth"}) == "Member activated: Gob Bluth"


def test_merge_names_the_source_when_known() -> None:
    event = make_event(
        action="merged",
        data={"display_name": "Acme"},
        meta={"merge_source_lead_id": "lead_src", "merge_destination_lead_id": LEAD},
    )
    assert summarize(event, {"lead_src": "Acme Old"}) == "Lead Acme Old merged into Acme"


@pytest.mark.parametrize(
    ("object_type", "action"),
    [(t, a) for t, actions in OBJECT_TYPE_ACTIONS.items() for a in actions],
)
def test_every_catalog_pair_reads_as_a_sentence_about_its_object(
    object_type: str, action: str
) -> None:
    bare = summarize(make_event(object_type=object_type, action=action))
    assert bare.startswith(noun_for(object_type).split()[0])
    assert "{" not in bare and "None" not in bare


#: Payloads every catalogue pair is read with: none, a named object, a named last state,
#: and an update of one field.
_PAYLOADS: list[dict[str, Any]] = [
    {},
    {"data": {"name": "Site visit"}, "previous_data": {}},
    {"data": None, "previous_data": {"name": "Site visit"}},
    {"data": {"name": "New"}, "previous_data": {"name": "Old"}, "changed_fields": ["name"]},
]
_VERBS = {a for actions in OBJECT_TYPE_ACTIONS.values() for a in actions}


def doubled_verbs(sentence: str) -> list[str]:
    """Event verbs said twice, or words said twice in a row, before the sentence's detail
    (what follows ``: `` is quoted user text, which may repeat words)."""
    head = sentence.split(": ", 1)[0]
    words = re.findall(r"[a-z]+", head.lower())
    twice = [word for word in _VERBS if words.count(word) > 1]
    twice += [a for a, b in itertools.pairwise(words) if a == b]
    return twice


@pytest.mark.parametrize(
    ("object_type", "action"),
    [(t, a) for t, actions in OBJECT_TYPE_ACTIONS.items() for a in actions],
)
def test_no_catalogue_pair_doubles_its_verb(object_type: str, action: str) -> None:
    for payload in _PAYLOADS:
        text = summarize(make_event(object_type=object_type, action=action, **payload))
        assert not doubled_verbs(text), (text, payload)


@pytest.mark.parametrize(
    "object_type",
    ["activity.created", "activity.custom_thing", "custom_thing.created", "created",
     "widget.updated", "task.site_visit.completed", "lead_merged", "note.deleted"],
)  # fmt: skip
@pytest.mark.parametrize("action", sorted(_VERBS))
def test_unknown_types_never_double_the_verb(object_type: str, action: str) -> None:
    for payload in _PAYLOADS:
        text = summarize(make_event(object_type=object_type, action=action, **payload))
        assert not doubled_verbs(text), (text, payload)
        assert text[:1].isupper(), text


@pytest.mark.parametrize(
    ("object_type", "action", "expected"),
    [
        ("activity.created", "created", "Activity created: Site visit"),
        ("activity.custom_thing", "created", "Custom thing created: Site visit"),
        ("custom_thing.created", "created", "Custom thing created: Site visit"),
        ("task.site_visit", "completed", "Site visit task completed"),  # tasks quote "text"
        ("bulk_action.merge", "paused", "Bulk merge paused"),
        ("created", "created", "Object created: Site visit"),
    ],
)
def test_unknown_types_read_naturally(object_type: str, action: str, expected: str) -> None:
    event = make_event(object_type=object_type, action=action, data={"name": "Site visit"})
    assert summarize(event) == expected


def test_every_emulated_event_gets_a_sentence() -> None:
    """The whole synthetic organization: no blanks, no raw dict reprs, no placeholders."""
    emulator = Emulator()
    for raw in emulator.events()[:4000]:
        text = summarize(Event.model_validate(raw))
        assert text and "{" not in text and "None" not in text, raw["object_type"]
        assert "\x00" not in text  # the "empty" marker never leaks


# ---------------------------------------------------------------------- privacy rule


def test_hidden_payload_is_said_after_what_is_still_known() -> None:
    hidden = make_event(data=_DROP, previous_data=_DROP)
    assert summarize(hidden) == f"Lead updated · {HIDDEN_NOTE}"
    note = make_event(object_type="activity.note", action="created", data=_DROP,
                      previous_data=_DROP)  # fmt: skip
    assert summarize(note) == f"Note added · {HIDDEN_NOTE}"
    with_changes = make_event(changed_fields=["name", "url"], data=_DROP, previous_data=_DROP)
    assert summarize(with_changes) == f"2 fields changed: name, url · {HIDDEN_NOTE}"


def test_null_and_empty_payloads_are_not_called_hidden() -> None:
    deleted = make_event(object_type="contact", action="deleted", data=None, previous_data={})
    assert summarize(deleted) == "Contact deleted"


# ---------------------------------------------------------------------- safety


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
    assert text.startswith("Note added: '[bold]x[/] ␛[31mred␇ [@click=app.quit]")


def test_names_given_by_the_caller_are_made_visible_too() -> None:
    event = make_event(object_type="membership", action="activated", data={"user_id": "user_x"})
    assert summarize(event, {"user_x": "Evil\x1b]0;x\x07"}) == "Member activated: Evil␛]0;x␇"


def test_quotes_are_cut_so_the_verb_stays_readable() -> None:
    event = make_event(object_type="activity.note", action="created", data={"note": "x" * 10_000})
    text = summarize(event)
    assert text == "Note added: '" + "x" * (MAX_QUOTE_CHARS - 1) + "…'"


def test_long_sentences_are_capped() -> None:
    event = make_event(changed_fields=["f" * 60 + str(n) for n in range(5)])
    text = summarize(event)
    assert len(text) == MAX_SUMMARY_CHARS and text.endswith("…")


@pytest.mark.parametrize(
    ("seconds", "expected"), [(0, "0s"), (42, "42s"), (192, "3m 12s"), (3900, "1h 05m")]
)
def test_call_durations(seconds: int, expected: str) -> None:
    assert format_duration(seconds) == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            ["note", "status_label", "name", "display_name", "old_status_label",
             "new_status_label", "direction", "duration", "lead_name", "subject", "x",
             "value_formatted", "text", "status", "n_objects", "n_leads", "custom",
             "custom.cf_x", "user_id", "source_lead_name", "body", "query", "title"]
        )
        | st.text(max_size=8),
        children,
        max_size=6,
    ),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    object_type=st.sampled_from([*OBJECT_TYPE_ACTIONS, "note", "??"]) | st.text(max_size=12),
    action=st.sampled_from(sorted({a for v in OBJECT_TYPE_ACTIONS.values() for a in v}))
    | st.text(max_size=8),
    data=json_values,
    previous_data=json_values,
    meta=json_values,
    changed=st.lists(
        st.sampled_from(["status_label", "value", "custom.cf_x", "lead_id", "note", "is_complete"])
        | st.text(max_size=10),
        max_size=5,
    ),
    names=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
)
def test_never_raises_on_any_json(
    object_type: str,
    action: str,
    data: Any,
    previous_data: Any,
    meta: Any,
    changed: list[str],
    names: dict[str, str],
) -> None:
    event = make_event(
        object_type=object_type,
        action=action,
        data=data,
        previous_data=previous_data,
        meta=meta,
        changed_fields=changed,
    )
    text = summarize(event, names)
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
