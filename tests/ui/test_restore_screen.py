"""The restore modal in a small harness app: plan, confirm, progress, result, pivots.

The screen does no I/O; the full-flow test gives it a real :class:`RestoreJob` on the
emulator, the others fakes that say exactly what happened. One SVG snapshot shows a plan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Button, Static
from ui_support import SIZE, UI_NOW, make_client, settle

from close_tui.core.models import Event
from close_tui.core.restore import (
    RestorePlan,
    RestoreProgress,
    RestoreResult,
    RestoreStopped,
    build_plan,
)
from close_tui.core.restore.job import RestoreJob
from close_tui.core.restore.plan import Facts
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.emulator.deletions import cases_of
from close_tui.emulator.writes import writes_of
from close_tui.ui.screens.restore import RestoreScreen, plan_text

LEAD = "lead_" + "L" * 43
HOSTILE = "Acme [bold red]Inc[/] \x1b[31m[@click=app.quit]"


class Harness(App[None]):
    """Pushes one RestoreScreen and keeps what it posts and returns."""

    def __init__(self, make_screen: Callable[[], RestoreScreen]) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.pivots: list[RestoreScreen.PivotToLead] = []
        self.finished: list[RestoreScreen.Finished] = []
        self.dismissed: list[RestoreResult | None] = []

    def compose(self) -> ComposeResult:
        yield Static("explorer underneath")

    def on_mount(self) -> None:
        self.push_screen(self.make_screen(), callback=self.dismissed.append)

    def on_restore_screen_pivot_to_lead(self, message: RestoreScreen.PivotToLead) -> None:
        self.pivots.append(message)

    def on_restore_screen_finished(self, message: RestoreScreen.Finished) -> None:
        self.finished.append(message)


def synthetic_plan(
    name: str = "Acme", *, merged: bool = False, hidden: bool = False
) -> RestorePlan:
    meta: dict[str, Any] = {"request_method": "DELETE", "request_path": "/api/v1/lead/x/"}
    if merged:
        meta |= {"merge_source_lead_id": LEAD, "merge_destination_lead_id": "lead_dest"}
    raw: dict[str, Any] = {
        "id": "ev_" + "1" * 22, "date_created": "2026-11-10T10:00:00.000000",
        "date_updated": "2026-11-10T10:00:00.000000", "organization_id": "orga_1",
        "object_type": "lead", "object_id": LEAD, "lead_id": LEAD, "action": "deleted",
        "user_id": "user_a", "request_id": "req_" + "1" * 22, "api_key_id": None,
        "meta": meta, "data": None,
    }
    if not hidden:
        raw["previous_data"] = {"id": LEAD, "name": name, "display_name": name}
    note = {**raw, "id": "ev_" + "2" * 22, "object_type": "activity.note",
            "object_id": "acti_1", "previous_data": {"id": "acti_1", "note": name,
                                                     "lead_id": LEAD}}
    return build_plan(Facts(
        deletion=Event.model_validate(raw), organization_id="orga_1",
        fanout=[Event.model_validate(note)], user_names={"user_a": f"{name} user"},
        merge_destination_name="Acme Group" if merged else None,
    ))


class FakeActions:
    def __init__(self, plan: RestorePlan, result: RestoreResult | None = None,
                 *, fail: Exception | None = None, gate: asyncio.Event | None = None) -> None:
        self.plan = plan
        self.result = result
        self.fail = fail
        self.gate = gate
        self.applied: list[tuple[RestorePlan, bool]] = []

    async def load_plan(self) -> RestorePlan:
        if self.fail is not None and self.result is None and not self.applied:
            raise self.fail
        return self.plan

    async def apply(self, plan: RestorePlan, on_progress: Callable[[RestoreProgress], None],
                    *, allow_merged: bool) -> RestoreResult:
        self.applied.append((plan, allow_merged))
        on_progress(RestoreProgress(1, len(plan.items), "created", plan.items[0], "lead_new"))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        assert self.result is not None
        return self.result


def screen_text(app: App[Any]) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query(Static))


def result(**kw: Any) -> RestoreResult:
    base: dict[str, Any] = {"journal_path": Path("/tmp/j.json"), "new_lead_id": "lead_new",
                            "created": 2, "completed": True}
    return RestoreResult(**{**base, **kw})


# --------------------------------------------------------------------------- the plan


def test_plan_text_shows_untrusted_names_literally() -> None:
    text = plan_text(synthetic_plan(HOSTILE))
    assert isinstance(text, Text)
    assert "[bold red]Inc[/]" in text.plain and "[@click=app.quit]" in text.plain
    assert "\x1b" not in text.plain and "␛" in text.plain
    assert not any(str(span.style) == "bold red" and "Inc" in text.plain[span.start:span.end]
                   for span in text.spans)


async def test_hostile_names_reach_the_screen_as_text_and_click_nothing() -> None:
    plan = synthetic_plan(HOSTILE)
    app = Harness(lambda: RestoreScreen(FakeActions(plan), plan=plan))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = screen_text(app)
        assert "[@click=app.quit]" in shown and "␛[31m" in shown
        await pilot.click("#restore-title")
        assert app.is_running


async def test_confirm_applies_shows_progress_then_the_result() -> None:
    plan = synthetic_plan()
    gate = asyncio.Event()
    actions = FakeActions(plan, result(), gate=gate)
    app = Harness(lambda: RestoreScreen(actions, plan=plan))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "restore-confirm"
        await pilot.press("enter")
        for _ in range(50):
            await pilot.pause()
            if "created" in str(app.screen.query_one("#restore-status", Static).render()):
                break
        screen = app.screen
        assert isinstance(screen, RestoreScreen) and screen.state == "applying"
        assert str(screen.query_one("#restore-cancel", Button).label) == "Stop"
        gate.set()
        await settle(pilot)
        assert screen.state == "result"
        assert "lead_new" in screen_text(app) and "Restored." in screen_text(app)
        assert actions.applied == [(plan, False)]
        assert [f.result for f in app.finished] == [actions.result]
        assert app.focused is not None and app.focused.id == "restore-open-new"
        await pilot.press("enter")
        await pilot.pause()
        assert [(p.lead_id, p.reason) for p in app.pivots] == [("lead_new", "restored")]
        assert app.dismissed == [actions.result]


async def test_cancel_writes_nothing() -> None:
    plan = synthetic_plan()
    actions = FakeActions(plan, result())
    app = Harness(lambda: RestoreScreen(actions, plan=plan))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert actions.applied == [] and app.dismissed == [None]


async def test_a_merged_lead_defaults_to_its_destination() -> None:
    plan = synthetic_plan(merged=True)
    actions = FakeActions(plan, result())
    app = Harness(lambda: RestoreScreen(actions, plan=plan))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "restore-destination"
        confirm = app.screen.query_one("#restore-confirm", Button)
        assert confirm.display and "anyway" in str(confirm.label)
        assert "Acme Group" in screen_text(app)
        await pilot.press("enter")  # the default: open the destination, restore nothing
        await pilot.pause()
        assert actions.applied == []
        assert [(p.lead_id, p.reason) for p in app.pivots] == [("lead_dest", "merge_destination")]


async def test_restoring_a_merged_lead_anyway_says_so_to_the_apply() -> None:
    plan = synthetic_plan(merged=True)
    actions = FakeActions(plan, result())
    app = Harness(lambda: RestoreScreen(actions, plan=plan))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click("#restore-confirm")
        await settle(pilot)
        assert actions.applied == [(plan, True)]


async def test_a_plan_that_cannot_be_applied_has_no_restore_button() -> None:
    plan = synthetic_plan(hidden=True)
    app = Harness(lambda: RestoreScreen(FakeActions(plan), plan=plan))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.query_one("#restore-confirm", Button).display
        assert "one hour" in screen_text(app)
        assert app.focused is not None and app.focused.id == "restore-cancel"


async def test_a_stopped_apply_and_a_failed_plan_are_one_line() -> None:
    plan = synthetic_plan()
    stopped = RestoreStopped("stopped: rate limited 429", result(completed=False))
    actions = FakeActions(plan, fail=stopped)
    app = Harness(lambda: RestoreScreen(actions, plan=plan))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        shown = screen_text(app)
        assert "Stopped before the end" in shown and "Restore again" in shown
        assert app.finished[0].error == "stopped: rate limited 429"
    broken = FakeActions(plan, fail=RuntimeError("no network \x1b[2J"))
    app = Harness(lambda: RestoreScreen(broken))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = screen_text(app)
        assert "no network ␛[2J" in shown and "could not be made" in shown


async def test_stop_cancels_the_running_apply() -> None:
    plan = synthetic_plan()
    actions = FakeActions(plan, result(), gate=asyncio.Event())  # never opens
    app = Harness(lambda: RestoreScreen(actions, plan=plan))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("escape")  # Stop
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RestoreScreen) and screen.state == "error"
        assert "Nothing was created twice" in screen_text(app)


async def test_the_whole_flow_on_the_emulator(tmp_path: Path) -> None:
    emulator = Emulator(EmulatorConfig(n_leads=40, n_users=6), clock=FakeClock(UI_NOW))
    lead = cases_of(emulator.sim).api_key_lead_id
    client = make_client(emulator, attempts=3)
    job = RestoreJob(client, lead_id=lead, journal_path=tmp_path / "j.json")
    app = Harness(lambda: RestoreScreen(job))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RestoreScreen) and screen.state == "plan"
        assert [r for r in emulator.request_log if r.method != "GET"] == []
        await pilot.press("enter")
        await settle(pilot)
        assert screen.state == "result", screen_text(app)
        assert screen.result is not None and screen.result.ok
        assert len(writes_of(emulator).created) == len(screen.plan.items)  # type: ignore[union-attr]
        assert screen.result.new_lead_id in screen_text(app)
    await client.aclose()


# --------------------------------------------------------------------------- the picture


@pytest.fixture(scope="module")
def api_key_plan() -> RestorePlan:
    """The plan of the seeded organization's lead deleted through an API key."""
    emulator = Emulator(EmulatorConfig(), clock=FakeClock(UI_NOW))

    async def load() -> RestorePlan:
        client = make_client(emulator)
        try:
            return await RestoreJob(client, lead_id=cases_of(emulator.sim).api_key_lead_id
                                    ).load_plan()
        finally:
            await client.aclose()

    plan = asyncio.run(load())
    assert plan.origin.when.tzinfo is UTC or plan.origin.when.utcoffset() is not None
    return plan


def test_snapshot_of_a_plan(snap_compare: Any, api_key_plan: RestorePlan) -> None:
    app = Harness(lambda: RestoreScreen(FakeActions(api_key_plan), plan=api_key_plan))
    assert snap_compare(app, terminal_size=SIZE)
