"""The filter form under random edits and pastes: Apply is enabled exactly when the
fields make a supported, valid query, and nothing ever raises.

Hypothesis writes long sessions (typed values, pastes of ids, URLs, hostile text and
dates, clears, choice cycling, Enter) and one app plays each, checking after every
step against an oracle computed from the field texts alone with ``core`` functions:
the combination rule (``filters.is_supported``), the value checks
(``idroute.check_field_value``) and the date parser. Enter applies exactly the filter
Apply would, and only when Apply is enabled.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Button

from close_tui.core.dates import DateParseError, parse_user_datetime
from close_tui.core.filters import FILTER_FIELDS, EventFilter, is_supported
from close_tui.core.idroute import check_field_value
from close_tui.emulator import hostile
from close_tui.ui.widgets.filter_form import FORM_FIELDS, FilterForm

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LOCAL = timezone(timedelta(hours=-5))


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.applied: list[EventFilter] = []
        self.quit_requested = False

    def compose(self) -> ComposeResult:
        yield FilterForm(now=lambda: NOW, local_tz=LOCAL, id="form")
        yield Button("table stand-in", id="table")

    @property
    def form(self) -> FilterForm:
        return self.query_one(FilterForm)

    def on_filter_form_applied(self, message: FilterForm.Applied) -> None:
        self.applied.append(message.filter)

    async def action_quit(self) -> None:
        self.quit_requested = True


def expected_apply(values: dict[str, str]) -> bool:
    """Whether Apply must be enabled for these texts (independent of the widget)."""
    texts = {name: values[name].strip() for name in FORM_FIELDS}
    filled = frozenset(name for name in FILTER_FIELDS if texts[name])
    if not is_supported(filled):
        return False
    for name in filled:
        check = check_field_value(name, texts[name], object_type=texts["object_type"],
                                  object_id=texts["object_id"])
        if check.error:
            return False
    for date_field, bound in (("since", "since"), ("until", "until")):
        if texts[date_field]:
            try:
                parse_user_datetime(texts[date_field], now=NOW, bound=bound,  # type: ignore[arg-type]
                                    local_tz=LOCAL)
            except DateParseError:
                return False
    return True


IDS = ["lead_Ab12", "user_Zz9", "req_Q1", "acti_Note1", "cont_C1", "oppo_O1", "task_T1",
       "ev_E1", "lead_", "https://app.close.com/lead/lead_Url1/", "orga_x", "stat_1"]
TYPES = ["lead", "contact", "activity.note", "task.lead", "opportunity", "custom_object",
         "activity.made_up", "Lead", "activity."]
ACTIONS = ["created", "updated", "deleted", "merged", "completed", "sent", "exploded"]
DATES = ["2h", "3d", "90m", "2026-11-01", "2026-11-01T14:30", "2026-11-01T14:30Z",
         "2026-13-01", "yesterday", "0d", "2026-02-30", "10 years"]
HOSTILE = [hostile.MARKUP_CLICK, hostile.MARKUP_CLOSE, hostile.OSC52, hostile.CLEAR,
           hostile.RLO, hostile.ZERO_WIDTH, hostile.WIDE, "  ", "\t", "x" * 300, "lead_ x",
           "lead_\x1b[2J", "[/]", "\n", "\r\nlead_A1"]
TEXTS = st.sampled_from(IDS + TYPES + ACTIONS + DATES + HOSTILE) | st.text(max_size=20)

STEP = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(FORM_FIELDS), TEXTS),
    st.tuples(st.just("paste"), st.sampled_from([*FORM_FIELDS, None]), TEXTS),
    st.tuples(st.just("key"), st.sampled_from(FORM_FIELDS),
              st.sampled_from(["up", "down", "backspace", "enter", "ctrl+x", "home", "a"])),
    st.tuples(st.just("clear"), st.just(None), st.just("")),
)


async def play(steps: list[tuple[str, str | None, str]]) -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.form
        apply_button = form.query_one("#apply", Button)
        for number, (kind, field, text) in enumerate(steps):
            applied_before = len(app.applied)
            enabled_before = not apply_button.disabled
            filter_before = form.current_filter
            if field is not None:
                target = form.field_input(field)
                if target.disabled:  # a person cannot focus a disabled field
                    field = next(n for n in FORM_FIELDS if not form.field_input(n).disabled)
                form.field_input(field).focus()
            if kind == "set" and field is not None:
                form.field_input(field).value = text
            elif kind == "paste":
                app.post_message(events.Paste(text))
            elif kind == "key":
                await pilot.press(text)
            elif kind == "clear":
                form.clear()
            await pilot.pause()
            values = form.values()
            where = f"step {number} {kind} {field} {text!r}: {values}"
            assert app.is_running and not app.quit_requested, where
            assert (not apply_button.disabled) == expected_apply(values), where
            assert (form.current_filter is not None) == (not apply_button.disabled), where
            if form.current_filter is not None:
                form.current_filter.validate()
            if kind == "key" and text == "enter" and field is not None:
                # Enter in a field applies what Apply would have, and only then.
                if enabled_before:
                    assert app.applied[applied_before:] == [filter_before], where
                else:
                    assert app.applied[applied_before:] == [], where
            for name in FORM_FIELDS:
                assert "\x1b" not in form.field_input(name).value, where


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=40, max_size=50))
def test_random_edits_keep_apply_exactly_on_supported_valid_queries(
    steps: list[tuple[str, str | None, str]],
) -> None:
    asyncio.run(play(steps))
