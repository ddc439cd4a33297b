"""Helpers of the restore tests: a fresh organization per test (a restore writes to it),
a client whose waits move the emulator's clock instead of sleeping, the deletion event
of each way a lead is deleted, and the check that restored objects equal deleted ones."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.exporter import Pacer
from close_tui.core.restore import Journal, PacedClient, RestorePlan
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.emulator.deletions import cases_of
from close_tui.emulator.writes import READ_ONLY, WriteApi, writes_of
from close_tui.session import DEMO_BASE_URL

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)

#: The ways a lead gets deleted, as the tests name them.
KINDS = ("user", "bulk_action", "import_revert", "merge", "api_key")


@dataclass
class World:
    em: Emulator
    clock: FakeClock
    client: CloseClient
    io: PacedClient
    slept: list[float]

    @property
    def writes(self) -> WriteApi:
        return writes_of(self.em)

    def non_get(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.em.request_log if r.method != "GET"]

    def posts(self) -> list[str]:
        return [r.path for r in self.em.request_log if r.method == "POST"]

    def deletion(self, kind: str) -> dict[str, Any]:
        return deletion_event(self.em, kind)


def make_world(
    *, key: str = "admin", attempts: int = 6, em: Emulator | None = None, **config: Any
) -> World:
    """A client on a fresh organization, or on a shared ``em`` for read-only tests (the
    pacer's waits move its clock by milliseconds; nothing else does)."""
    if em is None:
        clock = FakeClock(NOW)
        # Small, but with every way of deleting a lead (a merge and a bulk action need
        # ~20 leads; a deactivated user needs 4 users).
        config = {"n_leads": 40, "n_users": 6, **config}
        em = Emulator(EmulatorConfig(**config), clock=clock)
    else:
        assert isinstance(em.clock, FakeClock)
        clock = em.clock
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(max(seconds, 0.0))

    def monotonic() -> float:
        return clock().timestamp()

    client = CloseClient(
        DEMO_BASE_URL,
        api_key=em.admin_key if key == "admin" else em.member_key,
        transport=em.transport(),
        retry=RetryPolicy(max_attempts=attempts, base_delay=0.5, jitter=0.0),
        sleep=sleep,
        monotonic=monotonic,
    )
    io = PacedClient(client, Pacer(monotonic=monotonic, sleep=sleep))
    return World(em, clock, client, io, slept)


def deletion_event(em: Emulator, kind: str) -> dict[str, Any]:
    """The ``lead`` ``deleted`` event of one way of deleting (newest of its kind)."""
    cases = cases_of(em.sim)
    for event in em.events():
        if event["object_type"] != "lead" or event["action"] != "deleted":
            continue
        meta = event["meta"]
        if kind == "merge" and "merge_source_lead_id" in meta:
            return event
        if kind == "bulk_action" and "bulk_action_id" in meta:
            return event
        if kind == "import_revert" and "revert_import_id" in meta:
            return event
        if kind == "api_key" and event["lead_id"] == cases.api_key_lead_id:
            return event
        if kind == "user" and event["lead_id"] == cases.user_lead_id:
            return event
    raise AssertionError(f"no {kind} deletion")


def old_state(em: Emulator, plan: RestorePlan, old_id: str, event_id: str) -> dict[str, Any]:
    """What the deleted object was: its deletion's previous_data (or its copy inside the
    lead's payload, for an embedded contact)."""
    event = em.event(event_id)
    assert event is not None
    previous: dict[str, Any] = event["previous_data"]
    if previous.get("id") == old_id:
        return previous
    return next(c for c in previous["contacts"] if c["id"] == old_id)


def assert_restored(world: World, plan: RestorePlan, journal: Journal) -> None:
    """Every item exists once, equal to what was deleted, less what cannot be restored,
    with its references pointing at the re-created objects."""
    em = world.em
    made = {c.id: c for c in world.writes.created}
    new_ids = [journal.new_id(i.old_id) for i in plan.items]
    assert None not in new_ids, "an item was not created"
    assert len(set(new_ids)) == len(new_ids), "two items share one new object"
    assert len(made) == len(plan.items), "more objects created than the plan lists"
    statuses = dict(em.sim.lead_statuses)
    gone = em.sim.left_user
    new_lead = journal.new_id(plan.lead_id) if plan.scope == "lead" else plan.lead_id
    restorable_contacts = {i.old_id for i in plan.items if i.object_type == "contact"}
    for item in plan.items:
        new_id = journal.new_id(item.old_id)
        assert new_id is not None
        new = made[new_id].state
        old = old_state(em, plan, item.old_id, item.event_id)
        assert new["id"] != old["id"]
        skip = set(READ_ONLY[item.object_type]) | {"lead_id", "contact_id", "contacts"}
        for key, value in old.items():
            if key in skip:
                continue
            if key in ("user_id", "assigned_to") and value == gone:
                assert new.get(key) != gone, "a deactivated user came back"
                continue
            if key == "status_id" and item.object_type == "lead" and value not in statuses:
                assert new[key] == em.sim.lead_statuses[0][0]
                continue
            if key == "status" and item.object_type == "activity.sms" and value in (
                "outbox", "scheduled"
            ):
                assert new[key] == "draft"
                continue
            if key == "date_scheduled" and item.object_type == "activity.sms":
                assert key not in new
                continue
            if key == "source" and item.object_type == "activity.call":
                assert new[key] == "External"
                continue
            assert new.get(key) == value, (item.object_type, key)
        if item.object_type != "lead":
            assert new["lead_id"] == new_lead
        old_contact = old.get("contact_id")
        if item.object_type != "contact" and old_contact in restorable_contacts:
            assert new["contact_id"] == journal.new_id(old_contact)
        elif item.object_type != "contact" and old_contact and plan.scope == "lead":
            assert new.get("contact_id") is None
    # Exactly once: no two created objects of a type share identity on the new lead.
    identities = Counter(
        (c.object_type, c.lead_id, str(sorted((k, str(v)) for k, v in c.state.items()
                                          if k not in ("id", "date_created", "date_updated"))))
        for c in world.writes.created
    )
    assert max(identities.values()) == 1 or _deleted_duplicates(em, plan)


def _deleted_duplicates(em: Emulator, plan: RestorePlan) -> bool:
    """The deleted lead itself had two identical objects (then so may the new one)."""
    seen = Counter(
        (i.object_type, str(sorted((k, str(v)) for k, v in i.payload.items())))
        for i in plan.items
    )
    return max(seen.values()) > 1
