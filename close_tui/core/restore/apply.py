"""Applying a plan: re-create each object once, and only once, whatever happens.

The order is the plan's: the lead first (with the contacts its payload embeds, in the
same request), then contacts, opportunities, tasks and activities, each pointing at the
new lead and the new contacts.

**Never twice.** Before each create request the object is marked *pending* in the
journal, and after the server's answer it is recorded as created (old id → new id), both
written to disk before going on. So:

* a rerun skips everything recorded;
* an object left pending (the run was killed while the request was in flight, or just
  after it) is **looked for** before anything is sent again;
* a request whose outcome is unknown (:class:`~close_tui.core.errors.WriteUncertain`:
  a dropped connection, a timeout, a ``5xx`` after the request left) is never repeated
  blindly either: the object is looked for first.

Looking means reading the event log: the ``created`` events of the new lead's children
of that type (``lead_id`` + ``object_type`` + ``action``), or for the lead itself the
``lead`` ``created`` events of this key's user (``user_id`` + ``object_type`` +
``action``), since the moment the request was sent (less five minutes of clock skew);
an event whose object is not in the journal yet and whose identifying fields (a note's
text, a contact's name…) equal the payload's is the object. The log can lag behind a
write by a moment, so an object not found is looked for again after ``probe_delays``
before it is sent again. A lead object found this way is confirmed with
``GET /lead/{id}/``.

Refusals (``400``, ``404``) are per object: the object is listed with the server's
reason and the rest goes on (a refused *lead* stops the run: nothing can be attached to
it). Everything else that stops a run (no network, a ``429`` storm beyond patience, an
authentication error, repeated unknown outcomes) raises :class:`RestoreStopped` with the
journal saved: running the same restore again continues where it stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from close_tui.core.client import CloseClient
from close_tui.core.errors import BadRequest, CloseError, NotFound, WriteUncertain
from close_tui.core.exporter import Pacer
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event
from close_tui.core.restore.io import PacedClient
from close_tui.core.restore.journal import Journal, journal_lock
from close_tui.core.restore.plan import PlanItem, RestorePlan, lead_web_url
from close_tui.core.sanitize import visible

#: Fields that tell one re-created object from another of its lead, per type.
IDENTITY: Final[Mapping[str, tuple[str, ...]]] = {
    "lead": ("name",),
    "contact": ("name",),
    "opportunity": ("note", "value"),
    "task.lead": ("text", "date"),
    "activity.note": ("note",),
    "activity.call": ("note", "duration", "direction"),
    "activity.sms": ("text", "direction"),
}
#: Clock skew allowed between us and the server when looking for what we created.
SKEW: Final = timedelta(minutes=5)
#: How often one object may come back "outcome unknown" before the run stops.
MAX_UNCERTAIN: Final = 3
DEFAULT_PROBE_DELAYS: Final = (0.0, 2.0, 5.0)

Status = Literal["checking", "created", "found", "already", "failed"]


class RestoreRefused(Exception):
    """The plan is not to be applied (blockers; a merged lead without consent)."""


class RestoreStopped(Exception):
    """The run stopped before its end; the journal holds what was done. Rerun to go on."""

    def __init__(self, message: str, result: RestoreResult) -> None:
        super().__init__(message)
        self.message = message
        self.result = result

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class RestoreProgress:
    """One step of an apply, for a progress line or bar."""

    done: int
    total: int
    status: Status
    item: PlanItem | None = None
    new_id: str | None = None
    message: str = ""


@dataclass(frozen=True)
class ItemFailure:
    old_id: str
    object_type: str
    label: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"old_id": self.old_id, "object_type": self.object_type,
                "label": self.label, "reason": self.reason}  # fmt: skip


@dataclass(frozen=True)
class RestoreResult:
    journal_path: Path
    new_lead_id: str | None
    #: Created by this run / recorded by an earlier run / found after an unknown outcome.
    created: int = 0
    already: int = 0
    found: int = 0
    failures: tuple[ItemFailure, ...] = ()
    completed: bool = False
    #: Nothing to do: an earlier run completed this restore.
    already_complete: bool = False
    completed_at: str | None = None
    #: Per-object changes made while applying (a contact that did not come back).
    notes: tuple[str, ...] = ()
    requests: int = 0
    writes: int = 0

    @property
    def new_lead_url(self) -> str | None:
        return lead_web_url(self.new_lead_id) if self.new_lead_id else None

    @property
    def ok(self) -> bool:
        return self.completed and not self.failures

    def to_json(self) -> dict[str, Any]:
        return {
            "new_lead_id": self.new_lead_id,
            "new_lead_url": self.new_lead_url,
            "created": self.created,
            "already_created": self.already,
            "found_after_unknown_outcome": self.found,
            "failures": [f.to_json() for f in self.failures],
            "completed": self.completed,
            "already_complete": self.already_complete,
            "completed_at": self.completed_at,
            "notes": list(self.notes),
            "journal": str(self.journal_path),
            "requests": self.requests,
            "writes": self.writes,
        }


ProgressCallback = Callable[[RestoreProgress], None]


async def apply_restore(
    client: CloseClient | PacedClient,
    plan: RestorePlan,
    *,
    journal_path: Path | None = None,
    allow_merged: bool = False,
    on_progress: ProgressCallback | None = None,
    pacer: Pacer | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    probe_delays: Sequence[float] = DEFAULT_PROBE_DELAYS,
) -> RestoreResult:
    """Re-create what ``plan`` lists; see the module docstring for the guarantees.

    Raises :class:`RestoreRefused` before any request when the plan must not be applied,
    :class:`~close_tui.core.restore.journal.JournalError` for an unusable journal, and
    :class:`RestoreStopped` when the run stops early (journal saved; rerun to continue).
    """
    if not plan.can_apply:
        reason = "; ".join(plan.blockers) or "the plan re-creates nothing"
        raise RestoreRefused(f"nothing can be restored: {reason}")
    if plan.merged and not allow_merged:
        raise RestoreRefused(
            f"this lead was merged into {plan.merge_destination_lead_id}: its data lives on "
            "there, so it is not restored by default (confirm the restore explicitly to make "
            "a second copy anyway)"
        )
    io = client if isinstance(client, PacedClient) else PacedClient(client, pacer)
    try:
        journal = Journal.for_plan(plan, journal_path)
        with journal_lock(journal.path):
            journal = Journal.for_plan(plan, journal.path)  # what a run before the lock wrote
            if journal.completed:
                return RestoreResult(
                    journal_path=journal.path,
                    new_lead_id=journal.new_lead_id,
                    already=len(journal.created),
                    completed=True,
                    already_complete=True,
                    completed_at=journal.completed_at,
                )
            run = _Run(io, plan, journal, on_progress, sleep, tuple(probe_delays))
            return await run.run()
    finally:
        if io is not client:
            io.close()


class _ItemRefused(Exception):
    pass


@dataclass
class _Run:
    io: PacedClient
    plan: RestorePlan
    journal: Journal
    on_progress: ProgressCallback | None
    sleep: Callable[[float], Awaitable[None]]
    probe_delays: tuple[float, ...]
    created: int = 0
    already: int = 0
    found: int = 0
    done: int = 0
    failures: list[ItemFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _me: str | None = None
    #: Embedded contacts recorded with their lead in this run: created, or found.
    _with_lead: dict[str, Status] = field(default_factory=dict)
    _requests_before: int = 0
    _writes_before: int = 0

    def __post_init__(self) -> None:
        self._requests_before = self.io.requests
        self._writes_before = self.io.writes

    # ------------------------------------------------------------------ driver

    async def run(self) -> RestoreResult:
        items = self.plan.items
        try:
            for item in items:
                await self._one(item)
                if item.object_type == "lead" and self.journal.new_id(item.old_id) is None:
                    break  # a refused lead: nothing can be attached to it
        except CloseError as exc:
            raise RestoreStopped(
                f"stopped: {exc}. Nothing was created twice; run the same restore again to "
                f"continue (journal {self.journal.path})",
                self._result(completed=False),
            ) from exc
        everything = all(self.journal.new_id(i.old_id) for i in items)
        if everything and not self.journal.pending:
            self.journal.complete()
            return self._result(completed=True)
        return self._result(completed=False)

    def _result(self, *, completed: bool) -> RestoreResult:
        return RestoreResult(
            journal_path=self.journal.path,
            new_lead_id=self.journal.new_lead_id,
            created=self.created,
            already=self.already,
            found=self.found,
            failures=tuple(self.failures),
            completed=completed,
            completed_at=self.journal.completed_at,
            notes=tuple(self.notes),
            requests=self.io.requests - self._requests_before,
            writes=self.io.writes - self._writes_before,
        )

    def _progress(
        self, status: Status, item: PlanItem | None, new_id: str | None = None, message: str = ""
    ) -> None:
        if status in ("created", "found", "already", "failed"):
            self.done += 1
        if self.on_progress is not None:
            self.on_progress(
                RestoreProgress(self.done, len(self.plan.items), status, item, new_id, message)
            )

    def _fail(self, item: PlanItem, reason: str, *, journal: bool = True) -> None:
        if journal:
            self.journal.fail(item.old_id, reason)
        self.failures.append(ItemFailure(item.old_id, item.object_type, item.label, reason))
        self._progress("failed", item, message=reason)

    # ------------------------------------------------------------------ one object

    async def _one(self, item: PlanItem) -> None:
        journal = self.journal
        known = journal.new_id(item.old_id)
        came_with_lead = self._with_lead.pop(item.old_id, None)
        if known is not None and came_with_lead is not None:
            if came_with_lead == "found":
                self.found += 1
            else:
                self.created += 1
            self._progress(came_with_lead, item, known)
            return
        if known is not None:
            self.already += 1
            self._progress("already", item, known)
            return
        if item.embedded:
            await self._embedded_leftover(item)
            return
        try:
            payload = self._resolve(item)
        except _ItemRefused as exc:
            self._fail(item, str(exc))
            return
        since = journal.pending.get(item.old_id)
        if since is not None:
            # Sent by an earlier run that did not live to hear the answer.
            self._progress("checking", item, message="looking whether an earlier run made it")
            new_id = await self._look(item, payload, since)
            if new_id is not None:
                self.found += 1
                self._progress("found", item, new_id)
                return
        await self._create(item, payload)

    def _resolve(self, item: PlanItem) -> dict[str, Any]:
        payload = dict(item.payload)
        for name, old in item.refs.items():
            new = self.journal.new_id(old)
            if new is not None:
                payload[name] = new
            elif name == "lead_id":
                raise _ItemRefused("its lead was not re-created")
            else:
                payload.pop(name, None)
                self.notes.append(
                    f"{item.object_type} {item.label!r}: its {name.removesuffix('_id')} was "
                    "not re-created, so it is linked to none"
                )
        return payload

    async def _create(self, item: PlanItem, payload: dict[str, Any]) -> None:
        for _ in range(MAX_UNCERTAIN):
            since = self._server_now()
            self.journal.begin(item.old_id, since)
            try:
                body = await self.io.post_json(item.endpoint, payload)
            except WriteUncertain:
                self._progress("checking", item, message="outcome unknown: looking for it")
                new_id = await self._look(item, payload, since)
                if new_id is not None:
                    self.found += 1
                    self._progress("found", item, new_id)
                    return
                continue  # surely not created: send it again
            except (BadRequest, NotFound) as exc:
                self._fail(item, _reason(exc))
                return
            new_id = body.get("id") if isinstance(body, dict) else None
            if not isinstance(new_id, str) or not new_id:
                self._fail(item, "the server's answer holds no id", journal=False)
                raise RestoreStopped(
                    f"the answer to creating {item.object_type} {item.old_id} holds no id; "
                    "look at the new lead before you run the restore again",
                    self._result(completed=False),
                )
            self.journal.record(item.old_id, new_id, item.object_type,
                                save=item.object_type != "lead")  # fmt: skip
            if item.object_type == "lead":
                self._record_embedded(body.get("contacts"), status="created")
                self.journal.save()
            self.created += 1
            self._progress("created", item, new_id)
            return
        raise RestoreStopped(
            f"could not tell whether {item.object_type} {item.old_id} was created after "
            f"{MAX_UNCERTAIN} tries with unknown outcomes; run the restore again later "
            f"(it looks first; journal {self.journal.path})",
            self._result(completed=False),
        )

    def _embedded_items(self) -> list[PlanItem]:
        return [i for i in self.plan.items if i.embedded]

    def _record_embedded(
        self, contacts: Any, *, save: bool = False, status: Status | None = None
    ) -> int:
        """Map the contacts a lead was created with (answer order, then by name)."""
        if not isinstance(contacts, list):
            return 0
        taken = self.journal.taken_ids()
        matched = 0
        pool = [c for c in contacts if isinstance(c, dict) and isinstance(c.get("id"), str)]
        for item in self._embedded_items():
            if self.journal.new_id(item.old_id) is not None:
                continue
            for contact in pool:
                if contact["id"] in taken or not _matches("contact", contact, item.payload):
                    continue
                self.journal.record(item.old_id, contact["id"], "contact", save=False)
                if status is not None:
                    self._with_lead[item.old_id] = status
                taken.add(contact["id"])
                matched += 1
                break
        if save and matched:
            self.journal.save()
        return matched

    async def _embedded_leftover(self, item: PlanItem) -> None:
        """A contact that should have come with the lead but is not in the journal."""
        new_lead = self.journal.new_lead_id
        if new_lead is None:
            self._fail(item, "its lead was not re-created")
            return
        created = await self._created_events(new_lead, "contact", self.journal.started_at)
        self._record_embedded([e.data for e in created if isinstance(e.data, dict)], save=True)
        new_id = self.journal.new_id(item.old_id)
        if new_id is not None:
            self.found += 1
            self._progress("found", item, new_id)
            return
        self._fail(
            item,
            "it was sent with the lead but cannot be found on the new lead; not sent again, "
            "so it cannot be created twice (look at the lead)",
        )

    # ------------------------------------------------------------------ looking for it

    def _server_now(self) -> str:
        now = self.io.client.server_time() or datetime.now(UTC)
        return now.astimezone(UTC).isoformat()

    async def _look(self, item: PlanItem, payload: Mapping[str, Any], since: str) -> str | None:
        for delay in self.probe_delays:
            if delay > 0:
                await self.sleep(delay)
            found = await self._look_once(item, payload, since)
            if found is not None:
                return found
        return None

    async def _look_once(
        self, item: PlanItem, payload: Mapping[str, Any], since: str
    ) -> str | None:
        taken = self.journal.taken_ids()
        if item.object_type == "lead":
            return await self._look_for_lead(item, payload, since, taken)
        lead = payload.get("lead_id")
        if not isinstance(lead, str):
            return None
        for event in await self._created_events(lead, item.object_type, since):
            if event.object_id is None or event.object_id in taken:
                continue
            if event.payload_state("data") == "missing":
                raise RestoreStopped(
                    f"cannot tell whether {item.object_type} {item.old_id} was created: this "
                    "key cannot read the payloads of older events. Look at the lead, then "
                    f"edit the journal {self.journal.path} or use an admin key",
                    self._result(completed=False),
                )
            if isinstance(event.data, Mapping) and _matches(item.object_type, event.data, payload):
                self.journal.record(item.old_id, event.object_id, item.object_type)
                return event.object_id
        return None

    async def _look_for_lead(
        self, item: PlanItem, payload: Mapping[str, Any], since: str, taken: set[str]
    ) -> str | None:
        me = await self._my_user_id()
        events, _ = await self.io.events(
            EventFilter(user_id=me, object_type="lead", action="created",
                        date_updated__gte=_parse(since) - SKEW)
        )  # fmt: skip
        for event in reversed(events):  # oldest first
            lead_id = event.object_id
            if not lead_id or lead_id in taken:
                continue
            try:
                current = await self.io.get_json(
                    f"lead/{lead_id}/", {"_fields": "id,name,display_name"}
                )
            except NotFound:
                continue  # created and deleted since: not ours to reuse
            if not isinstance(current, Mapping) or not _matches("lead", current, payload):
                continue
            self.journal.record(item.old_id, lead_id, "lead", save=False)
            same, _ = await self.io.events(EventFilter(request_id=event.request_id or ""))
            contacts = [e.data for e in reversed(same)
                        if e.object_type == "contact" and e.action == "created"
                        and isinstance(e.data, dict)]  # fmt: skip
            self._record_embedded(contacts, status="found")
            self.journal.save()
            return lead_id
        return None

    async def _created_events(self, lead_id: str, object_type: str, since: str) -> list[Event]:
        events, _ = await self.io.events(
            EventFilter(lead_id=lead_id, object_type=object_type, action="created",
                        date_updated__gte=_parse(since) - SKEW)
        )  # fmt: skip
        return list(reversed(events))  # oldest first

    async def _my_user_id(self) -> str:
        if self._me is None:
            me = await self.io.get_json("me/")
            user = me.get("id") if isinstance(me, Mapping) else None
            if not isinstance(user, str) or not user:
                raise RestoreStopped(
                    "cannot tell who this key belongs to (GET /me/ has no id), so a lead "
                    "whose creation had no answer cannot be looked for",
                    self._result(completed=False),
                )
            self._me = user
        return self._me


def _parse(iso: str) -> datetime:
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return datetime.now(UTC) - timedelta(days=1)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _matches(object_type: str, data: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
    keys = [k for k in IDENTITY.get(object_type, ()) if k in payload]
    return all(data.get(k) == payload[k] for k in keys)


def _reason(exc: CloseError) -> str:
    return visible(str(exc))
