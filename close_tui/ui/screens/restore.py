"""The restore modal: the plan, a confirmation, progress, then the result.

The screen does no I/O. It is given a :class:`~close_tui.core.restore.job.RestoreActions`
(``load_plan()`` and ``apply(plan, on_progress, allow_merged=…)``; the app passes a
:class:`~close_tui.core.restore.job.RestoreJob`) and runs those coroutines in workers;
progress arrives as messages. What it shows comes from the API, so every name goes in as
:class:`rich.text.Text` with control characters made visible, never through markup.

A lead deleted by a **merge** lives on in the lead it was merged into: then the default
(focused) button opens that lead, and restoring needs the explicit "Restore anyway".

Messages for the app (they bubble from the screen):

* :class:`RestoreScreen.PivotToLead` — show this lead's events (the merge destination,
  or the lead just restored);
* :class:`RestoreScreen.Finished` — an apply ended (completed, partly failed, stopped).

Wiring it into the explorer (an action, a palette entry, a key)::

    def action_restore(self) -> None:
        event = ...  # the selected event; Restore is for action == "deleted"
        self.push_screen(RestoreScreen(RestoreJob(self.client, event_id=event.id)))

    def on_restore_screen_pivot_to_lead(self, message: RestoreScreen.PivotToLead) -> None:
        ...  # apply EventFilter(lead_id=message.lead_id), as the L pivot does

with ``SystemCommand("Restore…", …, self.action_restore)`` in the palette and
``KeySpec("table.restore", "u", "app.restore", "Restore deleted…", "table", show=False,
section="Investigate")`` (and ``detail.restore``) in ``ui/keys.py``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, ProgressBar, Static
from textual.worker import Worker, WorkerState

from close_tui.core.restore import (
    RestorePlan,
    RestoreProgress,
    RestoreResult,
    RestoreStopped,
)
from close_tui.core.restore.job import RestoreActions
from close_tui.core.restore.kinds import count_phrase, plural
from close_tui.core.sanitize import visible

State = Literal["loading", "plan", "applying", "result", "error"]

_KIND_WIDTH = 12


def _kind(object_type: str) -> str:
    return object_type.removeprefix("activity.").removesuffix(".lead")


def _line(text: Text, *parts: tuple[str, str] | str) -> None:
    for part in parts:
        if isinstance(part, tuple):
            text.append(visible(part[0]), style=part[1])
        else:
            text.append(visible(part))
    text.append("\n")


def plan_text(plan: RestorePlan) -> Text:
    """The body of the plan: what comes back, what cannot, what else to know."""
    text = Text()
    for blocker in plan.blockers:
        _line(text, ("✗ ", "bold red"), (blocker, "red"))
    if plan.blockers:
        text.append("\n")
    merged = plan.warning("merged")
    if merged is not None:
        _line(text, ("⚠ ", "bold yellow"), (merged.message, "bold yellow"))
        text.append("\n")
    if plan.items:
        _line(text, ("Will be re-created: ", "bold"), (plan.summary(), "bold"))
        for item in plan.items:
            _line(text, (f"  {_kind(item.object_type):<{_KIND_WIDTH}} ", "dim"), item.label,
                  (" (with the lead)" if item.embedded else "", "dim"))  # fmt: skip
            for note in item.notes:
                _line(text, (f"  {'':<{_KIND_WIDTH}}   ↳ {note}", "italic dim"))
        text.append("\n")
    _line(text, ("Cannot be restored", "bold"))
    groups: dict[str, list[str]] = {}
    for lost in plan.cannot:
        groups.setdefault(lost.reason, []).append(lost.label)
    kinds: dict[str, str] = {u.reason: u.object_type for u in plan.cannot}
    for reason, labels in groups.items():
        shown = ", ".join(labels[:3]) + (f" +{len(labels) - 3}" if len(labels) > 3 else "")
        what = count_phrase(len(labels), plural(kinds[reason]))
        _line(text, "  • ", (f"{what}: ", "bold"), reason, (f" — {shown}", "dim"))
    _line(text, "  • ", (plan.always_lost, ""))
    if plan.earlier:
        text.append("\n")
        _line(text, ("Deleted earlier, on their own: ", "bold"),
              (f"{len(plan.earlier)} (not part of this deletion; not restored)", ""))  # fmt: skip
        for lost in plan.earlier[:3]:
            _line(text, (f"  {_kind(lost.object_type):<{_KIND_WIDTH}} ", "dim"), lost.label)
    others = [w for w in plan.warnings if w.code != "merged"]
    if others:
        text.append("\n")
        _line(text, ("Before you restore", "bold"))
        for warning in others:
            _line(text, ("  ⚠ ", "yellow"), warning.message)
    text.rstrip()
    return text


def result_text(result: RestoreResult, *, stopped: str | None = None) -> Text:
    text = Text()
    if result.already_complete:
        _line(text, ("This restore was already completed", "bold green"),
              f" ({result.completed_at}): nothing to do.")  # fmt: skip
    elif stopped:
        _line(text, ("Stopped before the end. ", "bold yellow"), stopped)
    elif result.ok:
        _line(text, ("Restored.", "bold green"))
    else:
        _line(text, ("Restored, except what is listed below.", "bold yellow"))
    if result.new_lead_id:
        _line(text, ("Lead: ", "bold"), result.new_lead_id, "  ",
              (result.new_lead_url or "", "underline"))  # fmt: skip
    if not result.already_complete:
        _line(text, f"{count_phrase(result.created, 'objects')} created now, "
                    f"{result.already} before, {result.found} found after an unknown outcome")
    if result.failures:
        _line(text, ("Failed:", "bold red"))
        for failure in result.failures:
            _line(text, (f"  {_kind(failure.object_type)} ", "dim"), failure.label,
                  (f": {failure.reason}", "red"))  # fmt: skip
    for note in result.notes:
        _line(text, ("  ↳ ", "dim"), (note, "dim"))
    if not result.ok and not result.already_complete:
        _line(text, ("Restore again to continue: nothing is created twice.", "dim"))
    _line(text, ("Journal: ", "dim"), (str(result.journal_path), "dim"))
    text.rstrip()
    return text


class RestoreScreen(ModalScreen[RestoreResult | None]):
    """Plan → confirm → progress → result, for one deletion."""

    DEFAULT_CSS = """
    RestoreScreen { align: center middle; }
    RestoreScreen > #restore-box {
        width: 104; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    RestoreScreen #restore-title { text-style: bold; }
    RestoreScreen #restore-origin { color: $text-muted; margin-bottom: 1; }
    RestoreScreen #restore-status { margin-top: 1; height: auto; max-height: 3; }
    RestoreScreen #restore-footer { dock: bottom; height: auto; background: $surface; }
    RestoreScreen #restore-progress { margin-top: 1; display: none; }
    RestoreScreen #restore-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    RestoreScreen #restore-buttons Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel / close", id="restore.close"),
        Binding("up", "scroll_body('up')", "Scroll", show=False, id="restore.scroll_up"),
        Binding("down", "scroll_body('down')", "Scroll", show=False, id="restore.scroll_down"),
        Binding("pageup", "scroll_body('page_up')", "Page up", show=False,
                id="restore.page_up"),
        Binding("pagedown", "scroll_body('page_down')", "Page down", show=False,
                id="restore.page_down"),
    ]

    class PivotToLead(Message):
        """Show this lead's events: the merge destination, or the restored lead."""

        def __init__(self, lead_id: str, reason: Literal["merge_destination", "restored"]):
            super().__init__()
            self.lead_id = lead_id
            self.reason = reason

    class Finished(Message):
        """An apply ended: ``result`` (``None`` if it failed before any result)."""

        def __init__(self, result: RestoreResult | None, error: str | None = None) -> None:
            super().__init__()
            self.result = result
            self.error = error

    class _Progress(Message):
        def __init__(self, step: RestoreProgress) -> None:
            super().__init__()
            self.step = step

    def __init__(self, actions: RestoreActions, *, plan: RestorePlan | None = None) -> None:
        super().__init__()
        self.actions = actions
        self.plan: RestorePlan | None = plan
        self.result: RestoreResult | None = None
        self.state: State = "plan" if plan is not None else "loading"
        self._worker: Worker[None] | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # One scrolling box; the progress bar and the buttons are docked at its bottom,
        # so a long plan scrolls under them and they never leave the screen.
        with VerticalScroll(id="restore-box"):
            with Vertical(id="restore-footer"):
                yield Static(Text(""), id="restore-status")
                yield ProgressBar(id="restore-progress", show_eta=False)
                with Horizontal(id="restore-buttons"):
                    yield Button("Restore", id="restore-confirm", variant="primary")
                    yield Button("Open destination lead", id="restore-destination")
                    yield Button("Show the new lead's events", id="restore-open-new",
                                 variant="success")  # fmt: skip
                    yield Button("Cancel", id="restore-cancel")
            yield Static(Text("Restore"), id="restore-title")
            yield Static(Text("Reading the event log…"), id="restore-origin")
            yield Static(Text(""), id="restore-plan")

    def on_mount(self) -> None:
        if self.plan is None:
            self._show_buttons()
            self.run_worker(self._load(), group="restore-plan", exclusive=True)
        else:
            self.show_plan(self.plan)

    def _button(self, name: str) -> Button:
        return self.query_one(f"#restore-{name}", Button)

    def _status(self, text: Text) -> None:
        self.query_one("#restore-status", Static).update(text)

    def _show_buttons(self) -> None:
        plan = self.plan
        state = self.state
        confirm = self._button("confirm")
        confirm.display = state == "plan" and plan is not None and plan.can_apply
        if plan is not None and plan.merged:
            confirm.label = "Restore anyway (a second copy)"
            confirm.variant = "error"
        self._button("destination").display = (
            state == "plan" and plan is not None and plan.merged
        )
        self._button("open-new").display = (
            state == "result" and self.result is not None and bool(self.result.new_lead_id)
        )
        cancel = self._button("cancel")
        cancel.label = {"applying": "Stop", "result": "Close", "error": "Close"}.get(
            state, "Cancel"
        )

    def _focus_default(self) -> None:
        plan = self.plan
        if self.state == "plan" and plan is not None and plan.restore_by_default:
            self._button("confirm").focus()
        elif self.state == "plan" and plan is not None and plan.merged:
            self._button("destination").focus()
        elif self.state == "result" and self._button("open-new").display:
            self._button("open-new").focus()
        else:
            self._button("cancel").focus()

    # ------------------------------------------------------------------ the plan

    async def _load(self) -> None:
        try:
            plan = await self.actions.load_plan()
        except Exception as exc:  # every failure is one line, never a traceback
            self.state = "error"
            self.query_one("#restore-origin", Static).update(Text("The plan could not be made."))
            self._status(Text("✗ " + visible(str(exc) or type(exc).__name__), style="red"))
            self._show_buttons()
            self._focus_default()
            return
        self.show_plan(plan)

    def show_plan(self, plan: RestorePlan) -> None:
        self.plan = plan
        self.state = "plan"
        title = Text("Restore ")
        if plan.scope == "lead":
            title.append("lead ")
            title.append(visible(plan.lead_name), style="bold")
        else:
            title.append(_kind(plan.object_type) + " on lead ")
            title.append(visible(plan.lead_name), style="bold")
        self.query_one("#restore-title", Static).update(title)
        described = visible(plan.origin.describe())
        origin = Text(described[:1].upper() + described[1:])
        origin.append(f"  ·  event {plan.event_id}", style="dim")
        self.query_one("#restore-origin", Static).update(origin)
        self.query_one("#restore-plan", Static).update(plan_text(plan))
        if plan.merged:
            hint = "Restoring is not the default: the data lives on in the destination lead."
        elif plan.can_apply:
            hint = "Nothing has been written. Restore re-creates what is listed above."
        else:
            hint = "Nothing can be restored."
        self._status(Text(hint, style="dim"))
        self._show_buttons()
        self._focus_default()

    # ------------------------------------------------------------------ applying

    @on(Button.Pressed, "#restore-confirm")
    def _confirm(self, event: Button.Pressed) -> None:
        event.stop()
        plan = self.plan
        if self.state != "plan" or plan is None or not plan.can_apply:
            return
        self.state = "applying"
        bar = self.query_one("#restore-progress", ProgressBar)
        bar.display = True
        bar.update(total=len(plan.items), progress=0)
        self._status(Text("Restoring…"))
        self._show_buttons()
        self._button("cancel").focus()
        self._worker = self.run_worker(
            self._apply(plan, allow_merged=plan.merged), group="restore-apply", exclusive=True
        )

    async def _apply(self, plan: RestorePlan, *, allow_merged: bool) -> None:
        stopped: str | None = None
        error: str | None = None
        result: RestoreResult | None = None
        try:
            result = await self.actions.apply(plan, self._report, allow_merged=allow_merged)
        except RestoreStopped as exc:
            result, stopped = exc.result, exc.message
        except Exception as exc:  # refused, journal unusable, network: one line
            error = visible(str(exc) or type(exc).__name__)
        self._finish(result, stopped=stopped, error=error)

    def _report(self, step: RestoreProgress) -> None:
        """The apply's progress callback: a message, handled between its requests."""
        self.post_message(self._Progress(step))

    def _finish(
        self, result: RestoreResult | None, *, stopped: str | None, error: str | None
    ) -> None:
        self.result = result
        self.state = "result" if result is not None else "error"
        if result is not None:
            self.query_one("#restore-plan", Static).update(result_text(result, stopped=stopped))
            self._status(Text(""))
        else:
            self._status(Text("✗ " + (error or "the restore failed"), style="red"))
        self._show_buttons()
        self._focus_default()
        self.post_message(self.Finished(result, error or stopped))

    @on(_Progress)
    def _progressed(self, message: _Progress) -> None:
        if self.state != "applying":
            return  # queued behind the end of the apply: the result is shown already
        step = message.step
        bar = self.query_one("#restore-progress", ProgressBar)
        bar.update(total=step.total, progress=step.done)
        if step.item is None:
            return
        line = Text(f"{step.done}/{step.total} ", style="dim")
        line.append({"checking": "checking", "created": "created", "found": "found",
                     "already": "already there", "failed": "FAILED"}[step.status] + " ",
                    style="red" if step.status == "failed" else "")  # fmt: skip
        line.append(_kind(step.item.object_type) + " ", style="dim")
        line.append(visible(step.item.label))
        if step.message:
            line.append(" — " + visible(step.message), style="dim")
        self._status(line)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._worker and event.state == WorkerState.CANCELLED:
            self._finish(
                None, stopped=None,
                error="stopped. Nothing was created twice: Restore again continues where it "
                "stopped.",
            )  # fmt: skip

    def action_scroll_body(self, how: str) -> None:
        body = self.query_one("#restore-box", VerticalScroll)
        {"up": body.scroll_up, "down": body.scroll_down, "page_up": body.scroll_page_up,
         "page_down": body.scroll_page_down}[how]()

    # ------------------------------------------------------------------ leaving

    @on(Button.Pressed, "#restore-destination")
    def _to_destination(self, event: Button.Pressed) -> None:
        event.stop()
        if self.plan is not None and self.plan.merge_destination_lead_id:
            self.post_message(
                self.PivotToLead(self.plan.merge_destination_lead_id, "merge_destination")
            )
            self.dismiss(None)

    @on(Button.Pressed, "#restore-open-new")
    def _to_new_lead(self, event: Button.Pressed) -> None:
        event.stop()
        if self.result is not None and self.result.new_lead_id:
            self.post_message(self.PivotToLead(self.result.new_lead_id, "restored"))
            self.dismiss(self.result)

    @on(Button.Pressed, "#restore-cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_close()

    def action_close(self) -> None:
        if self.state == "applying":
            if self._worker is not None:
                self._worker.cancel()
            return
        self.dismiss(self.result)
