"""The plan of a restore: what will be re-created, what cannot be and why, how the
objects were deleted, and what the user should know before anything is written.

:func:`build_plan` is pure (events and lookups in, a :class:`RestorePlan` out), so every
rule is tested without a server; :mod:`close_tui.core.restore.fetch` reads the event log
and calls it. A plan is also what the journal of an apply is checked against, and what
``close-tui restore --format json`` prints (:meth:`RestorePlan.to_json`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from close_tui.core.models import Event, PayloadState
from close_tui.core.restore.kinds import (
    ALWAYS_LOST,
    KINDS,
    cannot_reason,
    count_phrase,
    label_of,
    plural,
)
from close_tui.core.restore.payloads import Cleaned, Context, clean

Scope = Literal["lead", "object"]
OriginKind = Literal["merge", "bulk_action", "import_revert", "api_key", "user", "system"]

LEAD_WEB_URL: Final = "https://app.close.com/lead/{lead_id}/"
#: The privacy rule, as plans explain it.
HIDDEN_REASON: Final = (
    "this key may not read its payload: a non-admin key sees an event's data only for "
    "one hour after it happened (an admin key can restore it)"
)
NULL_REASON: Final = "the event carries previous_data: null: nothing to restore from"
EMPTY_REASON: Final = "the event carries an empty previous_data ({}): nothing to restore from"


def lead_web_url(lead_id: str) -> str:
    """The lead's page in Close's web app."""
    return LEAD_WEB_URL.format(lead_id=lead_id)


def payload_reason(state: PayloadState) -> str:
    """Why a deletion event cannot be restored from, by the state of its previous_data."""
    return {"missing": HIDDEN_REASON, "null": NULL_REASON, "empty": EMPTY_REASON}.get(state, "")


def show_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class DeletionOrigin:
    """How the object was deleted, read from the deletion event and its ``meta``."""

    kind: OriginKind
    when: datetime
    user_id: str | None = None
    user_name: str | None = None
    api_key_id: str | None = None
    bulk_action_id: str | None = None
    import_id: str | None = None
    merge_destination_lead_id: str | None = None
    request_method: str | None = None
    request_path: str | None = None

    @property
    def who(self) -> str:
        if self.user_name:
            return self.user_name
        return self.user_id or "no user (Close itself)"

    def describe(self) -> str:
        """One line: "deleted by a bulk action (bulk_…) started by Ann Lee"."""
        by = self.who
        if self.kind == "merge":
            text = f"merged into lead {self.merge_destination_lead_id} by {by}"
        elif self.kind == "bulk_action":
            text = f"deleted by a bulk action ({self.bulk_action_id}) started by {by}"
        elif self.kind == "import_revert":
            text = f"deleted when import {self.import_id} was reverted"
            if self.user_id:
                text += f" by {by}"
        elif self.kind == "api_key":
            text = f"deleted through API key {self.api_key_id} (of {by})"
        elif self.kind == "user":
            text = f"deleted by {by}"
        else:
            text = "deleted by Close itself (no user, no API key)"
        request = " ".join(p for p in (self.request_method, self.request_path) if p)
        if request and self.kind in ("api_key", "user", "system"):
            text += f": {request}"
        return f"{text}, {show_time(self.when)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "when": self.when.astimezone(UTC).isoformat(),
            "user_id": self.user_id,
            "user_name": self.user_name,
            "api_key_id": self.api_key_id,
            "bulk_action_id": self.bulk_action_id,
            "import_id": self.import_id,
            "merge_destination_lead_id": self.merge_destination_lead_id,
            "request_method": self.request_method,
            "request_path": self.request_path,
            "description": self.describe(),
        }


def origin_of(event: Event, user_names: Mapping[str, str]) -> DeletionOrigin:
    """How ``event`` came about: merge, bulk action, reverted import, API key, user."""
    meta = event.meta_dict

    def text(key: str) -> str | None:
        value = meta.get(key)
        return value if isinstance(value, str) and value else None

    kind: OriginKind
    if text("merge_destination_lead_id") or text("merge_source_lead_id"):
        kind = "merge"
    elif text("bulk_action_id"):
        kind = "bulk_action"
    elif text("revert_import_id"):
        kind = "import_revert"
    elif event.api_key_id:
        kind = "api_key"
    elif event.user_id:
        kind = "user"
    else:
        kind = "system"
    return DeletionOrigin(
        kind=kind,
        when=event.date_created,
        user_id=event.user_id,
        user_name=user_names.get(event.user_id) if event.user_id else None,
        api_key_id=event.api_key_id,
        bulk_action_id=text("bulk_action_id"),
        import_id=text("revert_import_id"),
        merge_destination_lead_id=text("merge_destination_lead_id"),
        request_method=text("request_method"),
        request_path=text("request_path"),
    )


@dataclass(frozen=True)
class PlanItem:
    """One object to re-create."""

    old_id: str
    object_type: str
    label: str
    event_id: str
    payload: Mapping[str, Any]
    #: Field -> old id: filled with the new id of that object when applying.
    refs: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: A contact posted inside the lead's payload (created with the lead, never alone).
    embedded: bool = False
    deleted_at: datetime | None = None

    @property
    def endpoint(self) -> str:
        return KINDS[self.object_type].endpoint

    def to_json(self) -> dict[str, Any]:
        return {
            "old_id": self.old_id,
            "object_type": self.object_type,
            "label": self.label,
            "event_id": self.event_id,
            "endpoint": self.endpoint,
            "embedded_in_lead": self.embedded,
            "payload": dict(self.payload),
            "remap": dict(self.refs),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Unrestorable:
    """A deleted object that will not be re-created, and why."""

    old_id: str
    object_type: str
    label: str
    reason: str
    event_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "old_id": self.old_id,
            "object_type": self.object_type,
            "label": self.label,
            "reason": self.reason,
            "event_id": self.event_id,
        }


@dataclass(frozen=True)
class PlanWarning:
    #: Stable identifier for scripts and tests: merged, unassigned, drafts, status,
    #: contacts_remapped, contacts_dropped, completed_tasks, hidden, unchecked, whole_lead,
    #: truncated.
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class RestorePlan:
    """Everything the user must see before a restore writes anything."""

    scope: Scope
    organization_id: str
    event_id: str
    #: The deleted lead (scope "lead") or the lead the object lives on (scope "object").
    lead_id: str
    lead_name: str
    #: What was deleted: the lead, or the one object. Journals are named after it.
    object_id: str
    object_type: str
    origin: DeletionOrigin
    items: tuple[PlanItem, ...] = ()
    cannot: tuple[Unrestorable, ...] = ()
    #: Children of the lead deleted on their own before it: not part of this deletion.
    earlier: tuple[Unrestorable, ...] = ()
    warnings: tuple[PlanWarning, ...] = ()
    #: Why nothing at all can be restored (empty when the plan can be applied).
    blockers: tuple[str, ...] = ()
    merge_destination_lead_id: str | None = None
    merge_destination_name: str | None = None
    always_lost: str = ALWAYS_LOST

    @property
    def merged(self) -> bool:
        return self.merge_destination_lead_id is not None

    @property
    def can_apply(self) -> bool:
        return not self.blockers and bool(self.items)

    @property
    def restore_by_default(self) -> bool:
        """A merged lead lives on in its destination: restoring it is never the default."""
        return self.can_apply and not self.merged

    def counts(self) -> dict[str, int]:
        """Objects to re-create per kind, in creation order ("contacts": 3, ...)."""
        counter = Counter(KINDS[i.object_type].plural for i in self.items)
        order = [k.plural for k in sorted(KINDS.values(), key=lambda k: k.rank)]
        return {name: counter[name] for name in dict.fromkeys(order) if counter[name]}

    def cannot_counts(self) -> dict[str, int]:
        return dict(Counter(plural(u.object_type) for u in self.cannot))

    def warning(self, code: str) -> PlanWarning | None:
        return next((w for w in self.warnings if w.code == code), None)

    def summary(self) -> str:
        """"1 lead, 3 contacts, 2 notes" (or "nothing")."""
        counts = self.counts()
        return ", ".join(count_phrase(n, name) for name, n in counts.items()) or "nothing"

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "organization_id": self.organization_id,
            "event_id": self.event_id,
            "lead_id": self.lead_id,
            "lead_name": self.lead_name,
            "object_id": self.object_id,
            "object_type": self.object_type,
            "deleted": self.origin.to_json(),
            "can_apply": self.can_apply,
            "restore_by_default": self.restore_by_default,
            "merge_destination_lead_id": self.merge_destination_lead_id,
            "merge_destination_name": self.merge_destination_name,
            "counts": self.counts(),
            "items": [i.to_json() for i in self.items],
            "cannot": [u.to_json() for u in self.cannot],
            "cannot_always": self.always_lost,
            "deleted_earlier": [u.to_json() for u in self.earlier],
            "warnings": [w.to_json() for w in self.warnings],
            "blockers": list(self.blockers),
        }


@dataclass(frozen=True)
class Facts:
    """What the planner read from the API, for :func:`build_plan`."""

    deletion: Event
    organization_id: str
    #: Deleted events of the lead's children that belong to this deletion (lead scope).
    fanout: Sequence[Event] = ()
    #: Restorable children of the lead deleted on their own before it (lead scope).
    earlier: Sequence[Event] = ()
    lead_statuses: Mapping[str, str] | None = None
    opportunity_statuses: Mapping[str, str] | None = None
    active_users: frozenset[str] | None = None
    user_names: Mapping[str, str] = field(default_factory=dict)
    #: Object scope: the lead it lives on, if it still exists.
    lead_exists: bool = True
    lead_name: str | None = None
    #: Object scope: contacts known to be deleted (a reference to them is dropped).
    deleted_contacts: frozenset[str] = frozenset()
    merge_destination_name: str | None = None
    #: Lookups that failed (one line each): the plan says what was not checked.
    problems: tuple[str, ...] = ()
    fanout_truncated: bool = False
    #: Set when the plan restores the whole lead though a child's deletion was asked for.
    asked_for: Event | None = None


def _newest_per_object(events: Iterable[Event]) -> list[Event]:
    seen: dict[str, Event] = {}
    for event in events:
        key = event.object_id or event.id
        known = seen.get(key)
        if known is None or event.date_updated > known.date_updated:
            seen[key] = event
    return list(seen.values())


def _names(user_names: Mapping[str, str], ids: Iterable[str]) -> str:
    return ", ".join(user_names.get(i) or i for i in dict.fromkeys(ids))


def _s(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def build_plan(facts: Facts) -> RestorePlan:
    """The plan for ``facts.deletion`` (a lead's or one object's ``deleted`` event)."""
    deletion = facts.deletion
    origin = origin_of(deletion, facts.user_names)
    object_type = deletion.object_type
    object_id = deletion.object_id or ""
    lead_id = deletion.lead_id or (object_id if object_type == "lead" else "")
    state = deletion.payload_state("previous_data")
    previous = deletion.previous_data if state == "present" else None
    previous = previous if isinstance(previous, Mapping) else None
    blockers: list[str] = []
    warnings: list[PlanWarning] = []
    for problem in facts.problems:
        warnings.append(PlanWarning("unchecked", problem))
    if deletion.action != "deleted":
        blockers.append(f"event {deletion.id} is a {object_type} {deletion.action} event, "
                        "not a deletion")
    if facts.asked_for is not None:
        asked = facts.asked_for
        warnings.append(PlanWarning(
            "whole_lead",
            f"the {asked.object_type} of event {asked.id} was deleted together with its lead: "
            "this plan restores the whole lead",
        ))
    if facts.fanout_truncated:
        warnings.append(PlanWarning(
            "truncated",
            "the deletion touched very many objects: the list of what cannot be restored "
            "may be incomplete",
        ))
    if object_type == "lead":
        scope: Scope = "lead"
        lead_name = label_of("lead", previous, fallback=lead_id)
    else:
        scope = "object"
        lead_name = facts.lead_name or lead_id
        if object_type not in KINDS:
            reason = cannot_reason(object_type)
            blockers.append(f"{plural(object_type)}: {reason}")
        if not facts.lead_exists:
            blockers.append(f"its lead {lead_id} no longer exists: restore the lead "
                            f"(close-tui restore --lead {lead_id})")
    if previous is None and not blockers:
        what = "the lead" if scope == "lead" else f"the {object_type}"
        blockers.append(f"{what} cannot be restored: {payload_reason(state)}")

    ctx_base = Context(
        lead_statuses=facts.lead_statuses,
        opportunity_statuses=facts.opportunity_statuses,
        active_users=facts.active_users,
        user_names=facts.user_names,
    )
    raw_items: list[tuple[str, str, str, Mapping[str, Any], bool, datetime | None]] = []
    cannot: list[Unrestorable] = []
    merge_dest = origin.merge_destination_lead_id if scope == "lead" else None

    if scope == "lead":
        embedded = (previous or {}).get("contacts")
        embedded_contacts = [
            c for c in (embedded if isinstance(embedded, list) else [])
            if isinstance(c, Mapping) and isinstance(c.get("id"), str)
        ]  # fmt: skip
        if previous is not None:
            raw_items.append(
                (object_id, "lead", deletion.id, previous, False, deletion.date_created)
            )
        embedded_ids = set()
        for contact in embedded_contacts:
            embedded_ids.add(contact["id"])
            raw_items.append(
                (contact["id"], "contact", deletion.id, contact, True, deletion.date_created)
            )
        for event in _newest_per_object(facts.fanout):
            if event.action != "deleted" or event.object_id in (None, object_id):
                continue
            if event.object_id in embedded_ids:
                continue  # the same contact, re-created inside the lead
            child_state = event.payload_state("previous_data")
            label = label_of(event.object_type, event.previous_data, fallback=event.object_id)
            reason = cannot_reason(event.object_type)
            if not reason and child_state != "present":
                reason = payload_reason(child_state)
            if not reason and previous is None:
                reason = "it comes back only with its lead, which cannot be restored"
            if reason:
                cannot.append(Unrestorable(event.object_id, event.object_type, label, reason,
                                           event.id))  # fmt: skip
                continue
            child_prev = event.previous_data
            assert isinstance(child_prev, Mapping)
            raw_items.append((event.object_id, event.object_type, event.id, child_prev, False,
                              _created_at(child_prev) or event.date_created))  # fmt: skip
    elif scope == "object" and previous is not None and not blockers:
        raw_items.append((object_id, object_type, deletion.id, previous, False,
                          deletion.date_created))  # fmt: skip

    restorable_contacts = frozenset(i[0] for i in raw_items if i[1] == "contact")
    ctx = Context(
        lead_statuses=ctx_base.lead_statuses,
        opportunity_statuses=ctx_base.opportunity_statuses,
        active_users=ctx_base.active_users,
        user_names=ctx_base.user_names,
        old_lead_id=lead_id if scope == "lead" else None,
        restorable_contacts=restorable_contacts if scope == "lead" else frozenset(),
        deleted_contacts=facts.deleted_contacts,
    )
    items: list[PlanItem] = []
    cleaned_all: list[tuple[PlanItem, Cleaned]] = []
    for old_id, otype, event_id, prev, embedded_flag, when in raw_items:
        cleaned = clean(otype, prev, ctx, embedded=embedded_flag)
        item = PlanItem(
            old_id=old_id,
            object_type=otype,
            label=label_of(otype, prev, fallback=old_id),
            event_id=event_id,
            payload=cleaned.payload,
            refs=cleaned.refs,
            notes=tuple(cleaned.notes),
            embedded=embedded_flag,
            deleted_at=when,
        )
        cleaned_all.append((item, cleaned))
    # The lead's payload carries its embedded contacts, cleaned like any contact.
    if scope == "lead" and cleaned_all and cleaned_all[0][0].object_type == "lead":
        lead_cleaned = cleaned_all[0][1]
        embedded_payloads = [dict(i.payload) for i, _ in cleaned_all if i.embedded]
        if any(i.embedded for i, _ in cleaned_all) or "contacts" in (previous or {}):
            lead_cleaned.payload["contacts"] = embedded_payloads
    items = [i for i, _ in cleaned_all]
    lead_first = [i for i in items if i.object_type == "lead" or i.embedded]
    rest = sorted(
        (i for i in items if not (i.object_type == "lead" or i.embedded)),
        key=lambda i: (KINDS[i.object_type].rank, i.deleted_at or deletion.date_created,
                       i.old_id),
    )  # fmt: skip
    items = lead_first + rest

    # Warnings, aggregated over the items.
    cleaned_list = [c for _, c in cleaned_all]
    if merge_dest is not None:
        dest = facts.merge_destination_name
        named = f"{dest!r} ({merge_dest})" if dest else merge_dest
        warnings.insert(0, PlanWarning(
            "merged",
            f"this lead was merged into {named}: its contacts, opportunities and activities "
            "live on there. Restoring it makes a second, near-empty copy; open the "
            "destination lead instead",
        ))
    unassigned = [u for c in cleaned_list for u in c.unassigned]
    if unassigned:
        warnings.append(PlanWarning(
            "unassigned",
            f"{_s(len(unassigned), 'object belonged', 'objects belonged')} to users no longer "
            f"in the organization ({_names(facts.user_names, unassigned)}): they come back "
            "unassigned (Close gives them to its default owner)",
        ))
    drafted = [c.drafted for c in cleaned_list if c.drafted]
    if drafted:
        states = " or ".join(sorted(set(drafted)))
        warnings.append(PlanWarning(
            "drafts",
            f"{_s(len(drafted), 'SMS was', 'SMS were')} waiting to be sent ({states}): "
            "they come back as drafts, so nothing is sent",
        ))
    dropped_status = [(i, c.status_dropped) for i, c in cleaned_all if c.status_dropped]
    for item, label in dropped_status:
        whose = "the lead's" if item.object_type == "lead" else f"opportunity {item.label!r}:"
        warnings.append(PlanWarning(
            "status",
            f"{whose} status {label!r} no longer exists: it gets the organization's default "
            "status",
        ))
    remapped = sum(1 for c in cleaned_list if "contact_id" in c.refs)
    if remapped:
        warnings.append(PlanWarning(
            "contacts_remapped",
            f"{_s(remapped, 'reference', 'references')} to contacts will point at the "
            "re-created contacts",
        ))
    dropped = sum(1 for c in cleaned_list if c.contact_dropped)
    if dropped:
        warnings.append(PlanWarning(
            "contacts_dropped",
            f"{_s(dropped, 'object refers', 'objects refer')} to a contact this restore does "
            "not bring back: linked to no contact",
        ))
    done_tasks = sum(1 for i in items if i.object_type == "task.lead"
                     and i.payload.get("is_complete") is True)  # fmt: skip
    if done_tasks:
        warnings.append(PlanWarning(
            "completed_tasks",
            f"{_s(done_tasks, 'completed task comes', 'completed tasks come')} back completed",
        ))
    for item, cleaned in cleaned_all:
        if cleaned.recording:
            cannot.append(Unrestorable(
                item.old_id, "recording", item.label,
                "call recordings cannot be uploaded through the API (the calls come back "
                "without them)", item.event_id,
            ))
    hidden = sum(1 for u in cannot if u.reason == HIDDEN_REASON)
    if hidden:
        warnings.append(PlanWarning(
            "hidden",
            f"{_s(hidden, 'deleted object is', 'deleted objects are')} hidden from this key "
            "(non-admin keys see payloads for one hour): ask an admin to restore them",
        ))

    earlier = [
        Unrestorable(
            e.object_id or "", e.object_type,
            label_of(e.object_type, e.previous_data, fallback=e.object_id or ""),
            f"deleted on its own on {show_time(e.date_created)}, before the lead: not part "
            "of this deletion (restore it from its own event once the lead is back)",
            e.id,
        )
        for e in _newest_per_object(facts.earlier)
    ]  # fmt: skip
    if blockers:
        items = []
    return RestorePlan(
        scope=scope,
        organization_id=facts.organization_id,
        event_id=deletion.id,
        lead_id=lead_id,
        lead_name=lead_name,
        object_id=object_id,
        object_type=object_type,
        origin=origin,
        items=tuple(items),
        cannot=tuple(cannot),
        earlier=tuple(earlier),
        warnings=tuple(warnings),
        blockers=tuple(blockers),
        merge_destination_lead_id=merge_dest,
        merge_destination_name=facts.merge_destination_name if merge_dest else None,
    )


def _created_at(previous: Mapping[str, Any]) -> datetime | None:
    raw = previous.get("date_created")
    if not isinstance(raw, str):
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
