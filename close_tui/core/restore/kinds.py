"""Which deleted objects can be re-created, through which endpoint, and why not the rest.

One table, read by the planner (what goes into a plan), the payload rules and the
wording of plans in the CLI and the app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from close_tui.core.sanitize import visible


@dataclass(frozen=True, slots=True)
class Kind:
    """A restorable object type."""

    object_type: str
    endpoint: str
    #: How plans count it: "contact"/"contacts", "note"/"notes" ...
    singular: str
    plural: str
    #: Order of creation: the lead first, contacts before what refers to them.
    rank: int


KINDS: Final[Mapping[str, Kind]] = {
    k.object_type: k
    for k in (
        Kind("lead", "lead/", "lead", "leads", 0),
        Kind("contact", "contact/", "contact", "contacts", 1),
        Kind("opportunity", "opportunity/", "opportunity", "opportunities", 2),
        Kind("task.lead", "task/", "task", "tasks", 3),
        Kind("activity.note", "activity/note/", "note", "notes", 4),
        Kind("activity.call", "activity/call/", "call", "calls", 4),
        Kind("activity.sms", "activity/sms/", "SMS", "SMS", 4),
    )
}

#: Child types a lead restore looks for with ``lead_id`` + ``object_type`` + ``action``.
CHILD_TYPES: Final = tuple(t for t in KINDS if t != "lead")

_SYNCED: Final = "(bring them back by reconnecting the mailbox or calendar)"

#: Why the other types cannot be re-created (exact type first, then its family).
_CANNOT: Final[Mapping[str, str]] = {
    "activity.email": f"emails cannot be re-created through the API {_SYNCED}",
    "activity.email_thread": f"email threads cannot be re-created through the API {_SYNCED}",
    "activity.meeting": f"meetings cannot be re-created through the API {_SYNCED}",
    "activity.lead_status_change": "status-change history cannot be re-created "
    "(the lead's last status is restored with it)",
    "activity.opportunity_status_change": "status-change history cannot be re-created "
    "(each opportunity's last status is restored with it)",
    "activity.task_completed": "'task completed' entries are written by Close itself "
    "(completed tasks come back completed)",
    "activity.lead_merge": "merge entries are written by Close itself",
    "activity.whatsapp_message": "WhatsApp messages come from the integration that wrote them",
    "activity.form_submission": "form submissions cannot be re-created through the API",
    "activity.custom_activity": "close-tui does not re-create custom activities",
    "task": "Close creates this kind of task itself (for an email, a call, an SMS or an "
    "opportunity's due date); the API creates only lead tasks",
    "activity": "close-tui does not re-create this kind of activity",
}

#: The one line every plan carries: what no restore through the API can keep.
ALWAYS_LOST: Final = (
    "original dates and authors: re-created objects are dated now and made by this key's "
    "user (the old dates stay in the event log)"
)


def cannot_reason(object_type: str) -> str:
    """Why objects of ``object_type`` cannot be re-created (``""`` if they can)."""
    if object_type in KINDS:
        return ""
    exact = _CANNOT.get(object_type)
    if exact:
        return exact
    family = object_type.split(".", 1)[0]
    return _CANNOT.get(family) or f"close-tui does not re-create {visible(object_type)} objects"


def plural(object_type: str) -> str:
    kind = KINDS.get(object_type)
    if kind is not None:
        return kind.plural
    if object_type == "recording":
        return "call recordings"
    tail = object_type.rsplit(".", 1)[-1].replace("_", " ")
    return {"email": "emails", "meeting": "meetings", "sms": "SMS"}.get(tail, tail + "s")


def count_phrase(n: int, plural_name: str) -> str:
    """"1 opportunity", "3 opportunities" (from the plural a plan counts by)."""
    if n != 1:
        return f"{n} {plural_name}"
    singular = next((k.singular for k in KINDS.values() if k.plural == plural_name), None)
    if singular is None:
        singular = plural_name[:-1] if plural_name.endswith("s") else plural_name
    return f"1 {singular}"


def _clip(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def label_of(object_type: str, payload: Any, fallback: str = "") -> str:
    """A short human name for an object (untrusted text: display it safely)."""
    if not isinstance(payload, Mapping):
        return fallback
    get = payload.get
    if object_type == "lead":
        name = _text(get("display_name")) or _text(get("name"))
    elif object_type == "contact":
        name = _text(get("display_name")) or _text(get("name"))
        emails = get("emails")
        if not name and isinstance(emails, list) and emails and isinstance(emails[0], Mapping):
            name = _text(emails[0].get("email"))
    elif object_type == "opportunity":
        amount = _text(get("value_formatted"))
        status = _text(get("status_label"))
        name = " · ".join(p for p in (amount, status) if p) or _text(get("note"))
    elif object_type.startswith("task."):
        name = _text(get("text"))
    elif object_type == "activity.task_completed":
        name = _text(get("task_text"))
    elif object_type == "activity.note":
        name = _text(get("note"))
    elif object_type == "activity.call":
        direction = _text(get("direction")) or "a"
        duration = get("duration")
        seconds = f", {duration} s" if isinstance(duration, int) and duration else ""
        name = f"{direction} call{seconds}"
    elif object_type == "activity.sms":
        name = _text(get("text"))
    elif object_type in ("activity.email", "activity.email_thread"):
        name = _text(get("subject"))
    elif object_type == "activity.meeting":
        name = _text(get("title"))
    elif object_type == "activity.lead_status_change":
        old, new = _text(get("old_status_label")), _text(get("new_status_label"))
        name = f"{old} → {new}" if old or new else ""
    else:
        name = _text(get("name")) or _text(get("title")) or _text(get("text"))
    return _clip(name) if name else fallback
