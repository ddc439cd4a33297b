"""The emulator's create endpoints and the deleted leads made for restore.

The writes are as strict as the real API could be, so a restore that passes here sends
nothing Close has a reason to refuse; and the deletion cases are added without changing
one id or event of the seeded organization.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from close_tui.emulator import Emulator
from close_tui.emulator.deletions import RETIRED_STATUS_LABEL, cases_of
from close_tui.emulator.writes import READ_ONLY, writes_of

Make = Callable[..., tuple[Emulator, Any]]


def post(em: Emulator, path: str, body: Any, *, key: str = "admin") -> httpx.Response:
    secret = em.admin_key if key == "admin" else em.member_key
    request = httpx.Request(
        "POST",
        "http://emulator.test/api/v1" + path,
        headers={"Authorization": httpx.BasicAuth(secret, "")._auth_header},
        content=json.dumps(body).encode(),
    )
    return em.handle(request)


def get(em: Emulator, path: str, params: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request(
        "GET",
        httpx.URL("http://emulator.test/api/v1" + path, params=params or {}),
        headers={"Authorization": httpx.BasicAuth(em.admin_key, "")._auth_header},
    )
    return em.handle(request)


@pytest.fixture
def em(make_emulator: Make) -> Emulator:
    emulator, _ = make_emulator()
    return emulator


def live_lead(em: Emulator) -> tuple[str, list[str]]:
    """A lead that exists, and its live contacts."""
    for lead_id, sim in sorted(em.sim.lead_sims.items()):
        contacts = [c.id for c in sim.contacts if c.alive]
        if not sim.deleted and contacts:
            return lead_id, contacts
    raise AssertionError("no live lead with contacts")


# --------------------------------------------------------------------------- creating


def test_a_created_lead_with_contacts_is_one_request_and_readable(em: Emulator) -> None:
    answer = post(em, "/lead/", {"name": "Acme [/] Inc", "custom.cf_x": "kept",
                                 "contacts": [{"name": "Ann"}, {"name": "Bo"}]})
    assert answer.status_code == 200, answer.text
    lead = answer.json()
    assert lead["id"].startswith("lead_") and lead["display_name"] == "Acme [/] Inc"
    assert lead["custom.cf_x"] == "kept"
    assert [c["name"] for c in lead["contacts"]] == ["Ann", "Bo"]
    events = get(em, "/event/", {"lead_id": lead["id"]}).json()["data"]
    assert sorted((e["object_type"], e["action"]) for e in events) == [
        ("contact", "created"), ("contact", "created"), ("lead", "created")]
    assert len({e["request_id"] for e in events}) == 1
    assert {e["user_id"] for e in events} == {em.sim.admin_user}
    assert get(em, f"/lead/{lead['id']}/").json()["name"] == "Acme [/] Inc"
    assert lead["id"] in em.leads


@pytest.mark.parametrize("object_type", sorted(READ_ONLY))
def test_read_only_fields_are_refused_never_dropped(em: Emulator, object_type: str) -> None:
    lead_id, _ = live_lead(em)
    path = {"lead": "/lead/", "contact": "/contact/", "opportunity": "/opportunity/",
            "task.lead": "/task/"}.get(object_type) or "/" + object_type.replace(".", "/") + "/"
    before = len(writes_of(em).created)
    for field in sorted(READ_ONLY[object_type]):
        body = {"lead_id": lead_id, "text": "t", field: "x"}
        if object_type == "lead":
            body = {"name": "n", field: "x"}
        answer = post(em, path, body)
        assert answer.status_code == 400, (field, answer.text)
        assert field in answer.json()["field-errors"]
    assert len(writes_of(em).created) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/activity/note/", {"note": "no lead"}, "lead_id"),
        ("/contact/", {"name": "orphan"}, "lead_id"),
        ("/activity/note/", {"lead_id": "lead_" + "x" * 43, "note": "?"}, "lead_id"),
        ("/task/", {"lead_id": "LEAD", "text": "t", "assigned_to": "user_nobody"}, "assigned_to"),
        ("/task/", {"lead_id": "LEAD"}, "text"),
        ("/activity/call/", {"lead_id": "LEAD", "contact_id": "cont_unknown"}, "contact_id"),
        ("/opportunity/", {"lead_id": "LEAD", "status_id": "stat_gone"}, "status_id"),
        ("/opportunity/", {"lead_id": "LEAD", "status_id": "S", "status": "Won"}, "status"),
        ("/activity/sms/", {"lead_id": "LEAD", "status": "exploded"}, "status"),
        ("/lead/", {"name": "x", "status_id": "stat_gone"}, "status_id"),
    ],
)
def test_what_the_real_api_would_refuse_is_refused(
    em: Emulator, path: str, body: dict[str, Any], field: str
) -> None:
    lead_id, _ = live_lead(em)
    body = {k: (lead_id if v == "LEAD" else v) for k, v in body.items()}
    if body.get("status_id") == "S":
        body["status_id"] = em.sim.opp_statuses[0][0]
    answer = post(em, path, body)
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["field-errors"]
    assert writes_of(em).created == []


def test_a_deleted_lead_and_a_contact_of_another_lead_are_refused(em: Emulator) -> None:
    deleted = cases_of(em.sim).user_lead_id
    assert post(em, "/activity/note/", {"lead_id": deleted, "note": "x"}).status_code == 400
    lead_id, _ = live_lead(em)
    other = next(c.id for lid, s in sorted(em.sim.lead_sims.items()) if lid != lead_id
                 and not s.deleted for c in s.contacts if c.alive)
    answer = post(em, "/activity/note/", {"lead_id": lead_id, "note": "x", "contact_id": other})
    assert answer.status_code == 400 and "contact_id" in answer.json()["field-errors"]


def test_deactivated_users_are_refused(em: Emulator) -> None:
    lead_id, _ = live_lead(em)
    gone = em.sim.left_user
    assert gone is not None
    for path, body in (("/task/", {"text": "t", "assigned_to": gone}),
                       ("/opportunity/", {"user_id": gone}),
                       ("/activity/note/", {"user_id": gone, "note": "n"})):
        answer = post(em, path, {"lead_id": lead_id, **body})
        assert answer.status_code == 400, answer.text
    members = get(em, f"/organization/{em.organization['id']}/",
                  {"_fields": "memberships,inactive_memberships"}).json()
    assert gone in {m["user_id"] for m in members["inactive_memberships"]}
    assert gone not in {m["user_id"] for m in members["memberships"]}


@pytest.mark.parametrize("kind", ["email", "meeting"])
def test_emails_and_meetings_cannot_be_created(em: Emulator, kind: str) -> None:
    lead_id, _ = live_lead(em)
    answer = post(em, f"/activity/{kind}/", {"lead_id": lead_id, "subject": "x"})
    assert answer.status_code == 400 and "sync" in answer.json()["error"]


def test_an_outbox_sms_is_sent_and_a_draft_is_not(em: Emulator) -> None:
    lead_id, _ = live_lead(em)
    draft = post(em, "/activity/sms/", {"lead_id": lead_id, "text": "hi", "status": "draft"})
    outbox = post(em, "/activity/sms/", {"lead_id": lead_id, "text": "hi", "status": "outbox"})
    assert draft.json()["status"] == "draft" and outbox.json()["status"] == "sent"
    assert writes_of(em).sent_sms == [outbox.json()["id"]]


@pytest.mark.parametrize("fault", ["503_after", "drop_after", "timeout_after"])
def test_faults_after_the_write_lose_the_answer_not_the_object(em: Emulator, fault: str) -> None:
    lead_id, _ = live_lead(em)
    writes_of(em).faults[1] = fault
    try:
        answer = post(em, "/activity/note/", {"lead_id": lead_id, "note": "once"})
        assert answer.status_code == 503
    except httpx.TransportError:
        assert fault != "503_after"
    (created,) = writes_of(em).created
    assert created.state["note"] == "once"


@pytest.mark.parametrize("fault", ["503_before", "drop_before"])
def test_faults_before_the_write_create_nothing(em: Emulator, fault: str) -> None:
    lead_id, _ = live_lead(em)
    writes_of(em).faults[1] = fault
    with contextlib.suppress(httpx.TransportError):
        post(em, "/activity/note/", {"lead_id": lead_id, "note": "never"})
    assert writes_of(em).created == []
    assert post(em, "/activity/note/", {"lead_id": lead_id, "note": "n"}).status_code == 200


def test_statuses_are_listed(em: Emulator) -> None:
    lead = get(em, "/status/lead/").json()["data"]
    labels = [s["label"] for s in lead]
    # The seeded statuses first, in order; statuses created through the API during the
    # window follow (emulator/lookups.py serves the list).
    assert labels[: len(em.sim.lead_statuses)] == [label for _, label in em.sim.lead_statuses]
    opp = get(em, "/status/opportunity/").json()["data"]
    assert {s["type"] for s in opp} == {"active", "won", "lost"}
    assert RETIRED_STATUS_LABEL not in {s["label"] for s in lead}
    assert get(em, "/organization/orga_nope/").status_code == 404


def test_every_other_write_is_still_refused(em: Emulator) -> None:
    assert post(em, "/event/", {}).status_code == 405
    assert post(em, "/lead/merge/", {}).status_code == 405


# --------------------------------------------------------------------------- deletion cases


def test_the_seeded_organization_is_unchanged_by_the_deletion_cases(make_emulator: Make) -> None:
    with_cases, _ = make_emulator()
    without, _ = make_emulator(deletion_cases=False)
    old = without.events()
    new = {e["id"]: e for e in with_cases.events()}
    assert all(new[e["id"]] == e for e in old)
    cases = cases_of(with_cases.sim)
    added = {e["lead_id"] for e in with_cases.events() if e["id"] not in {o["id"] for o in old}}
    assert added == {cases.api_key_lead_id, cases.user_lead_id}
    assert without.admin_key == with_cases.admin_key
    assert without.leads.keys() == with_cases.leads.keys()


def test_leads_are_deleted_in_every_way(default_emulator: Emulator) -> None:
    """A user, a bulk action, a reverted import, a merge and an API key."""
    deleted = [e for e in default_emulator.events()
               if e["object_type"] == "lead" and e["action"] == "deleted"]
    kinds = set()
    for e in deleted:
        meta = e["meta"]
        if "merge_source_lead_id" in meta:
            kinds.add("merge")
        elif "bulk_action_id" in meta:
            kinds.add("bulk")
        elif "revert_import_id" in meta:
            kinds.add("import")
        elif e["api_key_id"]:
            kinds.add("api_key")
        elif e["user_id"]:
            kinds.add("user")
    assert kinds == {"merge", "bulk", "import", "api_key", "user"}


def test_the_api_key_case_covers_every_restore_rule(default_emulator: Emulator) -> None:
    cases = cases_of(default_emulator.sim)
    events = [e for e in default_emulator.events() if e["lead_id"] == cases.api_key_lead_id]
    (deletion,) = [e for e in events if e["object_type"] == "lead" and e["action"] == "deleted"]
    assert deletion["api_key_id"] == cases.cleanup_key_id
    lead = deletion["previous_data"]
    assert lead["status_id"] == cases.retired_status_id and len(lead["contacts"]) == 3
    fanout = [e for e in events if e["request_id"] == deletion["request_id"]]
    types = {e["object_type"] for e in fanout}
    assert {"activity.email", "activity.meeting", "activity.sms", "activity.call",
            "task.lead", "opportunity", "activity.lead_status_change"} <= types
    sms = {e["previous_data"]["status"] for e in fanout if e["object_type"] == "activity.sms"}
    assert sms == {"outbox", "scheduled", "sent"}
    earlier = [e for e in events if e["object_id"] == cases.earlier_note_id
               and e["action"] == "deleted"]
    assert earlier and earlier[0]["request_id"] != deletion["request_id"]
    now = default_emulator.now.timestamp()
    assert all(now - _ts(e["date_created"]) > 5 * 86400 for e in events)


def _ts(text: str) -> float:
    from datetime import UTC, datetime

    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()
