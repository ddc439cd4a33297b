"""What Close's event log knows about: object types, their actions, and id prefixes.

One place for the facts of ``close-event-api.md`` §2–§3, so the filter form, the CLI,
the emulator and the summaries agree. Unknown object types and actions must still be
tolerated everywhere: these tables say what we *know*, not what is allowed to exist.
"""

from __future__ import annotations

from typing import Final

_CRUD: Final = ("created", "updated", "deleted")
_TASK: Final = ("created", "updated", "deleted", "completed")
_BULK: Final = ("created", "updated", "completed", "paused")

#: object_type -> the actions documented for it, in the docs' order.
OBJECT_TYPE_ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    "lead": ("created", "updated", "deleted", "merged"),
    "contact": _CRUD,
    "opportunity": _CRUD,
    **{
        f"task.{kind}": _TASK
        for kind in (
            "lead",
            "incoming_email",
            "email_followup",
            "missed_call",
            "answered_detached_call",
            "voicemail",
            "opportunity_due",
            "incoming_sms",
            "outgoing_call",
        )
    },
    "activity.email": ("created", "updated", "deleted", "sent"),
    "activity.sms": ("created", "updated", "deleted", "sent"),
    "activity.call": ("created", "updated", "deleted", "answered", "completed"),
    "activity.meeting": (
        "created",
        "updated",
        "deleted",
        "scheduled",
        "started",
        "completed",
        "canceled",
    ),
    **{
        f"activity.{kind}": _CRUD
        for kind in (
            "note",
            "email_thread",
            "whatsapp_message",
            "form_submission",
            "custom_activity",
            "lead_status_change",
            "opportunity_status_change",
            "lead_merge",
        )
    },
    "activity.task_completed": ("created", "deleted"),
    "unsubscribed_email": ("created", "deleted"),
    "import": ("created", "updated", "completed", "reverting", "reverted"),
    "export.lead": ("created", "updated", "completed"),
    "export.opportunity": ("created", "updated", "completed"),
    **{
        f"bulk_action.{kind}": _BULK
        for kind in ("delete", "edit", "email", "sequence_subscription")
    },
    **{
        name: _CRUD
        for name in (
            "custom_fields.lead",
            "custom_fields.contact",
            "custom_fields.opportunity",
            "custom_fields.activity",
            "custom_fields.custom_object",
            "custom_fields.shared",
            "custom_activity_type",
            "custom_object_type",
            "custom_object",
            "status.lead",
            "status.opportunity",
            "group",
            "saved_search",
            "phone_number",
            "email_template",
            "sms_template",
            "sequence",
            "sequence_subscription",
            "comment",
            "comment_thread",
        )
    },
    "membership": ("activated", "deactivated"),
}

#: Every action any known type has, sorted; offered when the type is unknown or unset.
ALL_ACTIONS: Final[tuple[str, ...]] = tuple(
    sorted({action for actions in OBJECT_TYPE_ACTIONS.values() for action in actions})
)


def actions_for(object_type: str | None) -> tuple[str, ...]:
    """The actions to offer for ``object_type``: its own when known, else all known ones."""
    if object_type and object_type in OBJECT_TYPE_ACTIONS:
        return OBJECT_TYPE_ACTIONS[object_type]
    return ALL_ACTIONS


#: Id prefix -> the filter field an id with that prefix belongs in.
ID_PREFIX_FIELD: Final[dict[str, str]] = {
    "lead_": "lead_id",
    "user_": "user_id",
    "req_": "request_id",
    "acti_": "object_id",
    "cont_": "object_id",
    "oppo_": "object_id",
    "task_": "object_id",
}

#: Prefixes of ids that exist in Close but belong in no event filter field.
OTHER_ID_PREFIXES: Final[dict[str, str]] = {
    "ev_": "an event id",
    "orga_": "an organization id",
    "stat_": "a status id",
    "cf_": "a custom field id",
    "pipe_": "a pipeline id",
    "whsub_": "a webhook subscription id",
}

#: An object id's prefix -> the object type it implies (exact) ...
OBJECT_ID_TYPE: Final[dict[str, str]] = {
    "cont_": "contact",
    "oppo_": "opportunity",
    "lead_": "lead",
}
#: ... or the family of object types it narrows the choice to.
OBJECT_ID_FAMILY: Final[dict[str, str]] = {
    "acti_": "activity.",
    "task_": "task.",
}


def id_prefix(value: str) -> str | None:
    """The ``xxx_`` prefix of an id-looking value, or ``None``."""
    head, sep, _ = value.partition("_")
    if sep and head.isalpha() and head.islower() and len(head) <= 8:
        return head + "_"
    return None


def object_types_for_id(object_id: str) -> tuple[str, ...]:
    """The known object types an object id can have, judged by its prefix (all when unknown)."""
    prefix = id_prefix(object_id)
    if prefix in OBJECT_ID_TYPE:
        return (OBJECT_ID_TYPE[prefix],)
    if prefix in OBJECT_ID_FAMILY:
        family = OBJECT_ID_FAMILY[prefix]
        return tuple(t for t in OBJECT_TYPE_ACTIONS if t.startswith(family))
    return tuple(OBJECT_TYPE_ACTIONS)
