"""Plans read from the emulator's event log: every way of deleting, one object or a whole
lead, admin and member keys, and never a write."""

from __future__ import annotations

import pytest
from restore_support import KINDS, NOW, World
from restore_support import make_world as fresh_world

from close_tui.core.errors import NotFound
from close_tui.core.restore import RestoreUsageError, plan_restore
from close_tui.core.restore.plan import HIDDEN_REASON
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.emulator.deletions import cases_of

_SHARED: list[Emulator] = []


def make_world(*, key: str = "admin") -> World:
    """Plans only read: one organization serves this whole module (its own request log
    is cleared per test, so "no write" is asserted per test)."""
    if not _SHARED:
        _SHARED.append(Emulator(EmulatorConfig(), clock=FakeClock(NOW)))
    em = _SHARED[0]
    em.request_log.clear()
    return fresh_world(key=key, em=em)


@pytest.mark.parametrize("kind", KINDS)
async def test_plan_of_each_kind_of_deletion_sends_no_write(kind: str) -> None:
    world = make_world()
    deletion = world.deletion(kind)
    plan = await plan_restore(world.io, event_id=deletion["id"])
    assert world.non_get() == []
    assert plan.scope == "lead" and plan.lead_id == deletion["lead_id"]
    assert plan.origin.kind == kind
    assert plan.items[0].object_type == "lead" and plan.items[0].old_id == deletion["lead_id"]
    assert plan.lead_name == deletion["previous_data"]["display_name"]
    described = plan.origin.describe()
    if kind == "bulk_action":
        assert deletion["meta"]["bulk_action_id"] in described
    elif kind == "import_revert":
        assert deletion["meta"]["revert_import_id"] in described
    elif kind == "api_key":
        assert deletion["api_key_id"] in described
    elif kind == "merge":
        assert deletion["meta"]["merge_destination_lead_id"] in described
    # Every deleted child of that deletion is in the plan, or listed as not restorable.
    fanout = {e["object_id"] for e in world.em.events()
              if e["request_id"] == deletion["request_id"] and e["lead_id"] == deletion["lead_id"]
              and e["action"] == "deleted" and e["object_type"] != "lead"}
    listed = {i.old_id for i in plan.items} | {u.old_id for u in plan.cannot}
    assert fanout <= listed
    assert plan.can_apply


async def test_the_api_key_case_plan_says_everything() -> None:
    world = make_world()
    cases = cases_of(world.em.sim)
    plan = await plan_restore(world.io, lead_id=cases.api_key_lead_id)
    assert plan.counts() == {"leads": 1, "contacts": 3, "opportunities": 1, "tasks": 2,
                             "notes": 2, "calls": 1, "SMS": 3}
    assert plan.summary().startswith("1 lead, 3 contacts, 1 opportunity, 2 tasks")
    # Contacts embedded in the lead's payload come back with it, never a second time.
    contacts = [i for i in plan.items if i.object_type == "contact"]
    assert all(i.embedded for i in contacts)
    assert len(plan.items[0].payload["contacts"]) == 3
    assert all("id" not in c and "lead_id" not in c for c in plan.items[0].payload["contacts"])
    codes = {w.code for w in plan.warnings}
    assert {"unassigned", "drafts", "status", "contacts_remapped", "completed_tasks"} <= codes
    assert "merged" not in codes
    lost = {u.object_type for u in plan.cannot}
    assert lost == {"activity.email", "activity.meeting", "activity.lead_status_change",
                    "activity.task_completed", "recording"}
    assert all(u.reason for u in plan.cannot)
    assert [u.old_id for u in plan.earlier] == [cases.earlier_note_id]
    assert cases.earlier_note_id not in {i.old_id for i in plan.items}
    lead = plan.items[0]
    assert "status_id" not in lead.payload  # retired since
    assert lead.payload["name"] == lead.label
    assert plan.origin.kind == "api_key" and plan.origin.api_key_id == cases.cleanup_key_id
    assert world.non_get() == []


async def test_a_merged_lead_offers_its_destination_and_is_not_restored_by_default() -> None:
    world = make_world()
    deletion = world.deletion("merge")
    plan = await plan_restore(world.io, event_id=deletion["id"])
    dest = deletion["meta"]["merge_destination_lead_id"]
    assert plan.merged and plan.merge_destination_lead_id == dest
    assert plan.merge_destination_name == world.em.leads[dest]["display_name"]
    assert not plan.restore_by_default and plan.can_apply
    assert plan.warnings[0].code == "merged" and dest in plan.warnings[0].message


async def test_a_member_key_gets_a_plan_that_says_why_nothing_can_be_restored() -> None:
    world = make_world(key="member")
    cases = cases_of(world.em.sim)
    plan = await plan_restore(world.io, lead_id=cases.api_key_lead_id)
    assert not plan.can_apply and plan.items == ()
    (blocker,) = plan.blockers
    assert HIDDEN_REASON in blocker and "one hour" in blocker
    # It still knows how the lead was deleted, from the event itself.
    assert plan.origin.kind == "api_key"
    # The children's payloads are hidden too, each with the reason.
    assert plan.cannot and all(u.reason in (HIDDEN_REASON,) or "cannot" in u.reason
                               or "Close" in u.reason for u in plan.cannot)
    assert plan.warning("hidden") is not None
    assert world.non_get() == []


async def test_one_deleted_object_on_a_lead_that_exists() -> None:
    world = make_world()
    integration = world.em.sim.integration_key_id
    deletion = next(e for e in world.em.events() if e["object_type"] == "contact"
                    and e["action"] == "deleted" and e["api_key_id"] == integration)
    plan = await plan_restore(world.io, event_id=deletion["id"])
    assert plan.scope == "object" and plan.object_type == "contact"
    assert plan.lead_id == deletion["lead_id"] and plan.lead_id in world.em.leads
    assert plan.lead_name == world.em.leads[plan.lead_id]["display_name"]
    (item,) = plan.items
    assert item.payload["lead_id"] == deletion["lead_id"] and item.refs == {}
    assert plan.origin.kind == "api_key"


@pytest.mark.parametrize("object_type", ["activity.note", "activity.call", "activity.sms",
                                         "task.lead", "opportunity"])
async def test_each_restorable_object_alone(object_type: str) -> None:
    world = make_world()
    deletion = next(
        e for e in world.em.events()
        if e["object_type"] == object_type and e["action"] == "deleted"
        and e["lead_id"] in world.em.leads
    )  # fmt: skip
    plan = await plan_restore(world.io, event_id=deletion["id"])
    assert plan.can_apply, plan.blockers
    (item,) = plan.items
    assert item.object_type == object_type and item.old_id == deletion["object_id"]


async def test_a_child_of_a_deleted_lead_plans_the_whole_lead() -> None:
    world = make_world()
    cases = cases_of(world.em.sim)
    note = next(e for e in world.em.events() if e["lead_id"] == cases.user_lead_id
                and e["object_type"] == "activity.note" and e["action"] == "deleted")
    plan = await plan_restore(world.io, event_id=note["id"])
    assert plan.scope == "lead" and plan.lead_id == cases.user_lead_id
    assert plan.warning("whole_lead") is not None
    assert note["object_id"] in {i.old_id for i in plan.items}


async def test_an_email_deletion_cannot_be_restored_and_says_why() -> None:
    world = make_world()
    email = next(e for e in world.em.events() if e["object_type"] == "activity.email"
                 and e["action"] == "deleted" and e["lead_id"] in world.em.leads)
    plan = await plan_restore(world.io, event_id=email["id"])
    assert not plan.can_apply and "emails cannot be re-created" in plan.blockers[0]


async def test_not_a_deletion_and_unknown_leads_are_told_apart() -> None:
    world = make_world()
    created = next(e for e in world.em.events() if e["action"] == "created")
    with pytest.raises(RestoreUsageError, match="not a deletion"):
        await plan_restore(world.io, event_id=created["id"])
    with pytest.raises(RestoreUsageError, match="exists"):
        await plan_restore(world.io, lead_id=sorted(world.em.leads)[0])
    with pytest.raises(NotFound):
        await plan_restore(world.io, lead_id="lead_" + "0" * 43)
    with pytest.raises(NotFound):
        await plan_restore(world.io, event_id="ev_" + "0" * 22)
    assert world.non_get() == []


async def test_the_plan_as_json_holds_what_the_text_shows() -> None:
    world = make_world()
    plan = await plan_restore(world.io, event_id=world.deletion("user")["id"])
    body = plan.to_json()
    assert body["deleted"]["kind"] == "user" and body["can_apply"] is True
    assert body["counts"] == plan.counts()
    assert [i["old_id"] for i in body["items"]] == [i.old_id for i in plan.items]
    assert {u["object_type"] for u in body["cannot"]} == {"task.opportunity_due"}
    assert "Close creates" in body["cannot"][0]["reason"]
