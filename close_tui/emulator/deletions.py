"""Deleted leads made to be restored: the cases a restore must handle, on purpose.

The seeded organization already deletes leads four ways (a user, a bulk action, a
reverted import, a merge), but with whatever children chance gave them. This module adds
two more deleted leads whose children cover every rule of a restore:

* ``api_key``: deleted through an API key (the one way the organization lacked). Its lead
  payload **embeds its contacts** (as Close's lead objects do), its status was retired
  since, an opportunity and a task belong to the user who left the organization, one task
  is completed, a call has a recording, SMS sit in ``outbox``/``scheduled``, and an
  email, a meeting and a status change come along that no API can re-create. One of its
  notes was deleted days earlier on its own (not part of the lead's deletion).
* ``user``: deleted by a member in the app; a plain payload (no embedded contacts), an
  outbox SMS, and an automatic "opportunity due" task.

Everything comes from its own random stream, ``deletions:<seed>``, and the simulation's
own stream is put back afterwards, so the seeded organization's ids and events are the
same with or without these cases. Their events lie 6–12 days back: far from the first
screens (the newest events).
"""

from __future__ import annotations

import random
import weakref
from dataclasses import dataclass
from typing import Final

from close_tui.emulator.dataset import MS_DAY, MS_HOUR, MS_MINUTE, Json, LeadSim, Obj, OrgSim

#: The status the ``api_key`` lead had, deleted from the organization since.
RETIRED_STATUS_LABEL: Final = "Legacy (retired)"


@dataclass(frozen=True)
class DeletionCases:
    """Ids the tests need: the deleted leads, by how they were deleted."""

    api_key_lead_id: str
    user_lead_id: str
    retired_status_id: str
    cleanup_key_id: str
    #: A note of the ``api_key`` lead deleted on its own, days before the lead.
    earlier_note_id: str


_CASES: weakref.WeakKeyDictionary[OrgSim, DeletionCases] = weakref.WeakKeyDictionary()


def add_deletion_cases(sim: OrgSim) -> DeletionCases:
    """Add the two deleted leads to ``sim`` (after :meth:`OrgSim.build`, before the event
    store is made from ``sim.recs``). Deterministic per seed."""
    saved = sim.rng
    sim.rng = random.Random(f"deletions:{sim.seed}")
    saved_horizon = sim.horizon
    sim.horizon = sim.now_ms
    try:
        cases = _build(sim)
    finally:
        sim.rng = saved
        sim.horizon = saved_horizon
    _CASES[sim] = cases
    return cases


def cases_of(sim: OrgSim) -> DeletionCases:
    """The cases added to ``sim`` (``KeyError`` if the emulator was built without them)."""
    return _CASES[sim]


def _build(sim: OrgSim) -> DeletionCases:
    rng = sim.rng
    retired_id = sim.new_id("stat_")
    cleanup_key_id = "api_" + sim.new_id("", 22)
    admin = sim.admin_user
    member = sim.member_user
    gone = sim.left_user or member  # deactivated at sim.left_ms (when n_users >= 4)
    start = min(sim.left_ms - 3 * MS_DAY, sim.now_ms - 12 * MS_DAY)
    start = max(start, sim.start_ms + MS_DAY) + rng.randint(0, MS_HOUR)

    # ---------------------------------------------------------------- the API-key lead
    a = _new_lead(sim, start, member, retired_id, RETIRED_STATUS_LABEL)
    create = sim.req(member, "POST", "/api/v1/lead/")
    embedded = [sim.new_contact_obj(start, member, a.lead) for _ in range(2)]
    a.lead.state["contacts"] = [dict(c.state) for c in embedded]
    sim.create(a.lead, start, create)
    for contact in embedded:
        a.contacts.append(contact)
        a.children.append(contact)
        sim.create(contact, start, create)
    t = start + 20 * MS_MINUTE
    extra = sim.new_contact_obj(t, member, a.lead)
    a.contacts.append(extra)
    a.children.append(extra)
    sim.create(extra, t, sim.req(member, "POST", "/api/v1/contact/"))
    # Close's lead object lists its contacts: a new list (the created event keeps the old).
    a.lead.state = {**a.lead.state, "contacts": [dict(c.state) for c in a.contacts]}
    c1, c2 = a.contacts[:2]

    t += 30 * MS_MINUTE
    opp = _opportunity(sim, a, t, gone, c1.id)
    sim.create(opp, t, sim.req(gone, "POST", "/api/v1/opportunity/"))
    t += 10 * MS_MINUTE
    open_task = sim.new_task_obj("lead", t, gone, a, gone)
    sim.create(open_task, t, sim.req(gone, "POST", "/api/v1/task/"))
    t += 10 * MS_MINUTE
    done_task = sim.new_task_obj("lead", t, member, a, member)
    sim.create(done_task, t, sim.req(member, "POST", "/api/v1/task/"))
    t += 2 * MS_HOUR
    req = sim.req(member, "PUT", f"/api/v1/task/{done_task.id}/")
    sim.update(done_task, t, req, {"is_complete": True}, "completed")
    done = sim.new_activity_obj(
        "task_completed", t, member, a, task_id=done_task.id, task_text=done_task.state["text"]
    )
    sim.create(done, t, req)

    t += 15 * MS_MINUTE
    note = sim.new_activity_obj("note", t, member, a, note=sim.note_text())
    note.state["contact_id"] = c2.id
    sim.create(note, t, sim.req(member, "POST", "/api/v1/activity/note/"))
    t += 5 * MS_MINUTE
    plain = sim.new_activity_obj("note", t, admin, a, note=sim.note_text())
    plain.state["contact_id"] = None
    sim.create(plain, t, sim.req(admin, "POST", "/api/v1/activity/note/"))
    t += 5 * MS_MINUTE
    doomed = sim.new_activity_obj("note", t, member, a, note=sim.note_text())
    sim.create(doomed, t, sim.req(member, "POST", "/api/v1/activity/note/"))

    t += 40 * MS_MINUTE
    call = sim.new_activity_obj(
        "call", t, member, a,
        direction="outbound", status="completed", duration=rng.randint(60, 900),
        phone=c1.state["phones"][0]["phone"], note=sim.note_text(), source="Close.io",
        recording_url=f"https://recordings.example.invalid/{sim.new_id('rec_', 16)}.mp3",
        recording_duration=rng.randint(60, 900),
    )  # fmt: skip
    call.state["contact_id"] = c1.id
    sim.create(call, t, sim.req(member, "POST", "/api/v1/activity/call/"))

    first = c2.state["name"].split(" ")[0]
    sms_specs = (
        ("outbox", f"Hi {first}, following up on our call: are you free Thursday?"),
        ("scheduled", f"Reminder {first}: our demo is tomorrow at 10."),
        ("sent", f"Thanks {first}, talk soon."),
    )
    for status, text in sms_specs:
        t += 7 * MS_MINUTE
        sms = sim.new_activity_obj(
            "sms", t, member, a, direction="outbound", status=status, text=text,
            local_phone="+15550100", remote_phone=c2.state["phones"][0]["phone"],
        )  # fmt: skip
        sms.state["contact_id"] = c2.id
        if status == "scheduled":
            sms.state["date_scheduled"] = sim.fmt_data(sim.now_ms + 2 * MS_DAY)
        sim.create(sms, t, sim.req(member, "POST", "/api/v1/activity/sms/"))

    t += 20 * MS_MINUTE
    email = sim.new_activity_obj(
        "email", t, member, a, direction="outgoing", status="sent",
        subject="Proposal for " + a.lead.state["display_name"], body_text=sim.note_text(),
        sender="sales@example.com", to=[c1.state["emails"][0]["email"]],
        date_sent=sim.fmt_data(t),
    )  # fmt: skip
    sim.create(email, t, sim.req(member, "POST", "/api/v1/activity/email/"))
    t += 20 * MS_MINUTE
    meeting = sim.new_activity_obj(
        "meeting", t, None, a, title="Intro call", status="completed",
        starts_at=sim.fmt_data(t - MS_HOUR), ends_at=sim.fmt_data(t - 30 * MS_MINUTE),
    )  # fmt: skip
    sim.create(meeting, t, sim.req(None, "POST", "/api/v1/activity/meeting/"))
    t += 20 * MS_MINUTE
    status_id, status_label = sim.lead_statuses[2]
    req = sim.req(member, "PUT", f"/api/v1/lead/{a.lead.id}/")
    old_label = a.lead.state["status_label"]
    sim.update(a.lead, t, req, {"status_id": status_id, "status_label": status_label})
    change = sim.new_activity_obj(
        "lead_status_change", t, member, a, old_status_label=old_label,
        new_status_label=status_label, new_status_id=status_id,
    )  # fmt: skip
    sim.create(change, t, req)
    # Back to the status that is retired later (a deliberate revert by the owner).
    t += 5 * MS_MINUTE
    sim.update(a.lead, t, sim.req(member, "PUT", f"/api/v1/lead/{a.lead.id}/"),
               {"status_id": retired_id, "status_label": RETIRED_STATUS_LABEL})

    # One note deleted on its own, days before the lead.
    t += MS_DAY
    sim.delete(doomed, t, sim.req(member, "DELETE", f"/api/v1/activity/note/{doomed.id}/"))
    a.children.remove(doomed)

    t_a = max(sim.left_ms + MS_DAY, t + MS_DAY) + rng.randint(0, 6 * MS_HOUR)
    t_a = min(t_a, sim.now_ms - 6 * MS_DAY)
    t_a = max(t_a, t + MS_MINUTE)
    sim.delete_lead(
        a, t_a,
        sim.req(admin, "DELETE", f"/api/v1/lead/{a.lead.id}/", api_key_id=cleanup_key_id),
    )  # fmt: skip

    # ---------------------------------------------------------------- the user's lead
    t = start + 3 * MS_HOUR
    b = _new_lead(sim, t, member, *sim.lead_statuses[2])
    create = sim.req(member, "POST", "/api/v1/lead/")
    sim.create(b.lead, t, create)
    for _ in range(2):
        contact = sim.new_contact_obj(t, member, b.lead)
        b.contacts.append(contact)
        b.children.append(contact)
        sim.create(contact, t, create)
    t += 25 * MS_MINUTE
    b_opp = _opportunity(sim, b, t, member, b.contacts[1].id)
    req = sim.req(member, "POST", "/api/v1/opportunity/")
    sim.create(b_opp, t, req)
    due = sim.new_task_obj("opportunity_due", t, None, b, member)
    due.state["object_id"] = b_opp.id
    sim.create(due, t, req)
    t += 15 * MS_MINUTE
    task = sim.new_task_obj("lead", t, member, b, member)
    sim.create(task, t, sim.req(member, "POST", "/api/v1/task/"))
    for _ in range(2):
        t += 11 * MS_MINUTE
        note = sim.new_activity_obj("note", t, member, b, note=sim.note_text())
        sim.create(note, t, sim.req(member, "POST", "/api/v1/activity/note/"))
    t += 9 * MS_MINUTE
    call = sim.new_activity_obj(
        "call", t, member, b, direction="inbound", status="completed", duration=42,
        phone=b.contacts[0].state["phones"][0]["phone"], note="",
    )  # fmt: skip
    sim.create(call, t, sim.req(member, "POST", "/api/v1/activity/call/"))
    t += 9 * MS_MINUTE
    sms = sim.new_activity_obj(
        "sms", t, member, b, direction="outbound", status="outbox",
        text="On my way, see you in 10.",
    )  # fmt: skip
    sim.create(sms, t, sim.req(member, "POST", "/api/v1/activity/sms/"))
    t_b = min(t + 2 * MS_DAY + rng.randint(0, MS_DAY), sim.now_ms - 6 * MS_DAY - MS_HOUR)
    t_b = max(t_b, t + MS_MINUTE)
    sim.delete_lead(b, t_b, sim.req(member, "DELETE", f"/api/v1/lead/{b.lead.id}/"))

    return DeletionCases(
        api_key_lead_id=a.lead.id,
        user_lead_id=b.lead.id,
        retired_status_id=retired_id,
        cleanup_key_id=cleanup_key_id,
        earlier_note_id=doomed.id,
    )


def _new_lead(sim: OrgSim, ms: int, user: str, status_id: str, status_label: str) -> LeadSim:
    lead = sim.new_lead_obj(ms, user)
    lead.state["status_id"] = status_id
    lead.state["status_label"] = status_label
    lead.state["description"] = sim.rng.choice(
        ("Met at the trade fair.", "Referred by a customer.", "Inbound from the website.")
    )
    lead.state[sim.cf_region] = sim.rng.choice(("EMEA", "NA", "APAC"))
    lead_sim = LeadSim(lead, user)
    sim.lead_sims[lead.id] = lead_sim
    return lead_sim


def _opportunity(sim: OrgSim, lead: LeadSim, ms: int, user: str, contact_id: str) -> Obj:
    sid, label, kind, conf = sim.opp_statuses[1]
    value = sim.rng.choice((2500, 12000, 60000)) * 100
    oid = sim.new_id("oppo_")
    state: Json = {
        "id": oid,
        "lead_id": lead.lead.id,
        "lead_name": lead.lead.state["display_name"],
        "contact_id": contact_id,
        "organization_id": sim.org_id,
        "status_id": sid,
        "status_label": label,
        "status_type": kind,
        "confidence": conf,
        "value": value,
        "value_currency": "USD",
        "value_period": "annual",
        "value_formatted": f"${value // 100:,}",
        "note": "Budget approved for next quarter.",
        "user_id": user,
        "user_name": sim.user_names[user],
        "date_won": None,
        **sim._stamp(ms, user),
    }
    opp = Obj("opportunity", oid, lead.lead.id, state)
    lead.opps.append(opp)
    lead.children.append(opp)
    return opp
