"""The pure rules of a restore: payload cleaning and plan building from given events."""

from __future__ import annotations

from typing import Any

import pytest

from close_tui.core.models import Event
from close_tui.core.restore.kinds import KINDS, cannot_reason, count_phrase, label_of
from close_tui.core.restore.payloads import BASE_READ_ONLY, READ_ONLY, Context, clean
from close_tui.core.restore.plan import (
    EMPTY_REASON,
    HIDDEN_REASON,
    NULL_REASON,
    Facts,
    build_plan,
    origin_of,
)
from close_tui.emulator.writes import READ_ONLY as EMULATOR_READ_ONLY

LEAD = "lead_" + "L" * 43
STAMP = {"id": "x", "organization_id": "orga_1", "date_created": "2026-01-01T00:00:00+00:00",
         "date_updated": "2026-01-02T00:00:00+00:00", "created_by": "user_a",
         "updated_by": "user_a", "created_by_name": "A", "updated_by_name": "A"}


def event(object_type: str, object_id: str, previous: Any = ..., **kw: Any) -> Event:
    raw: dict[str, Any] = {
        "id": "ev_" + object_id[-22:].rjust(22, "0"),
        "date_created": "2026-11-10T10:00:00.000000",
        "date_updated": "2026-11-10T10:00:00.000000",
        "organization_id": "orga_1",
        "object_type": object_type,
        "object_id": object_id,
        "lead_id": LEAD,
        "action": "deleted",
        "user_id": "user_a",
        "request_id": "req_" + "1" * 22,
        "api_key_id": None,
        "meta": {"request_method": "DELETE", "request_path": f"/api/v1/lead/{LEAD}/"},
        "data": None,
    }
    if previous is not ...:
        raw["previous_data"] = previous
    raw.update(kw)
    return Event.model_validate(raw)


@pytest.mark.parametrize("object_type", sorted(KINDS))
def test_read_only_fields_are_stripped_and_the_rest_kept(object_type: str) -> None:
    previous = {**STAMP, "custom.cf_x": "kept", "unknown_field": [1, 2], "lead_id": LEAD}
    body = clean(object_type, previous, Context()).payload
    assert not set(body) & BASE_READ_ONLY
    assert body["custom.cf_x"] == "kept" and body["unknown_field"] == [1, 2]
    # What we strip covers what the emulator (as strict as Close could be) refuses.
    assert EMULATOR_READ_ONLY[object_type] <= READ_ONLY[object_type]


def test_children_point_at_the_new_lead_and_contacts_are_remapped() -> None:
    ctx = Context(old_lead_id=LEAD, restorable_contacts=frozenset({"cont_1"}))
    note = clean("activity.note", {"lead_id": LEAD, "contact_id": "cont_1", "note": "n"}, ctx)
    assert note.refs == {"lead_id": LEAD, "contact_id": "cont_1"}
    lost = clean("activity.note", {"lead_id": LEAD, "contact_id": "cont_9", "note": "n"}, ctx)
    assert "contact_id" not in lost.payload and lost.contact_dropped == "cont_9"
    none = clean("activity.note", {"lead_id": LEAD, "contact_id": None}, ctx)
    assert none.payload["contact_id"] is None and "contact_id" not in none.refs
    inside = clean("contact", {"lead_id": LEAD, "name": "Ann"}, ctx, embedded=True)
    assert "lead_id" not in inside.payload and inside.refs == {}


def test_one_object_keeps_its_lead_and_its_living_contact() -> None:
    ctx = Context(deleted_contacts=frozenset({"cont_dead"}))
    kept = clean("activity.call", {"lead_id": LEAD, "contact_id": "cont_alive"}, ctx)
    assert kept.payload["contact_id"] == "cont_alive" and kept.refs == {}
    dead = clean("activity.call", {"lead_id": LEAD, "contact_id": "cont_dead"}, ctx)
    assert "contact_id" not in dead.payload


def test_statuses_kept_when_they_exist_dropped_with_a_note_when_not() -> None:
    ctx = Context(lead_statuses={"stat_ok": "Potential"})
    kept = clean("lead", {"status_id": "stat_ok", "status_label": "Potential",
                          "status": "Potential"}, ctx)
    assert kept.payload == {"status_id": "stat_ok"}
    gone = clean("lead", {"status_id": "stat_gone", "status_label": "Legacy"}, ctx)
    assert "status_id" not in gone.payload and gone.status_dropped == "Legacy"
    unchecked = clean("lead", {"status_id": "stat_gone"}, Context())
    assert unchecked.payload == {"status_id": "stat_gone"}


def test_users_who_left_are_unassigned() -> None:
    ctx = Context(active_users=frozenset({"user_here"}), user_names={"user_gone": "Gone Guy"})
    task = clean("task.lead", {"assigned_to": "user_gone", "text": "t", "is_complete": True,
                               "assigned_to_name": "Gone Guy"}, ctx)
    assert task.payload == {"text": "t", "is_complete": True}
    assert task.unassigned == ["user_gone"] and "Gone Guy" in task.notes[0]
    opp = clean("opportunity", {"user_id": "user_here", "value": 1}, ctx)
    assert opp.payload["user_id"] == "user_here"


@pytest.mark.parametrize("status", ["outbox", "scheduled"])
def test_sms_that_would_be_sent_come_back_as_drafts(status: str) -> None:
    sms = clean("activity.sms", {"status": status, "text": "hi",
                                 "date_scheduled": "2026-12-01T00:00:00+00:00"}, Context())
    assert sms.payload == {"status": "draft", "text": "hi"} and sms.drafted == status
    sent = clean("activity.sms", {"status": "sent", "text": "hi"}, Context())
    assert sent.payload["status"] == "sent" and sent.drafted is None


def test_calls_are_logged_as_external_without_their_recording() -> None:
    call = clean("activity.call", {"recording_url": "https://r/1.mp3", "duration": 60,
                                   "source": "Close.io", "quality_info": {}}, Context())
    assert call.payload == {"duration": 60, "source": "External"} and call.recording


def test_names_and_reasons() -> None:
    assert label_of("activity.call", {"direction": "outbound", "duration": 61}) == (
        "outbound call, 61 s")
    assert label_of("activity.note", {"note": "a\nb   c"}) == "a b c"
    assert len(label_of("activity.note", {"note": "x" * 500})) == 60
    assert label_of("contact", {"emails": [{"email": "a@b"}]}) == "a@b"
    assert label_of("lead", None, fallback="lead_1") == "lead_1"
    assert cannot_reason("activity.email").startswith("emails cannot")
    assert cannot_reason("task.missed_call").startswith("Close creates")
    assert "\x1b" not in cannot_reason("weird\x1b[31m")
    assert cannot_reason("activity.note") == ""
    assert (count_phrase(1, "opportunities"), count_phrase(2, "SMS")) == (
        "1 opportunity", "2 SMS")


# --------------------------------------------------------------------------- plans


def lead_deletion(previous: Any = ..., **kw: Any) -> Event:
    return event("lead", LEAD, previous, **kw)


@pytest.mark.parametrize(
    ("previous", "reason"),
    [(..., HIDDEN_REASON), (None, NULL_REASON), ({}, EMPTY_REASON)],
    ids=["missing", "null", "empty"],
)
def test_missing_null_and_empty_payloads_are_three_reasons(previous: Any, reason: str) -> None:
    child = event("activity.note", "acti_" + "n" * 43, previous)
    plan = build_plan(Facts(deletion=lead_deletion({"name": "Acme", "id": LEAD}),
                            organization_id="orga_1", fanout=[child]))
    (lost,) = plan.cannot
    assert lost.reason == reason and plan.can_apply
    blocked = build_plan(Facts(deletion=lead_deletion(previous), organization_id="orga_1"))
    assert not blocked.can_apply and reason in blocked.blockers[0]


def test_contacts_embedded_in_the_lead_are_created_once() -> None:
    contact = {"id": "cont_1", "name": "Ann", "lead_id": LEAD, **{k: v for k, v in STAMP.items()
                                                                  if k != "id"}}
    deletion = lead_deletion({"id": LEAD, "name": "Acme", "contacts": [contact]})
    fanout = [event("contact", "cont_1", contact), event("contact", "cont_2",
                                                         {**contact, "id": "cont_2"})]
    plan = build_plan(Facts(deletion=deletion, organization_id="orga_1", fanout=fanout))
    contacts = [i for i in plan.items if i.object_type == "contact"]
    assert [(i.old_id, i.embedded) for i in contacts] == [("cont_1", True), ("cont_2", False)]
    assert plan.items[0].payload["contacts"] == [{"name": "Ann"}]
    assert plan.summary() == "1 lead, 2 contacts"


def test_how_it_was_deleted_is_read_from_meta() -> None:
    base = {"request_method": "POST", "request_path": "/x/"}
    cases = {
        "merge": {"meta": {**base, "merge_source_lead_id": LEAD,
                           "merge_destination_lead_id": "lead_dest"}},
        "bulk_action": {"meta": {**base, "bulk_action_id": "bulk_1"}},
        "import_revert": {"meta": {**base, "revert_import_id": "imp_1"}, "user_id": None},
        "api_key": {"api_key_id": "api_1"},
        "user": {},
        "system": {"user_id": None},
    }
    for kind, extra in cases.items():
        origin = origin_of(lead_deletion({"id": LEAD}, **extra), {"user_a": "Ann Lee"})
        assert origin.kind == kind
        text = origin.describe()
        assert "2026-11-10 10:00 UTC" in text
        if kind in ("bulk_action", "api_key", "user"):
            assert "Ann Lee" in text


def test_a_merged_lead_is_never_the_default() -> None:
    deletion = lead_deletion({"id": LEAD, "name": "Acme"},
                             meta={"merge_source_lead_id": LEAD,
                                   "merge_destination_lead_id": "lead_dest"})
    plan = build_plan(Facts(deletion=deletion, organization_id="orga_1",
                            merge_destination_name="Acme Group"))
    assert plan.can_apply and not plan.restore_by_default
    assert plan.warnings[0].code == "merged" and "Acme Group" in plan.warnings[0].message
