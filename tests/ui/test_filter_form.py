"""The filter form, driven like a person drives it: keys, tab, Enter, pastes.

The form must make every supported combination reachable from the keyboard and nothing
else appliable; these tests walk all 16 and a few ways of getting it wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual import events
from textual.app import App, ComposeResult
from textual.content import Content
from textual.geometry import Region
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, Static

from close_tui.core.catalog import OBJECT_TYPE_ACTIONS
from close_tui.core.filters import (
    FILTER_FIELDS,
    SUPPORTED_COMBINATIONS,
    EventFilter,
    can_add,
    completions,
    describe,
    is_supported,
)
from close_tui.ui.widgets.filter_form import (
    FORM_FIELDS,
    FieldInput,
    FilterForm,
    evaluate,
    format_local,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LOCAL = timezone(timedelta(hours=1))
#: Short ids keep key-by-key typing quick; each is valid for its own field.
VALUES = {
    "lead_id": "lead_L1",
    "user_id": "user_U1",
    "object_type": "contact",
    "object_id": "cont_C1",
    "action": "created",
    "request_id": "req_R1",
}


class Host(App[None]):
    """A tiny app around the form that records what the form tells its app."""

    def __init__(self) -> None:
        super().__init__()
        self.applied: list[EventFilter] = []
        self.leaves = 0
        self.notices: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        yield FilterForm(now=lambda: NOW, local_tz=LOCAL, id="form")
        yield Button("table stand-in", id="table")

    def on_mount(self) -> None:
        self.form.focus_first()

    @property
    def form(self) -> FilterForm:
        return self.query_one(FilterForm)

    def on_filter_form_applied(self, message: FilterForm.Applied) -> None:
        self.applied.append(message.filter)

    def on_filter_form_leave(self, _: FilterForm.Leave) -> None:
        self.leaves += 1

    def on_filter_form_notice(self, message: FilterForm.Notice) -> None:
        self.notices.append((message.severity, message.text))


def reason(form: FilterForm, name: str) -> str:
    return str(form.query_one(f"#{name}-reason", Static).content)


def hint(form: FilterForm) -> str:
    return str(form.query_one("#hint", Static).content)


def apply_enabled(form: FilterForm) -> bool:
    return not form.query_one("#apply", Button).disabled


def send_key(pilot: Pilot[None], key: str, char: str | None = None) -> None:
    """Post one key event to the app, as the driver does for ``Pilot.press``, without its
    per-key wait for CPU idle (~60-90 ms a key on a busy machine, which made these tests
    take over a minute); callers wait for the effect they need instead."""
    event = events.Key(key, char)
    event.set_sender(pilot.app)
    pilot.app.post_message(event)


async def tab(pilot: Pilot[None]) -> None:
    """Press Tab and wait until focus has moved."""
    before = pilot.app.focused
    send_key(pilot, "tab")
    for _ in range(50):
        # A barrier (all queued messages handled), not a sleep.
        await pilot._wait_for_screen()
        if pilot.app.focused is not before:
            # One more barrier, queued after the Focus event the move posted: the new
            # field's Focus handler (which selects its text) has run when it returns.
            await pilot._wait_for_screen()
            return
    raise AssertionError(f"Tab did not move focus from {before}")


async def press_until(pilot: Pilot[None], key: str, done: Callable[[], bool]) -> None:
    """Press ``key`` and wait (on barriers, not sleeps) until ``done()`` holds. For keys
    whose effect is expected; a key that must do nothing goes through ``pilot.press``."""
    send_key(pilot, key)
    for _ in range(50):
        await pilot._wait_for_screen()
        if done():
            return
    raise AssertionError(f"{key} had no effect")


async def tab_to(pilot: Pilot[None], form: FilterForm, name: str) -> None:
    """Move focus to a field with Tab only, as a keyboard user would."""
    target = form.field_input(name)
    for _ in range(len(FORM_FIELDS) + 4):
        if pilot.app.focused is target:
            return
        await tab(pilot)
    raise AssertionError(f"Tab never reached {name}; focus is on {pilot.app.focused}")


async def type_text(pilot: Pilot[None], text: str) -> None:
    """Type ``text`` into the focused widget, key by key, as real key events. All keys
    target the same focused Input, so one barrier at the end is enough."""
    for char in text:
        send_key(pilot, char if char.isalnum() else _character_to_key(char), char)
    await pilot.pause()


async def type_into(pilot: Pilot[None], form: FilterForm, name: str, text: str) -> None:
    await tab_to(pilot, form, name)
    await type_text(pilot, text)


async def paste(pilot: Pilot[None], text: str) -> None:
    """A bracketed paste as the terminal delivers it: to the app, forwarded to focus."""
    pilot.app.post_message(events.Paste(text))
    await pilot.pause()


# -- every supported combination, keyboard only -----------------------------------------------


async def test_every_supported_combination_applies_from_the_keyboard() -> None:
    """All 16, one after the other in one session (ctrl+x between them): a fresh app per
    combination costs more than the typing."""
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        lead_input = form.field_input("lead_id")
        for combo in SUPPORTED_COMBINATIONS:
            label = describe(combo)
            await press_until(
                pilot,
                "ctrl+x",
                lambda: app.focused is lead_input and not any(form.values().values()),
            )
            for name in FORM_FIELDS:
                if name in combo:
                    assert not form.field_input(name).disabled, f"{label}: {name} disabled"
                    await type_into(pilot, form, name, VALUES[name])
            assert apply_enabled(form), label
            assert hint(form).startswith("✓ " + label), label
            app.applied.clear()
            await press_until(pilot, "enter", lambda: bool(app.applied))
            await pilot.pause()
            expected = EventFilter().replace(**{name: VALUES[name] for name in combo})
            assert app.applied == [expected], label
        assert len(SUPPORTED_COMBINATIONS) == 16


async def test_a_date_range_joins_any_combination_and_tab_reaches_it() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await type_into(pilot, form, "request_id", "req_R1")
        await type_into(pilot, form, "since", "2h")
        await type_into(pilot, form, "until", "2026-11-20T11:30Z")
        await pilot.press("enter")
        await pilot.pause()
        assert app.applied == [
            EventFilter(
                request_id="req_R1",
                date_updated__gte=NOW - timedelta(hours=2),
                date_updated__lte=datetime(2026, 11, 20, 11, 30, tzinfo=UTC),
            )
        ]


async def test_apply_button_applies_from_the_keyboard_too() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await type_into(pilot, form, "user_id", "user_U1")
        apply_button = form.query_one("#apply", Button)
        for _ in range(12):
            if app.focused is apply_button:
                break
            await tab(pilot)
        assert app.focused is apply_button
        await pilot.press("enter")
        await pilot.pause()
        assert app.applied == [EventFilter(user_id="user_U1")]


# -- what cannot be applied -------------------------------------------------------------------


async def test_partial_sets_cannot_apply_and_the_hint_names_the_completions() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        for partial in [("action",), ("object_type",), ("object_id",), ("user_id", "action")]:
            await pilot.press("ctrl+x")
            for name in FORM_FIELDS:
                if name in partial:
                    await type_into(pilot, form, name, VALUES[name])
            assert not apply_enabled(form), partial
            assert form.current_filter is None, partial
            adds = " or ".join(describe(a) for a in completions(partial))
            assert hint(form) == f"{describe(partial)}: add {adds}"
            await pilot.press("enter")
            await pilot.pause()
            assert app.applied == [], partial
        # The docs' own example: an action alone needs a type or an object id.
        assert hint(form).endswith("add object_type or object_id") or partial != ("action",)


async def test_action_alone_hint_matches_the_docs_wording() -> None:
    state = evaluate({"action": "created"}, now=NOW, local_tz=LOCAL)
    assert state.hint == "action: add object_type or object_id"


async def test_fields_that_cannot_join_are_disabled_and_say_why() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await type_into(pilot, form, "request_id", "req_R1")
        for name in FILTER_FIELDS:
            if name == "request_id":
                continue
            field_input = form.field_input(name)
            assert field_input.disabled
            assert reason(form, name) == "not with request_id"
            assert isinstance(field_input.tooltip, Content)
            assert str(field_input.tooltip) == f"{name} cannot be combined with request_id"
        # Dates go with everything.
        assert not form.field_input("since").disabled
        assert not form.field_input("until").disabled
        # Tab skips the disabled fields: from request id straight to since.
        await tab(pilot)
        assert app.focused is form.field_input("since")
        # Emptying the request id gives everything back.
        await tab_to(pilot, form, "request_id")
        await pilot.press("ctrl+u")
        await pilot.pause()
        assert not any(form.field_input(name).disabled for name in FORM_FIELDS)


async def test_lead_and_object_id_exclude_each_other() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await type_into(pilot, form, "lead_id", "lead_L1")
        assert form.field_input("object_id").disabled
        assert reason(form, "object_id") == "not with lead_id"
        assert not form.field_input("object_type").disabled


async def test_an_unsupported_filter_given_by_the_app_is_shown_but_not_appliable() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        form.set_filter(EventFilter(lead_id="lead_L1", request_id="req_R1"))
        await pilot.pause()
        assert form.field_input("lead_id").value == "lead_L1"
        assert not apply_enabled(form)
        assert "unsupported filter combination lead_id + request_id" in hint(form)
        await tab_to(pilot, form, "lead_id")
        await pilot.press("enter")
        await pilot.pause()
        assert app.applied == []


# -- field values -----------------------------------------------------------------------------


async def test_an_id_typed_into_the_wrong_field_is_refused_inline() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await type_into(pilot, form, "lead_id", "user_U1")
        assert reason(form, "lead_id") == "user_U1 is a user id: it goes in user id"
        assert form.field_input("lead_id").has_class("-invalid")
        assert not apply_enabled(form)
        assert hint(form) == "lead id: user_U1 is a user id: it goes in user id"
        await pilot.press("enter")
        await pilot.pause()
        assert app.applied == []


async def test_a_known_type_only_accepts_its_actions() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await type_into(pilot, form, "object_type", "contact")
        assert form.field_input("action").choices == OBJECT_TYPE_ACTIONS["contact"]
        await type_into(pilot, form, "action", "merged")
        assert "contact has no action 'merged'" in reason(form, "action")
        assert not apply_enabled(form)
        await pilot.press("ctrl+u")
        await type_text(pilot, "deleted")
        assert apply_enabled(form)


async def test_an_unknown_type_is_allowed_with_a_warning_and_any_action() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await type_into(pilot, form, "object_type", "widget.thing")
        assert reason(form, "object_type") == "unknown type (allowed, the API may know it)"
        await type_into(pilot, form, "action", "zapped")
        assert apply_enabled(form)
        await pilot.press("enter")
        await pilot.pause()
        assert app.applied == [EventFilter(object_type="widget.thing", action="zapped")]


async def test_up_and_down_cycle_the_known_choices() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await tab_to(pilot, form, "object_type")
        await pilot.press("down")
        assert form.field_input("object_type").value == "lead"
        await pilot.press("down", "down")
        assert form.field_input("object_type").value == "opportunity"
        await pilot.press("up")
        assert form.field_input("object_type").value == "contact"
        await tab_to(pilot, form, "action")
        await pilot.press("up")
        await pilot.pause()
        assert form.field_input("action").value == "deleted"


async def test_the_type_suggester_completes_with_right() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await type_into(pilot, form, "object_type", "activity.no")
        await pilot.pause()
        await pilot.press("right")
        assert form.field_input("object_type").value == "activity.note"


# -- dates ------------------------------------------------------------------------------------


DATES = [
    ("since", "2h", "date_updated__gte", NOW - timedelta(hours=2)),
    ("since", "3d", "date_updated__gte", NOW - timedelta(days=3)),
    ("since", "90m", "date_updated__gte", NOW - timedelta(minutes=90)),
    ("since", "2026-11-01", "date_updated__gte", datetime(2026, 10, 31, 23, tzinfo=UTC)),
    ("since", "2026-11-01T14:30", "date_updated__gte", datetime(2026, 11, 1, 13, 30, tzinfo=UTC)),
    ("since", "2026-11-01T14:30Z", "date_updated__gte", datetime(2026, 11, 1, 14, 30, tzinfo=UTC)),
    ("until", "2026-11-02", "date_updated__lt", datetime(2026, 11, 2, 23, tzinfo=UTC)),
    ("until", "1h", "date_updated__lte", NOW - timedelta(hours=1)),
    ("until", "2026-11-02T10:00Z", "date_updated__lte", datetime(2026, 11, 2, 10, tzinfo=UTC)),
]  # fmt: skip


async def test_dates_are_read_in_local_time_utc_or_as_spans() -> None:
    """``now`` is 12:00Z and local time is UTC+1: a bare date or a naive date-time is
    local, ``Z`` is UTC, spans count back from now, a bare ``until`` date ends that day."""
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        for name, text, attribute, expected in DATES:
            if app.focused is not form.field_input(name):
                await press_until(pilot, "ctrl+x", lambda: not any(form.values().values()))
                await tab_to(pilot, form, name)
            await pilot.press("ctrl+u")
            await type_text(pilot, text)
            assert form.current_filter == EventFilter().replace(**{attribute: expected}), text
            shown = format_local(expected, LOCAL).replace("T", " ")
            assert reason(form, name).endswith(shown), text
            app.applied.clear()
            await press_until(pilot, "enter", lambda: bool(app.applied))
            await pilot.pause()
            assert app.applied == [EventFilter().replace(**{attribute: expected})], text


async def test_a_bad_date_says_so_inline_and_disables_apply() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await type_into(pilot, form, "user_id", "user_U1")
        await tab_to(pilot, form, "since")
        for text in ["yesterday", "2026-13-01", "2026-11-01T25:00", "2x"]:
            await pilot.press("ctrl+u")
            await type_text(pilot, text)
            assert form.values()["since"] == text
            assert reason(form, "since").startswith(f"cannot read '{text}' as a date")
            assert hint(form).startswith("since: cannot read")
            assert form.field_input("since").has_class("-invalid")
            assert not apply_enabled(form)
            assert form.current_filter is None
            await pilot.press("enter")
            await pilot.pause()
            assert app.applied == [], text
        await pilot.press("ctrl+u")
        await type_text(pilot, "2h")
        assert apply_enabled(form)


async def test_set_filter_shows_local_minutes_and_keeps_dates_exact() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        flt = EventFilter(
            lead_id="lead_L1",
            user_id="user_U1",
            date_updated__gt=datetime(2026, 11, 1, 9, 15, tzinfo=UTC),
            date_updated__lt=datetime(2026, 11, 2, 9, 15, 30, 250000, tzinfo=UTC),
        )
        form.set_filter(flt)
        await pilot.pause()
        assert form.field_input("since").value == "2026-11-01T10:15"
        assert form.field_input("until").value == "2026-11-02T10:15:30.250000"
        assert form.current_filter == flt
        # Once the user edits a date it is read as typed.
        await type_into(pilot, form, "since", "2026-11-01T10:16")
        assert form.current_filter == flt.replace(
            date_updated__gt=None, date_updated__gte=datetime(2026, 11, 1, 9, 16, tzinfo=UTC)
        )


# -- clear and leave --------------------------------------------------------------------------


async def test_ctrl_x_clears_everything_even_inside_an_input() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await type_into(pilot, form, "user_id", "user_U1")
        await type_into(pilot, form, "since", "2h")
        await pilot.press("ctrl+x")
        await pilot.pause()
        assert all(value == "" for value in form.values().values())
        assert app.focused is form.field_input("lead_id")
        assert form.current_filter == EventFilter()


async def test_clear_button_and_binding_id() -> None:
    assert any(b.id == "form.clear" and b.key == "ctrl+x" for b in FilterForm.BINDINGS)  # type: ignore[union-attr]
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        form.set_filter(EventFilter(request_id="req_R1"))
        await pilot.pause()
        await pilot.click("#clear")
        await pilot.pause()
        assert form.values()["request_id"] == ""


async def test_escape_asks_the_app_to_leave_the_form() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await type_into(pilot, app.form, "user_id", "user_U1")
        await pilot.press("escape")
        await pilot.pause()
        assert app.leaves == 1
        assert app.applied == []


# -- pasting ids ------------------------------------------------------------------------------

LEAD = "lead_sHR5sxie4dKOBkODA2flGciHen2c91YEpvTPt8x1NU0"


PASTES = [
    ("lead_abc", "lead_id", "lead_abc"),
    ("user_abc", "user_id", "user_abc"),
    ("req_abc", "request_id", "req_abc"),
    ("acti_abc", "object_id", "acti_abc"),
    ("task_abc", "object_id", "task_abc"),
    (f"  'https://app.close.com/lead/{LEAD}/activity/?tab=x'\n", "lead_id", LEAD),
]


async def focus_on(pilot: Pilot[None], form: FilterForm, where: str) -> None:
    if where == "button":
        form.query_one("#clear", Button).focus()
    else:
        form.field_input(where).focus()
    await pilot.pause()


@pytest.mark.parametrize("focus", ["since", "action", "lead_id", "button"])
async def test_a_pasted_id_lands_in_its_field_wherever_focus_is(focus: str) -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        for text, field, value in PASTES:
            form.clear()
            await focus_on(pilot, form, focus)
            await paste(pilot, text)
            values = form.values()
            assert values[field] == value, text
            assert all(v == "" for k, v in values.items() if k != field), text
            assert app.focused is form.field_input(field), text
        assert not any(severity == "error" for severity, _ in app.notices)


async def test_an_object_id_sets_the_type_it_implies() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        for text, implied in [("cont_abc", "contact"), ("oppo_abc", "opportunity")]:
            form.clear()
            await paste(pilot, text)
            assert form.values()["object_id"] == text
            assert form.values()["object_type"] == implied
            assert form.current_filter == EventFilter(object_type=implied, object_id=text)


async def test_an_implied_type_is_not_forced_into_a_set_it_would_break() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await type_into(pilot, form, "user_id", "user_U1")
        await paste(pilot, "cont_abc")
        assert form.values()["object_type"] == ""
        assert form.current_filter == EventFilter(user_id="user_U1", object_id="cont_abc")


async def test_a_lead_id_pasted_into_object_id_is_a_lead_object() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        form.field_input("object_id").focus()
        await pilot.pause()
        await paste(pilot, "lead_abc")
        assert form.values()["object_id"] == "lead_abc"
        assert form.values()["object_type"] == "lead"
        assert form.values()["lead_id"] == ""


async def test_an_activity_id_narrows_the_type_choices() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await paste(pilot, "acti_abc")
        type_input = form.field_input("object_type")
        assert type_input.value == ""
        assert type_input.choices
        assert all(t.startswith("activity.") for t in type_input.choices)
        assert reason(form, "object_type").startswith("activity.")
        await tab_to(pilot, form, "object_type")
        await pilot.press("down")
        assert type_input.value.startswith("activity.")
        await pilot.press("ctrl+u")
        await type_text(pilot, "contact")
        assert "use activity.*" in reason(form, "object_type")
        assert not apply_enabled(form)


async def test_an_id_no_filter_takes_is_refused_with_an_error_notice() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await paste(pilot, "ev_17VaZdcdnsMNyWY9ZJnjph")
        assert app.notices == [
            ("error", "ev_17VaZdcdnsMNyWY9ZJnjph is an event id: no event filter takes it")
        ]
        assert all(v == "" for v in form.values().values())


async def test_an_id_for_a_disabled_field_is_refused_with_the_reason() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        await type_into(pilot, form, "request_id", "req_R1")
        await paste(pilot, "lead_abc")
        assert form.values()["lead_id"] == ""
        assert app.notices == [
            ("error", "can't put lead_abc in lead id: lead_id cannot be combined with request_id")
        ]


async def test_an_unknown_prefix_is_accepted_with_a_warning_notice() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        form.field_input("user_id").focus()
        await pilot.pause()
        await paste(pilot, "memb_abc123")
        assert form.values()["user_id"] == "memb_abc123"
        assert [s for s, _ in app.notices] == ["warning"]
        assert apply_enabled(form)


async def test_a_redirected_paste_says_where_it_went() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await paste(pilot, "user_abc")  # focus starts in lead id
        assert app.notices == [("information", "user_abc put in user id")]


async def test_plain_text_pasted_into_a_field_is_inserted_there() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        form.field_input("since").focus()
        await pilot.pause()
        await paste(pilot, "3d\nignored second line")
        assert form.values()["since"] == "3d"
        assert form.current_filter == EventFilter(date_updated__gte=NOW - timedelta(days=3))


HOSTILE = [
    "[@click=app.quit]quit[/]",
    "[bold red]x[/bold red] [/]",
    "\x1b]52;c;ZXZpbA==\x07\x1b[2J",
    "user_x\x1b[31m",
    "\u202eredro\u202c lead_x",
    "https://app.close.com/lead/[/]/",
]


async def test_hostile_pastes_do_not_crash_or_run_markup() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        for focus in ("object_type", "lead_id", "button"):
            for text in HOSTILE:
                form.clear()
                await focus_on(pilot, form, focus)
                await paste(pilot, text)
                assert app.is_running
                for name in FORM_FIELDS:
                    assert "\x1b" not in form.field_input(name).value
                    assert "\x1b" not in reason(form, name)
                assert "\x1b" not in hint(form)
                # Markup-looking text is shown literally where it lands.
                if focus == "object_type" and text.startswith("["):
                    assert form.values()["object_type"] == text
                    assert text in hint(form)
        await pilot.press("escape")  # the app is alive and still answering keys
        await pilot.pause()
        assert app.leaves == 1
        assert app.applied == []
        assert app.notices
        for _, message in app.notices:
            assert "\x1b" not in message and "\x07" not in message


# -- layout -----------------------------------------------------------------------------------


async def test_the_form_is_compact() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert 4 <= app.form.outer_size.height <= 6
        for name in FORM_FIELDS:
            assert form_width(app.form.field_input(name)) >= 18


def form_width(field_input: FieldInput) -> int:
    return field_input.size.width


def shown_lines(widget: Widget) -> list[str]:
    """What ``widget`` shows on screen, line by line."""
    region = Region(0, 0, widget.region.width, widget.region.height)
    return ["".join(seg.text for seg in strip).rstrip() for strip in widget.render_lines(region)]


@pytest.mark.parametrize("size", [(120, 40), (80, 30), (60, 30)])
async def test_field_messages_sit_under_their_field_and_are_read_whole(
    size: tuple[int, int],
) -> None:
    app = Host()
    async with app.run_test(size=size) as pilot:
        form = app.form
        await type_into(pilot, form, "lead_id", "yesterday")
        await type_into(pilot, form, "since", "last tuesday")
        await pilot.pause()
        for name in ("lead_id", "since", "object_id"):
            message = form.query_one(f"#{name}-reason", Static)
            field_input = form.field_input(name)
            assert message.region.x == field_input.region.x  # aligned with the field
            assert message.region.right <= field_input.region.right
            full = reason(form, name)
            assert full, name
            shown = " ".join(" ".join(shown_lines(message)).split())
            assert shown == " ".join(full.split()), (name, shown_lines(message))  # all of it
        # The hint under the form is whole too, however long.
        hint_line = form.query_one("#hint", Static)
        assert " ".join(" ".join(shown_lines(hint_line)).split()) == " ".join(
            hint(form).split()
        )
        assert "…" not in "".join(shown_lines(hint_line))


async def test_on_a_narrow_terminal_the_fields_go_two_to_a_row() -> None:
    app = Host()
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        for name in FORM_FIELDS:
            assert form_width(app.form.field_input(name)) >= 25


class ShortHost(Host):
    """The form above a stand-in for the table, on a terminal of 15 lines."""

    def __init__(self) -> None:
        super().__init__()
        self.folds: list[bool] = []

    def on_mount(self, event: events.Mount) -> None:
        event.prevent_default()  # not Host's: focus starts on the table, as in the app
        self.form.collapsed = True
        self.query_one("#table", Button).focus()

    def on_filter_form_fold_changed(self, message: FilterForm.FoldChanged) -> None:
        self.folds.append(message.folded)


async def test_a_collapsed_form_is_one_line_of_the_active_filter_and_opens_on_f() -> None:
    app = ShortHost()
    async with app.run_test(size=(60, 15)) as pilot:
        form = app.form
        form.set_names({"lead_L1": "Acme Inc"})
        form.set_filter(
            EventFilter(lead_id="lead_L1", object_type="contact", action="deleted",
                        date_updated__gte=NOW - timedelta(days=3))
        )  # fmt: skip
        await pilot.pause()
        assert form.folded and app.folds == [True]
        assert form.outer_size.height <= 2
        (line,) = shown_lines(form.query_one("#folded-line"))
        assert line.startswith(" lead: Acme Inc · type: contact · action: del")
        assert line.endswith("… — f to edit")  # the words are cut, the key never
        form.edit_hint = "ctrl+f to edit"  # a remapped key, as the screen names it
        await pilot.pause()
        assert shown_lines(form.query_one("#folded-line"))[0].endswith("… — ctrl+f to edit")
        assert form.filter_words == (
            "lead: Acme Inc · type: contact · action: deleted · since Nov 17 13:00"
        )  # local time (UTC+1), as the table writes times
        # f (the screen calls focus_first) opens the whole form on its first field.
        form.focus_first()
        await pilot.pause()
        assert not form.folded and app.folds == [True, False]
        assert app.focused is form.field_input("lead_id")
        assert form.outer_size.height >= 4
        # Applying from the form: the line says what was typed.
        await press_until(pilot, "ctrl+x", lambda: not form.field_input("lead_id").value)
        await type_text(pilot, "lead_L1")
        await type_into(pilot, form, "since", "3d")
        await press_until(pilot, "enter", lambda: bool(app.applied))
        form.set_filter(app.applied[-1])  # the screen shows the applied filter
        # Leaving the form folds it again.
        app.query_one("#table", Button).focus()
        await pilot.pause()
        assert form.folded and app.folds == [True, False, True]
        assert form.filter_words == "lead: Acme Inc · since 3d"
        # Not collapsed: the whole form, focus or not.
        form.collapsed = False
        await pilot.pause()
        assert not form.folded and form.outer_size.height >= 4


async def test_the_hidden_folded_line_never_takes_the_first_focus() -> None:
    """Textual's auto focus takes the first focusable widget in the DOM, displayed or
    not: the folded line (the form's first child) took it in a real terminal and opened
    the form over the table's focus. It is focusable only while the form is folded."""
    from close_tui.ui.widgets.filter_form import FoldedLine

    app = ShortHost()
    async with app.run_test(size=(60, 15)) as pilot:
        form = app.form
        line = form.query_one(FoldedLine)
        await pilot.pause()
        assert form.folded and line.focusable
        form.collapsed = False
        await pilot.pause()
        assert not form.folded and not line.focusable
        first = next(widget for widget in app.screen.query("*") if widget.focusable)
        assert first is form.field_input("lead_id")  # what auto focus would pick


async def test_tab_or_a_click_on_the_folded_line_opens_the_form() -> None:
    app = ShortHost()
    async with app.run_test(size=(60, 15)) as pilot:
        form = app.form
        await pilot.pause()
        assert form.folded
        assert "all events" in shown_lines(form.query_one("#folded-line"))[0]
        await tab(pilot)  # from the table stand-in, Tab reaches the one line of the form
        await pilot.pause()
        await pilot.pause()
        assert not form.folded and app.focused is form.field_input("lead_id")
        app.query_one("#table", Button).focus()
        await pilot.pause()
        assert form.folded
        await pilot.click("#folded-line")
        await pilot.pause()
        assert not form.folded and app.focused is form.field_input("lead_id")


# -- the rule, as properties ------------------------------------------------------------------

_VALID = {
    "lead_id": st.sampled_from(["lead_L1", "lead_x9"]),
    "user_id": st.sampled_from(["user_U1", "user_zz"]),
    "request_id": st.just("req_R1"),
    "object_type": st.sampled_from(["activity.note", "widget.thing"]),
    "object_id": st.sampled_from(["acti_A1", "memb_M1"]),
    "action": st.sampled_from(["created", "deleted"]),
    "since": st.sampled_from(["2h", "2026-11-01", "2026-11-01T10:00Z"]),
    "until": st.sampled_from(["1h", "2026-11-21"]),
}


@st.composite
def valid_form_values(draw: st.DrawFn) -> dict[str, str]:
    blank = st.sampled_from(["", " ", "  "])
    return {name: draw(st.one_of(blank, _VALID[name])) for name in FORM_FIELDS}


@given(values=valid_form_values())
def test_apply_is_enabled_exactly_for_supported_sets(values: dict[str, str]) -> None:
    state = evaluate(values, now=NOW, local_tz=LOCAL)
    filled = {name for name in FILTER_FIELDS if values[name].strip()}
    assert (state.filter is not None) == is_supported(filled)
    assert state.filled == filled
    for name in FILTER_FIELDS:
        assert (name in state.disabled) == (name not in filled and not can_add(filled, name))


@given(values=st.fixed_dictionaries({name: st.text(max_size=30) for name in FORM_FIELDS}))
def test_evaluate_never_raises_on_any_text(values: dict[str, str]) -> None:
    state = evaluate(values, now=NOW, local_tz=LOCAL)
    if state.filter is not None:
        assert state.filter.is_supported
    assert "\x1b" not in state.hint


_EDITS = st.lists(
    st.tuples(
        st.sampled_from(FORM_FIELDS),
        st.one_of(st.just(""), st.sampled_from(["lead_L1", "user_U1", "req_R1", "activity.note",
                                                "acti_A1", "created", "2h", "nonsense x"])),
    ),
    min_size=1,
    max_size=6,
)  # fmt: skip


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=_EDITS)
def test_random_edits_keep_apply_in_step_with_the_rule(edits: list[tuple[str, str]]) -> None:
    """Edits a person could make (only to enabled fields); after each, Apply is enabled
    exactly when the filled set is supported and every value is valid for its field."""

    async def run() -> None:
        app = Host()
        async with app.run_test(size=(120, 40)) as pilot:
            form = app.form
            for name, value in edits:
                field_input = form.field_input(name)
                if field_input.disabled:
                    continue
                field_input.value = value
                await pilot.pause()
                values = form.values()
                filled = {n for n in FILTER_FIELDS if values[n].strip()}
                state = evaluate(values, now=NOW, local_tz=LOCAL)
                assert apply_enabled(form) == (state.filter is not None)
                if not any(level == "error" for _, level in state.reasons.values()):
                    assert apply_enabled(form) == is_supported(filled)
                for n in FILTER_FIELDS:
                    assert form.field_input(n).disabled == (n in state.disabled)
                    assert not (n in filled and form.field_input(n).disabled)
            form.focus_first()
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            assert len(app.applied) == (1 if form.current_filter is not None else 0)

    asyncio.run(run())


async def test_set_filter_before_the_form_is_mounted_fills_it_on_mount() -> None:
    class Early(App[None]):
        def compose(self) -> ComposeResult:
            form = FilterForm(now=lambda: NOW, local_tz=LOCAL)
            form.set_filter(EventFilter(user_id="user_U1"))
            yield form

    app = Early()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.query_one(FilterForm).current_filter == EventFilter(user_id="user_U1")


async def test_ctrl_v_routes_the_app_clipboard_like_a_paste() -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        app.copy_to_clipboard("req_R1")
        await pilot.press("ctrl+v")  # focus is in the lead id field
        await pilot.pause()
        assert app.form.values()["request_id"] == "req_R1"
        assert app.form.values()["lead_id"] == ""
