"""Applying plans on the emulator: what comes back equals what was deleted, references
point at the new objects, and nothing is ever created twice — after a crash, a kill
between the server's answer and the journal, lost answers, or a 429 storm."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import httpx
import pytest
from restore_support import KINDS, World, assert_restored, make_world

from close_tui.core.client import CloseClient
from close_tui.core.errors import WriteUncertain
from close_tui.core.restore import (
    Journal,
    JournalError,
    RestorePlan,
    RestoreProgress,
    RestoreRefused,
    RestoreStopped,
    apply_restore,
    plan_restore,
)
from close_tui.core.restore.journal import journal_lock
from close_tui.emulator.deletions import cases_of


class Crash(Exception):
    """Stands for the process dying: raised from inside the apply."""


async def plan_of(world: World, kind: str) -> RestorePlan:
    return await plan_restore(world.io, event_id=world.deletion(kind)["id"])


async def apply(world: World, plan: RestorePlan, path: Path, **kw: object) -> object:
    return await apply_restore(world.io, plan, journal_path=path, probe_delays=(0.0,), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", KINDS)
async def test_plan_then_apply_brings_back_what_was_deleted(kind: str, tmp_path: Path) -> None:
    world = make_world()
    plan = await plan_of(world, kind)
    assert world.non_get() == []
    journal_path = tmp_path / "j.json"
    result = await apply_restore(world.io, plan, journal_path=journal_path,
                                 allow_merged=kind == "merge")
    assert result.ok and result.completed and not result.already_complete
    journal = Journal.load(journal_path)
    assert journal is not None and journal.completed and not journal.pending
    assert_restored(world, plan, journal)
    new_lead = result.new_lead_id
    assert new_lead is not None and new_lead in world.em.leads
    assert result.new_lead_url == f"https://app.close.com/lead/{new_lead}/"
    # One create request per object, the embedded contacts inside the lead's.
    separate = [i for i in plan.items if not i.embedded]
    assert len(world.posts()) == len(separate) == result.writes
    assert world.writes.sent_sms == []
    # The new objects are in the event log as `created` events of the new lead.
    created = {e["object_id"] for e in world.em.events()
               if e["lead_id"] == new_lead and e["action"] == "created"}
    assert created == {c.id for c in world.writes.created}


async def test_outbox_and_scheduled_sms_come_back_as_drafts(tmp_path: Path) -> None:
    world = make_world()
    plan = await plan_restore(world.io, lead_id=cases_of(world.em.sim).api_key_lead_id)
    await apply(world, plan, tmp_path / "j.json")
    sms = [c.state for c in world.writes.created if c.object_type == "activity.sms"]
    assert sorted(s["status"] for s in sms) == ["draft", "draft", "sent"]
    assert world.writes.sent_sms == []
    assert all("date_scheduled" not in s for s in sms)


async def test_a_merged_lead_is_not_restored_by_default(tmp_path: Path) -> None:
    world = make_world()
    plan = await plan_of(world, "merge")
    with pytest.raises(RestoreRefused, match="merged into"):
        await apply(world, plan, tmp_path / "j.json")
    assert world.non_get() == [] and not (tmp_path / "j.json").exists()


async def test_a_plan_that_cannot_be_applied_writes_nothing(tmp_path: Path) -> None:
    member = make_world(key="member")
    plan = await plan_restore(member.io, lead_id=cases_of(member.em.sim).api_key_lead_id)
    with pytest.raises(RestoreRefused, match="one hour"):
        await apply(member, plan, tmp_path / "j.json")
    assert member.non_get() == []


@pytest.mark.parametrize("crash_after", [1, 2, 7])
async def test_a_run_killed_half_way_then_rerun_creates_everything_exactly_once(
    crash_after: int, tmp_path: Path
) -> None:
    world = make_world()
    plan = await plan_of(world, "api_key")
    path = tmp_path / "j.json"
    seen: list[RestoreProgress] = []

    def die(step: RestoreProgress) -> None:
        seen.append(step)
        if sum(1 for s in seen if s.status == "created") == crash_after:
            raise Crash

    with pytest.raises(Crash):
        await apply(world, plan, path, on_progress=die)
    half = len(world.writes.created)
    assert 0 < half < len(plan.items)
    result = await apply(world, plan, path)
    assert result.completed and result.already == half  # type: ignore[attr-defined]
    journal = Journal.load(path)
    assert journal is not None
    assert_restored(world, plan, journal)
    # A third run does nothing and says why.
    writes = len(world.posts())
    again = await apply(world, plan, path)
    assert again.already_complete and len(world.posts()) == writes  # type: ignore[attr-defined]


@pytest.mark.parametrize("nth_record", [1, 3, 6])
async def test_killed_between_the_servers_answer_and_the_journal(
    nth_record: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The object exists but the journal never heard of it: the rerun finds it."""
    world = make_world()
    plan = await plan_of(world, "api_key")
    path = tmp_path / "j.json"
    calls = {"n": 0}
    real_record = Journal.record

    def record(self: Journal, old_id: str, new_id: str, object_type: str, *,
               save: bool = True) -> None:
        calls["n"] += 1
        if calls["n"] == nth_record:
            raise Crash
        real_record(self, old_id, new_id, object_type, save=save)

    monkeypatch.setattr(Journal, "record", record)
    with pytest.raises(Crash):
        await apply(world, plan, path)
    monkeypatch.setattr(Journal, "record", real_record)
    stale = Journal.load(path)
    assert stale is not None and len(stale.pending) == 1
    result = await apply(world, plan, path)
    assert result.completed and result.found >= 1  # type: ignore[attr-defined]
    journal = Journal.load(path)
    assert journal is not None
    assert_restored(world, plan, journal)


@pytest.mark.parametrize("fault", ["503_after", "drop_after", "timeout_after",
                                   "503_before", "drop_before"])
@pytest.mark.parametrize("nth_post", [1, 4])
async def test_an_unknown_outcome_is_looked_for_before_writing_again(
    fault: str, nth_post: int, tmp_path: Path
) -> None:
    """POST 1 is the lead (with its contacts); POST 4 a task."""
    world = make_world()
    plan = await plan_of(world, "api_key")
    world.writes.faults[nth_post] = fault
    path = tmp_path / "j.json"
    result = await apply(world, plan, path)
    assert result.ok  # type: ignore[attr-defined]
    journal = Journal.load(path)
    assert journal is not None
    assert_restored(world, plan, journal)
    separate = len([i for i in plan.items if not i.embedded])
    if fault.endswith("_after"):
        assert result.found == (4 if nth_post == 1 else 1)  # type: ignore[attr-defined]
        assert len(world.posts()) == separate
    else:
        assert result.found == 0  # type: ignore[attr-defined]
        assert len(world.posts()) == separate + 1  # sent again: surely not created


async def test_repeated_unknown_outcomes_stop_the_run_and_a_rerun_finishes(
    tmp_path: Path,
) -> None:
    world = make_world()
    plan = await plan_of(world, "user")
    for n in (3, 4, 5):
        world.writes.faults[n] = "503_before"
    path = tmp_path / "j.json"
    with pytest.raises(RestoreStopped, match="could not tell") as info:
        await apply(world, plan, path)
    assert not info.value.result.completed
    result = await apply(world, plan, path)
    assert result.ok  # type: ignore[attr-defined]
    journal = Journal.load(path)
    assert journal is not None
    assert_restored(world, plan, journal)


def no_pacing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let every request through at once, so the server's limit is what stops them."""
    monkeypatch.setattr(world.io.pacer, "_wait_needed", lambda now: 0.0)


async def test_writes_are_paced_under_the_servers_limit(tmp_path: Path) -> None:
    world = make_world(rate_limit=5, rate_window=1.0)
    plan = await plan_of(world, "api_key")
    result = await apply(world, plan, tmp_path / "j.json")
    assert result.ok  # type: ignore[attr-defined]
    assert Counter(r.status for r in world.em.request_log)[429] == 0
    assert sum(world.slept) >= (len(world.em.request_log) / 5) - 2  # ~5 requests a second


async def test_a_429_storm_is_waited_out_and_nothing_is_doubled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(rate_limit=3, rate_window=1.0)
    no_pacing(world, monkeypatch)
    plan = await plan_of(world, "api_key")
    result = await apply(world, plan, tmp_path / "j.json")
    assert result.ok  # type: ignore[attr-defined]
    journal = Journal.load(tmp_path / "j.json")
    assert journal is not None
    assert_restored(world, plan, journal)
    refused = [r for r in world.em.request_log if r.status == 429]
    assert any(r.method == "POST" for r in refused)  # writes were refused and retried


async def test_a_429_storm_beyond_patience_stops_and_a_rerun_continues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = make_world(rate_limit=4, rate_window=1.0)
    plan = await plan_of(patient, "api_key")
    world = make_world(em=patient.em, attempts=1)  # gives up at the first 429
    no_pacing(world, monkeypatch)
    path = tmp_path / "j.json"
    stops = 0
    result = None
    for _ in range(60):
        world.clock.advance(1.0)
        try:
            result = await apply(world, plan, path)
            break
        except RestoreStopped as exc:
            stops += 1
            assert "run the same restore again" in exc.message
    assert stops > 0 and result is not None and result.ok  # type: ignore[attr-defined]
    journal = Journal.load(path)
    assert journal is not None
    assert_restored(world, plan, journal)


async def test_a_refused_object_is_reported_and_the_rest_restored(tmp_path: Path) -> None:
    world = make_world()
    plan = await plan_of(world, "user")
    bad = next(i for i in plan.items if i.object_type == "activity.note")
    tampered = dataclasses.replace(bad, payload={**bad.payload, "date_created": "x"})
    plan = dataclasses.replace(
        plan, items=tuple(tampered if i is bad else i for i in plan.items)
    )
    result = await apply(world, plan, tmp_path / "j.json")
    assert not result.ok and not result.completed  # type: ignore[attr-defined]
    (failure,) = result.failures  # type: ignore[attr-defined]
    assert failure.old_id == bad.old_id and "read-only" in failure.reason
    assert len(world.writes.created) == len(plan.items) - 1
    journal = Journal.load(tmp_path / "j.json")
    assert journal is not None and bad.old_id in journal.failures


async def test_one_object_goes_back_onto_its_lead(tmp_path: Path) -> None:
    world = make_world()
    deletion = next(e for e in world.em.events() if e["object_type"] == "activity.note"
                    and e["action"] == "deleted" and e["lead_id"] in world.em.leads)
    plan = await plan_restore(world.io, event_id=deletion["id"])
    result = await apply(world, plan, tmp_path / "j.json")
    assert result.ok and result.new_lead_id == deletion["lead_id"]  # type: ignore[attr-defined]
    (made,) = world.writes.created
    assert made.lead_id == deletion["lead_id"]
    assert made.state["note"] == deletion["previous_data"]["note"]


async def test_the_journal_is_whole_after_every_write(tmp_path: Path) -> None:
    world = make_world()
    plan = await plan_of(world, "api_key")
    path = tmp_path / "j.json"
    snapshots: list[int] = []

    def check(step: RestoreProgress) -> None:
        body = json.loads(path.read_text())  # never half a file
        snapshots.append(len(body["created"]))

    await apply(world, plan, path, on_progress=check)
    assert snapshots == sorted(snapshots) and snapshots[-1] == len(plan.items)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.json", "j.json.lock"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


async def test_a_second_apply_of_the_same_restore_is_locked_out(tmp_path: Path) -> None:
    world = make_world()
    plan = await plan_of(world, "user")
    path = tmp_path / "j.json"
    with journal_lock(path), pytest.raises(JournalError, match="another restore is running"):
        await apply(world, plan, path)
    assert world.non_get() == []


async def test_a_journal_of_another_restore_is_refused(tmp_path: Path) -> None:
    world = make_world()
    path = tmp_path / "j.json"
    await apply(world, await plan_of(world, "user"), path)
    with pytest.raises(JournalError, match="another restore"):
        await apply(world, await plan_of(world, "bulk_action"), path)
    path.write_text("{not json")
    with pytest.raises(JournalError, match="unreadable"):
        await apply(world, await plan_of(world, "user"), path)


async def test_a_truncated_answer_to_a_write_is_not_sent_again() -> None:
    """The client: a 2xx whose body is cut is a write that happened; never resent."""
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        return httpx.Response(200, headers={"content-type": "application/json"},
                              content=b'{"id": "lead_x", "na')

    async def no_sleep(_: float) -> None:
        return None

    async with CloseClient("https://api.example.invalid/api/v1", api_key="k",
                           transport=httpx.MockTransport(handler), sleep=no_sleep) as client:
        with pytest.raises(WriteUncertain, match="applied"):
            await client.post_json("lead/", {"name": "Acme"})
        assert sent == ["POST"]
        with pytest.raises(Exception, match="unusable response"):
            await client.get_json("lead/lead_x/")
    assert sent.count("GET") > 1  # reads are still retried
