"""Creating objects (``POST``) and the lookups a restore reads, for the emulated API.

What a restore sends is checked as strictly as the real API could check it, so a payload
the emulator accepts is one we have no reason to think Close refuses:

* read-only fields (ids, dates, authors, names derived from other fields) are refused
  with ``400`` and per-field errors, never silently dropped;
* a child needs ``lead_id`` of a lead that exists (a contact or opportunity without one
  would make Close create a new lead; we refuse it, since a restore never wants that);
* ``contact_id`` must name a live contact of that lead; a user (``user_id``,
  ``assigned_to``) must be an active member; a ``status_id`` must exist; ``status`` and
  ``status_id`` together are refused;
* emails and meetings cannot be created here (they come from mailbox and calendar sync).

An SMS posted as ``outbox`` is **sent** and one posted as ``scheduled`` will be: both are
recorded in :attr:`WriteApi.sent_sms`, so tests can prove a restore sent nothing.

Every created object gets a ``created`` event (same request id for a lead and the
contacts posted inside it), is served by ``GET /lead/{id}/`` and can be written to
later. Faults can be injected per write (:attr:`WriteApi.faults`): an answer lost
*after* the object was created is exactly what a restore must survive without creating
it twice.

Also here, read-only: ``GET /status/lead/``, ``GET /status/opportunity/`` and
``GET /organization/{id}/`` (memberships, active and inactive).
"""

from __future__ import annotations

import random
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from close_tui.core import jsonnum
from close_tui.emulator.api import API_PREFIX, Answer, Emulator, _json
from close_tui.emulator.dataset import Json, LeadSim, Obj, OrgSim, Req, to_ms

#: Create endpoints (path under /api/v1/, without slashes) -> the object type made.
CREATE_PATHS: Final = {
    "lead": "lead",
    "contact": "contact",
    "opportunity": "opportunity",
    "task": "task.lead",
    "activity/note": "activity.note",
    "activity/call": "activity.call",
    "activity/sms": "activity.sms",
}

#: Create endpoints this emulator refuses, with the reason.
REFUSED_PATHS: Final = {
    "activity/email": "emails cannot be created here: they come from the mailbox sync",
    "activity/meeting": "meetings cannot be created here: they come from the calendar sync",
}

_COMMON_READ_ONLY: Final = frozenset(
    {
        "id",
        "organization_id",
        "date_created",
        "date_updated",
        "created_by",
        "updated_by",
        "created_by_name",
        "updated_by_name",
    }
)
_ACTIVITY_READ_ONLY: Final = _COMMON_READ_ONLY | {"_type", "user_name", "contact_name", "lead_name"}

#: Fields the API sets itself, per object type: posting any of them is a ``400``.
READ_ONLY: Final[Mapping[str, frozenset[str]]] = {
    "lead": _COMMON_READ_ONLY
    | {
        "display_name",
        "status_label",
        "html_url",
        "integration_links",
        "opportunities",
        "tasks",
        "primary_email",
        "primary_phone",
    },
    "contact": _COMMON_READ_ONLY | {"display_name", "lead_name", "integration_links"},
    "opportunity": _COMMON_READ_ONLY
    | {
        "lead_name",
        "status_label",
        "status_type",
        "value_formatted",
        "user_name",
        "contact_name",
        "integration_links",
    },
    "task.lead": _COMMON_READ_ONLY | {"_type", "lead_name", "assigned_to_name", "object_id"},
    "activity.note": _ACTIVITY_READ_ONLY,
    "activity.call": _ACTIVITY_READ_ONLY
    | {
        "recording_url",
        "voicemail_url",
        "recording_duration",
        "voicemail_duration",
        "quality_info",
        "transferred_from",
        "transferred_to",
        "cost",
    },
    "activity.sms": _ACTIVITY_READ_ONLY | {"cost", "error_message"},
}

SMS_STATUSES: Final = ("draft", "outbox", "scheduled", "sent", "inbox")

#: Injectable write faults: "…_before" = nothing created; "…_after" = created, answer lost.
FAULTS: Final = ("503_before", "drop_before", "503_after", "drop_after", "timeout_after")

_ACTIVITY_CLASS: Final = {"activity.note": "Note", "activity.call": "Call", "activity.sms": "SMS"}


class _Refused(Exception):
    def __init__(self, message: str, field_errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = dict(field_errors or {})


@dataclass(frozen=True)
class Created:
    """One object made by a ``POST`` (in order)."""

    object_type: str
    id: str
    lead_id: str
    state: Json
    request_id: str


@dataclass
class WriteApi:
    """The write side of one :class:`Emulator` (get it with :func:`writes_of`)."""

    emulator: Emulator
    #: POST number (1-based, counting every create request that reached routing) -> fault.
    faults: dict[int, str] = field(default_factory=dict)
    posts: int = 0
    created: list[Created] = field(default_factory=list)
    #: Ids of SMS that were sent (``outbox``) or will be (``scheduled``) because of a POST.
    sent_sms: list[str] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)

    # ------------------------------------------------------------------ routing

    def answer(
        self, method: str, path: str, params: Mapping[str, str], body: bytes, key_kind: str
    ) -> Answer | None:
        """The answer for the paths served here, ``None`` for every other request."""
        if not path.startswith(API_PREFIX) or not path.endswith("/"):
            return None
        route = path[len(API_PREFIX) : -1]
        if method != "POST":
            return None  # statuses and memberships: emulator/lookups.py serves them
        if route in REFUSED_PATHS:
            return self._error(400, REFUSED_PATHS[route])
        object_type = CREATE_PATHS.get(route)
        if object_type is None:
            return None
        self.posts += 1
        fault = self.faults.get(self.posts)
        if fault == "503_before":
            return self._error(503, "service unavailable (injected, nothing created)")
        if fault == "drop_before":
            return Answer(0, [], b"", "drop")
        try:
            payload = jsonnum.loads(body) if body else None
        except ValueError:
            return self._error(400, "the body is not JSON")
        try:
            created = self._create(object_type, payload, key_kind, path)
        except _Refused as exc:
            return self._error(400, exc.message, exc.field_errors)
        if fault == "503_after":
            return self._error(503, "service unavailable (injected after the write)")
        if fault == "drop_after":
            return Answer(0, [], b"", "drop")
        if fault == "timeout_after":
            return Answer(0, [], b"", "slow")
        return self._ok(created)

    def _ok(self, body: Any) -> Answer:
        return Answer(200, self.emulator._common_json(), _json(body))

    def _error(
        self, status: int, message: str, field_errors: Mapping[str, str] | None = None
    ) -> Answer:
        body: Json = {"error": message}
        if field_errors:
            body = {"errors": [message], "field-errors": dict(field_errors)}
        return Answer(status, self.emulator._common_json(), _json(body))

    # ------------------------------------------------------------------ lookups

    @property
    def sim(self) -> OrgSim:
        return self.emulator.sim

    def active_user_ids(self) -> set[str]:
        """Users who are members now (the one who left and one not yet hired are not)."""
        sim = self.sim
        now = to_ms(self.emulator.clock())
        active = set(sim.user_ids)
        if sim.left_user is not None and now >= sim.left_ms:
            active.discard(sim.left_user)
        if sim.joined_user is not None and now < sim.joined_ms:
            active.discard(sim.joined_user)
        return active

    def _key_user(self, key_kind: str) -> tuple[str, str]:
        sim = self.sim
        if key_kind == "admin":
            return sim.admin_user, sim.admin_key_id
        return sim.member_user, sim.member_key_id

    def _create(self, object_type: str, payload: Any, key_kind: str, path: str) -> Json:
        if not isinstance(payload, dict):
            raise _Refused("the body must be a JSON object")
        sim = self.sim
        user, key_id = self._key_user(key_kind)
        self._check_read_only(object_type, payload)
        saved = sim.rng
        sim.rng = self.rng  # our own id stream: the seeded organization's stays as it was
        try:
            ms = max(to_ms(self.emulator.clock()), 0)
            req = Req(sim.new_id("req_", 22), user, key_id,
                      {"request_method": "POST", "request_path": path})
            if object_type == "lead":
                return self._create_lead(payload, user, ms, req)
            lead = self._existing_lead(payload)
            state = self._child_state(object_type, payload, lead, user, ms)
            return self._store(object_type, state, lead, ms, req)
        finally:
            sim.rng = saved

    def _check_read_only(self, object_type: str, payload: Mapping[str, Any]) -> None:
        bad = sorted(set(payload) & READ_ONLY[object_type])
        if bad:
            raise _Refused(
                f"read-only field{'s' if len(bad) > 1 else ''} in a {object_type} create: "
                + ", ".join(bad),
                {name: "read-only field: the API sets it" for name in bad},
            )

    def _existing_lead(self, payload: Mapping[str, Any]) -> LeadSim:
        lead_id = payload.get("lead_id")
        if not lead_id:
            raise _Refused("lead_id is required (without it Close would create a new lead)",
                           {"lead_id": "required"})
        lead = self.sim.lead_sims.get(str(lead_id))
        if lead is None or lead.deleted:
            raise _Refused(f"lead {lead_id} does not exist", {"lead_id": "no such lead"})
        return lead

    def _check_user(self, field_name: str, user_id: Any) -> str:
        if user_id not in self.active_user_ids():
            raise _Refused(
                f"{field_name}: {user_id} is not an active member of the organization",
                {field_name: "not an active member"},
            )
        return str(user_id)

    def _check_contact(self, lead: LeadSim, contact_id: Any) -> None:
        if contact_id is None:
            return
        if not any(c.id == contact_id and c.alive for c in lead.contacts):
            raise _Refused(
                f"contact_id {contact_id} is not a contact of lead {lead.lead.id}",
                {"contact_id": "no such contact on this lead"},
            )

    def _stamp(self, user: str, ms: int) -> Json:
        sim = self.sim
        name = sim.user_names.get(user)
        ts = sim.fmt_data(ms)
        return {"created_by": user, "created_by_name": name, "updated_by": user,
                "updated_by_name": name, "date_created": ts, "date_updated": ts}

    def _create_lead(self, payload: Json, user: str, ms: int, req: Req) -> Json:
        sim = self.sim
        if "status" in payload and "status_id" in payload:
            raise _Refused("send status_id or status, not both", {"status": "conflicts"})
        statuses = dict(sim.lead_statuses)
        if "status" in payload:
            by_label = {label: sid for sid, label in sim.lead_statuses}
            if payload["status"] not in by_label:
                raise _Refused(f"unknown lead status {payload['status']!r}",
                               {"status": "no such status"})
            status_id = by_label[payload["status"]]
        else:
            status_id = payload.get("status_id") or sim.lead_statuses[0][0]
            if status_id not in statuses:
                raise _Refused(f"unknown lead status {status_id}", {"status_id": "no such status"})
        contacts_in = payload.get("contacts")
        if contacts_in is not None and not (
            isinstance(contacts_in, list) and all(isinstance(c, dict) for c in contacts_in)
        ):
            raise _Refused("contacts must be a list of objects", {"contacts": "not a list"})
        for contact in contacts_in or []:
            self._check_read_only("contact", contact)
            if "lead_id" in contact:
                raise _Refused("a contact posted inside a lead takes no lead_id",
                               {"contacts": "lead_id given"})
        lead_id = sim.new_id("lead_")
        name = str(payload.get("name") or "")
        state: Json = {k: v for k, v in payload.items() if k not in ("status", "contacts")}
        state.update(
            id=lead_id,
            display_name=name,
            name=name,
            status_id=status_id,
            status_label=statuses[status_id],
            organization_id=sim.org_id,
            **self._stamp(user, ms),
        )
        lead_obj = Obj("lead", lead_id, lead_id, state)
        lead = LeadSim(lead_obj, user)
        contact_states: list[Json] = []
        for contact in contacts_in or []:
            contact_states.append(self._contact_state(contact, lead, user, ms))
        if contacts_in is not None:
            state["contacts"] = [dict(c) for c in contact_states]
        sim.lead_sims[lead_id] = lead
        self._emit_created(lead_obj, ms, req)
        for contact_state in contact_states:
            self._store("contact", contact_state, lead, ms, req)
        return dict(state)

    def _contact_state(self, payload: Json, lead: LeadSim, user: str, ms: int) -> Json:
        sim = self.sim
        name = str(payload.get("name") or "")
        state: Json = dict(payload)
        state.update(
            id=sim.new_id("cont_"),
            lead_id=lead.lead.id,
            organization_id=sim.org_id,
            display_name=name,
            **self._stamp(user, ms),
        )
        return state

    def _child_state(
        self, object_type: str, payload: Json, lead: LeadSim, user: str, ms: int
    ) -> Json:
        sim = self.sim
        if object_type == "contact":
            return self._contact_state(payload, lead, user, ms)
        state: Json = dict(payload)
        self._check_contact(lead, payload.get("contact_id"))
        if object_type == "opportunity":
            statuses = {sid: (label, kind, conf) for sid, label, kind, conf in sim.opp_statuses}
            if "status" in payload and "status_id" in payload:
                raise _Refused("send status_id or status, not both", {"status": "conflicts"})
            status_id = payload.get("status_id") or sim.opp_statuses[0][0]
            if status_id not in statuses:
                raise _Refused(f"unknown opportunity status {status_id}",
                               {"status_id": "no such status"})
            label, kind, conf = statuses[status_id]
            owner = payload.get("user_id")
            if owner is not None:
                self._check_user("user_id", owner)
            value = payload.get("value")
            state.update(
                id=sim.new_id("oppo_"),
                lead_name=lead.lead.state.get("display_name"),
                status_id=status_id,
                status_label=label,
                status_type=kind,
                confidence=payload.get("confidence", conf),
                user_name=sim.user_names.get(owner) if owner else None,
            )
            if isinstance(value, int):
                state["value_formatted"] = f"${value // 100:,}"
        elif object_type == "task.lead":
            if not payload.get("text"):
                raise _Refused("a task needs text", {"text": "required"})
            assignee = self._check_user("assigned_to", payload.get("assigned_to") or user)
            state.update(
                _type="lead",
                id=sim.new_id("task_"),
                lead_name=lead.lead.state.get("display_name"),
                assigned_to=assignee,
                assigned_to_name=sim.user_names.get(assignee),
                is_complete=bool(payload.get("is_complete", False)),
            )
        else:
            owner = self._check_user("user_id", payload.get("user_id") or user)
            state.update(
                _type=_ACTIVITY_CLASS[object_type],
                id=sim.new_id("acti_"),
                user_id=owner,
                user_name=sim.user_names.get(owner),
                contact_id=payload.get("contact_id"),
            )
            if object_type == "activity.sms":
                status = payload.get("status", "draft")
                if status not in SMS_STATUSES:
                    raise _Refused(f"unknown SMS status {status!r}", {"status": "invalid"})
                if status == "outbox":
                    state["status"] = "sent"  # it went out, as Close would send it
                state["_sent"] = status in ("outbox", "scheduled")
        state.update(organization_id=sim.org_id, **self._stamp(user, ms))
        state["lead_id"] = lead.lead.id
        return state

    def _store(self, object_type: str, state: Json, lead: LeadSim, ms: int, req: Req) -> Json:
        sent = state.pop("_sent", False)
        obj = Obj(object_type, state["id"], lead.lead.id, state)
        lead.children.append(obj)
        if object_type == "contact":
            lead.contacts.append(obj)
        elif object_type == "opportunity":
            lead.opps.append(obj)
        if sent:
            self.sent_sms.append(obj.id)
        self._emit_created(obj, ms, req)
        return dict(state)

    def _emit_created(self, obj: Obj, ms: int, req: Req) -> None:
        rec = self.sim.create(obj, ms, req)
        self.emulator._store.insert(rec)
        self.created.append(Created(obj.type, obj.id, obj.lead_id or "", obj.state, req.id))


_WRITES: weakref.WeakKeyDictionary[Emulator, WriteApi] = weakref.WeakKeyDictionary()


def writes_of(emulator: Emulator) -> WriteApi:
    """The write side of ``emulator`` (made on first use, one per emulator)."""
    api = _WRITES.get(emulator)
    if api is None:
        api = WriteApi(emulator, rng=random.Random(f"writes:{emulator.config.seed}"))
        _WRITES[emulator] = api
    return api


def answer(
    emulator: Emulator,
    method: str,
    path: str,
    params: Mapping[str, str],
    body: bytes,
    key_kind: str,
) -> Answer | None:
    """Hook of :meth:`Emulator._answer`: the answer for a path served here, else ``None``."""
    return writes_of(emulator).answer(method, path, params, body, key_kind)
