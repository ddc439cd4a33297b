"""From a deleted object's last state (``previous_data``) to the body of a create request.

The rules, and why:

* **Read-only fields are stripped, never sent.** Whether Close rejects or ignores them is
  unknown; either way they are not ours to set: ids, the organization, dates, authors,
  and names Close derives from other fields (``display_name``, ``status_label``,
  ``lead_name``, ``user_name``…). Everything else is kept, custom fields included
  (``custom.cf_…`` keys and any field we do not know).
* **References are remapped at apply time.** A child's ``lead_id`` points at the
  re-created lead and its ``contact_id`` at the re-created contact; both are unknown
  until those exist, so the payload records them in :attr:`Cleaned.refs` (field → old
  id) and the apply step fills them in. A ``contact_id`` that points at a contact this
  restore does not bring back is dropped (Close refuses unknown contacts).
* **Nothing goes out by accident.** An SMS in ``outbox`` is sent when posted and one in
  ``scheduled`` later: both come back as ``draft``. A call is logged as ``External``;
  its recording cannot come back.
* **What no longer exists is left out, with a note.** A status deleted since (the lead
  then gets the organization's default status), a user who left (the object is
  unassigned; Close then gives it to the default owner).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

#: Never sent for any object: set by the API itself.
BASE_READ_ONLY: Final = frozenset(
    {"id", "organization_id", "date_created", "date_updated", "created_by", "updated_by"}
)
_NAMES: Final = frozenset({"created_by_name", "updated_by_name", "integration_links", "html_url"})
_ACTIVITY: Final = BASE_READ_ONLY | _NAMES | {"_type", "user_name", "contact_name", "lead_name"}

#: Read-only or derived fields per object type (stripped from every payload).
READ_ONLY: Final[Mapping[str, frozenset[str]]] = {
    "lead": BASE_READ_ONLY
    | _NAMES
    | {
        "display_name",
        "status_label",
        "opportunities",
        "tasks",
        "primary_email",
        "primary_phone",
        "contacts",  # posted separately, cleaned as contacts (see the planner)
    },
    "contact": BASE_READ_ONLY | _NAMES | {"display_name", "lead_name"},
    "opportunity": BASE_READ_ONLY
    | _NAMES
    | {
        "lead_name",
        "status_label",
        "status_type",
        "value_formatted",
        "user_name",
        "contact_name",
    },
    "task.lead": BASE_READ_ONLY | _NAMES | {"_type", "lead_name", "assigned_to_name", "object_id"},
    "activity.note": _ACTIVITY,
    "activity.call": _ACTIVITY
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
    "activity.sms": _ACTIVITY | {"cost", "error_message"},
}

#: The field that names a user, per type: unassigned when that user has left.
USER_FIELDS: Final[Mapping[str, str]] = {
    "opportunity": "user_id",
    "task.lead": "assigned_to",
    "activity.note": "user_id",
    "activity.call": "user_id",
    "activity.sms": "user_id",
}

#: SMS states that send a message when posted.
SENDING_SMS_STATUSES: Final = frozenset({"outbox", "scheduled"})


@dataclass(frozen=True)
class Context:
    """What the organization looks like now, as far as the payload rules care.

    ``None`` means "could not be checked" (the lookup failed): the value is then kept
    as it was and the plan says it was not checked.
    """

    lead_statuses: Mapping[str, str] | None = None
    opportunity_statuses: Mapping[str, str] | None = None
    active_users: frozenset[str] | None = None
    user_names: Mapping[str, str] = field(default_factory=dict)
    #: A lead restore: children point at the re-created version of this lead.
    old_lead_id: str | None = None
    #: Old ids of the contacts this plan re-creates (references to them are remapped).
    restorable_contacts: frozenset[str] = frozenset()
    #: One object onto a lead that exists: contacts known to be deleted (refs dropped).
    deleted_contacts: frozenset[str] = frozenset()


@dataclass
class Cleaned:
    payload: dict[str, Any]
    #: Field -> old id, to be replaced by the new id of that object at apply time.
    refs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)
    drafted: str | None = None
    status_dropped: str | None = None
    recording: bool = False
    contact_dropped: str | None = None


def _user_name(ctx: Context, user_id: str) -> str:
    return ctx.user_names.get(user_id) or user_id


def clean(
    object_type: str, previous: Mapping[str, Any], ctx: Context, *, embedded: bool = False
) -> Cleaned:
    """The create body for one deleted object (``embedded``: a contact inside a lead)."""
    strip = READ_ONLY.get(object_type, BASE_READ_ONLY | _NAMES)
    out = Cleaned({k: v for k, v in previous.items() if k not in strip})
    body = out.payload
    if object_type in ("lead", "opportunity") and "status_id" in body:
        body.pop("status", None)  # send status_id, never both
        statuses = ctx.lead_statuses if object_type == "lead" else ctx.opportunity_statuses
        status_id = body["status_id"]
        if statuses is not None and status_id is not None and status_id not in statuses:
            label = previous.get("status_label")
            out.status_dropped = label if isinstance(label, str) and label else str(status_id)
            body.pop("status_id")
            out.notes.append(
                f"its status {out.status_dropped!r} no longer exists: it gets the default status"
            )
    user_field = USER_FIELDS.get(object_type)
    if user_field is not None and ctx.active_users is not None:
        user = body.get(user_field)
        if isinstance(user, str) and user and user not in ctx.active_users:
            body.pop(user_field)
            out.unassigned.append(user)
            out.notes.append(
                f"unassigned from {_user_name(ctx, user)}, who is no longer in the organization"
            )
    if object_type == "activity.sms":
        status = body.get("status")
        if status in SENDING_SMS_STATUSES:
            out.drafted = str(status)
            body["status"] = "draft"
            body.pop("date_scheduled", None)
            out.notes.append(f"was {status}: comes back as a draft, so nothing is sent")
    if object_type == "activity.call":
        body["source"] = "External"
        if previous.get("recording_url") or previous.get("voicemail_url"):
            out.recording = True
            out.notes.append("its recording cannot be restored")
    if embedded:
        body.pop("lead_id", None)
    elif object_type != "lead" and ctx.old_lead_id is not None:
        body["lead_id"] = ctx.old_lead_id
        out.refs["lead_id"] = ctx.old_lead_id
    if "contact_id" in body and object_type != "contact":
        contact = body["contact_id"]
        if contact is None:
            pass
        elif contact in ctx.restorable_contacts:
            out.refs["contact_id"] = str(contact)
        elif ctx.old_lead_id is not None or contact in ctx.deleted_contacts:
            body.pop("contact_id")
            out.contact_dropped = str(contact)
            out.notes.append("its contact is not part of this restore: linked to no contact")
    return out
