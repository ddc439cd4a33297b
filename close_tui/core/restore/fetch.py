"""Reading what a plan needs from the API: the deletion, its fan-out, and the
organization as it is now (statuses, who is still a member). Reads only.

How the children of a deleted lead are found, and why two ways:

* the deletion's **request** (``request_id``): everything deleted with the lead, of every
  type, restorable or not (emails, meetings… which the plan must list as lost);
* per restorable type, the supported filter **``lead_id`` + ``object_type`` +
  ``action=deleted``**: children that the same deletion removed in another request (a
  background job), and children deleted *earlier*, on their own, which are not part of
  this deletion and are only listed. A child belongs to the deletion when it shares its
  request or was deleted at the same moment or after it (nothing else happens to a lead
  once it is deleted).

Lookups that fail (statuses, memberships) do not stop the plan: it says what could not
be checked, and the values are kept as they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from close_tui.core.client import CloseClient
from close_tui.core.errors import CloseError, NotFound
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event
from close_tui.core.restore.io import PacedClient
from close_tui.core.restore.kinds import CHILD_TYPES
from close_tui.core.restore.plan import Facts, RestorePlan, build_plan
from close_tui.core.sanitize import visible


class RestoreUsageError(ValueError):
    """The request makes no sense (not a deletion event, a lead that exists): exit 2."""


async def plan_restore(
    client: CloseClient | PacedClient,
    *,
    event_id: str | None = None,
    lead_id: str | None = None,
) -> RestorePlan:
    """The plan for one deletion event, or for the latest deletion of ``lead_id``.

    Raises :class:`NotFound` (unknown event, no deletion of that lead in the log),
    :class:`RestoreUsageError` (not a deletion; the lead exists) and the client's errors.
    """
    if (event_id is None) == (lead_id is None):
        raise ValueError("give event_id or lead_id")
    io = client if isinstance(client, PacedClient) else PacedClient(client)
    try:
        return await _Planner(io).plan(event_id=event_id, lead_id=lead_id)
    finally:
        if io is not client:
            io.close()


class _Planner:
    def __init__(self, io: PacedClient) -> None:
        self.io = io
        self.problems: list[str] = []

    async def plan(self, *, event_id: str | None, lead_id: str | None) -> RestorePlan:
        if lead_id is not None:
            deletion = await self._lead_deletion(lead_id)
            if deletion is None:
                if await self._lead_name(lead_id) is not None:
                    raise RestoreUsageError(f"lead {lead_id} exists: there is nothing to restore")
                raise NotFound(f"no deletion of lead {lead_id} in the event log (it keeps 30 days)")
        else:
            assert event_id is not None
            deletion = await self.io.get_event(event_id)
        if deletion.action != "deleted":
            raise RestoreUsageError(
                f"event {deletion.id} is a {visible(deletion.object_type)} "
                f"{visible(deletion.action)} event, not a deletion: give a 'deleted' event"
            )
        org_id = deletion.organization_id or await self._organization_id()
        asked_for: Event | None = None
        lead_exists = True
        lead_name: str | None = None
        if deletion.object_type != "lead":
            lead = deletion.lead_id or ""
            lead_name = await self._lead_name(lead) if lead else None
            lead_exists = lead_name is not None
            if not lead_exists and lead:
                lead_deletion = await self._lead_deletion(lead)
                if lead_deletion is not None:
                    asked_for, deletion = deletion, lead_deletion
        user_names, active = await self._members(org_id)
        lead_statuses = await self._statuses("status/lead/")
        opp_statuses = await self._statuses("status/opportunity/")
        facts: dict[str, Any] = {}
        if deletion.object_type == "lead":
            fanout, earlier, truncated = await self._fanout(deletion)
            facts.update(fanout=fanout, earlier=earlier, fanout_truncated=truncated)
            dest = deletion.meta_dict.get("merge_destination_lead_id")
            if isinstance(dest, str) and dest:
                name = await self._lead_name(dest)
                facts["merge_destination_name"] = name or "deleted since"
        else:
            facts["deleted_contacts"] = await self._deleted_contacts(deletion)
        return build_plan(
            Facts(
                deletion=deletion,
                organization_id=org_id,
                lead_statuses=lead_statuses,
                opportunity_statuses=opp_statuses,
                active_users=active,
                user_names=user_names,
                lead_exists=lead_exists,
                lead_name=lead_name,
                problems=tuple(self.problems),
                asked_for=asked_for,
                **facts,
            )
        )

    # ------------------------------------------------------------------ lookups

    async def _lead_deletion(self, lead_id: str) -> Event | None:
        events, _ = await self.io.events(
            EventFilter(lead_id=lead_id, object_type="lead", action="deleted"), max_events=50
        )
        return events[0] if events else None

    async def _lead_name(self, lead_id: str) -> str | None:
        """The lead's name if it exists, ``None`` after a 404."""
        try:
            body = await self.io.get_json(f"lead/{lead_id}/", {"_fields": "id,display_name"})
        except NotFound:
            return None
        name = body.get("display_name") if isinstance(body, dict) else None
        return name if isinstance(name, str) and name else lead_id

    async def _organization_id(self) -> str:
        me = await self.io.client.me()
        orgs = me.get("organizations")
        if isinstance(orgs, list) and orgs and isinstance(orgs[0], dict):
            return str(orgs[0].get("id") or "")
        return ""

    async def _members(self, org_id: str) -> tuple[dict[str, str], frozenset[str] | None]:
        try:
            body = await self.io.get_json(
                f"organization/{org_id}/", {"_fields": "memberships,inactive_memberships"}
            )
        except CloseError as exc:
            self.problems.append(f"could not read the organization's members ({exc}): users "
                                 "were not checked")  # fmt: skip
            return {}, None
        names: dict[str, str] = {}
        active: set[str] = set()
        for key in ("memberships", "inactive_memberships"):
            listed = body.get(key) if isinstance(body, dict) else None
            for member in listed if isinstance(listed, list) else []:
                if not isinstance(member, dict) or not isinstance(member.get("user_id"), str):
                    continue
                user = member["user_id"]
                full = member.get("user_full_name")
                if isinstance(full, str) and full:
                    names[user] = full
                if key == "memberships":
                    active.add(user)
        if not active:
            self.problems.append("the organization listed no active members: users were not "
                                 "checked")  # fmt: skip
            return names, None
        return names, frozenset(active)

    async def _statuses(self, path: str) -> Mapping[str, str] | None:
        try:
            items = await self.io.offset_list(path)
        except CloseError as exc:
            what = "lead" if "lead" in path else "opportunity"
            self.problems.append(f"could not read the {what} statuses ({exc}): statuses were "
                                 "not checked")  # fmt: skip
            return None
        return {
            str(s["id"]): str(s.get("label") or s["id"])
            for s in items
            if isinstance(s, dict) and isinstance(s.get("id"), str)
        }

    async def _fanout(self, deletion: Event) -> tuple[list[Event], list[Event], bool]:
        lead_id = deletion.object_id or ""
        request = deletion.request_id
        fanout: dict[str, Event] = {}
        truncated = False
        if request:
            same, truncated = await self.io.events(EventFilter(request_id=request))
            for event in same:
                if event.lead_id == lead_id and event.action == "deleted":
                    fanout[event.id] = event
        earlier: list[Event] = []
        for object_type in CHILD_TYPES:
            events, _ = await self.io.events(
                EventFilter(lead_id=lead_id, object_type=object_type, action="deleted")
            )
            for event in events:
                if event.id in fanout:
                    continue
                if event.request_id == request or event.date_created >= deletion.date_created:
                    fanout[event.id] = event
                else:
                    earlier.append(event)
        return list(fanout.values()), earlier, truncated

    async def _deleted_contacts(self, deletion: Event) -> frozenset[str]:
        previous = deletion.previous_data if isinstance(deletion.previous_data, dict) else {}
        contact = previous.get("contact_id")
        if not isinstance(contact, str) or not contact or deletion.object_type == "contact":
            return frozenset()
        events, _ = await self.io.events(
            EventFilter(object_id=contact, action="deleted"), max_events=5
        )
        return frozenset({contact}) if events else frozenset()
