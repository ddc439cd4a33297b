"""Names, not ids, in the explorer (issue 13): find a lead or a user by typing its name in
the filter form, and see names in the table, the detail header, the Changes tab and the
form — from few requests, and quietly without them when a key lacks the endpoints.

Everything is asserted against the seeded emulator: what it lists, what it logged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Static
from ui_support import SIZE, UI_NOW, make_app, settle

from close_tui.core.directory import LEAD_404_LIMIT
from close_tui.core.filters import EventFilter
from close_tui.emulator import Emulator, EmulatorConfig
from close_tui.emulator.clock import FakeClock
from close_tui.emulator.lookups import DELETED_FIELD_NAME
from close_tui.ui.app import CloseTuiApp
from close_tui.ui.widgets.filter_form import CHOOSE_A_MATCH
from close_tui.ui.widgets.name_finder import NameFinder

AppFactory = Callable[..., CloseTuiApp]


@pytest.fixture
def ui_emulator() -> Emulator:
    """A fresh organization per test (shadows the shared one): names are looked up within
    the rate budget, and the shared emulator's frozen clock never renews its window, so
    after other tests its budget would hold every look-up back."""
    return Emulator(EmulatorConfig(), clock=FakeClock(UI_NOW))


def shown_ids(app: CloseTuiApp) -> list[str]:
    table = app.explorer.table
    return [table.event_id_at(i) for i in range(table.row_count)]


def plain(widget: Static, width: int = 70) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def lead_finder(app: CloseTuiApp) -> NameFinder:
    finder = app.explorer.form.finder("lead_id")
    assert finder is not None
    return finder


def user_finder(app: CloseTuiApp) -> NameFinder:
    finder = app.explorer.form.finder("user_id")
    assert finder is not None
    return finder


async def wait_for(pilot: Any, condition: Callable[[], bool], what: str) -> None:
    for _ in range(300):  # bounded: each turn lets timers, workers and the emulator run
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


def leads_starting(emulator: Emulator, minimum: int) -> tuple[str, list[str]]:
    """A first word that at least ``minimum`` leads' names start with, and their ids."""
    by_head: dict[str, list[str]] = {}
    for lead_id, lead in emulator.leads.items():
        by_head.setdefault(lead["display_name"].split()[0], []).append(lead_id)
    head = next(h for h, ids in sorted(by_head.items()) if len(ids) >= minimum)
    return head, by_head[head]


async def open_event(pilot: Any, app: CloseTuiApp, event_id: str) -> list[str]:
    """Page the view until ``event_id`` is shown and put the cursor on it (its detail
    opens); the ids shown."""
    await settle(pilot)
    ids = shown_ids(app)
    for _ in range(50):  # bounded: pages of the one lead's view
        if event_id in ids or app.explorer.feed.phase != "more":
            break
        app.explorer.load_more()
        await settle(pilot)
        ids = shown_ids(app)
    app.explorer.table.move_cursor(ids.index(event_id))
    await settle(pilot)
    return ids


def searches(emulator: Emulator, since: int = 0) -> int:
    return sum(1 for r in emulator.request_log[since:] if r.path == "/api/v1/data/search/")


# ---------------------------------------------------------------------------- finding


async def test_type_part_of_a_lead_name_choose_and_the_table_is_that_leads_events(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    head, ids = leads_starting(ui_emulator, 2)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        finder = lead_finder(app)
        await pilot.press("f")
        assert finder.input.has_focus
        typed = head[:4].lower()
        await pilot.press(*typed)
        # Before a choice, the name is not sent as an id: Apply waits, and says why.
        assert app.explorer.form.current_filter is None
        await wait_for(pilot, lambda: finder.is_open and finder.shown_text == typed, "matches")
        assert app.explorer.form.state.reasons["lead_id"] == (CHOOSE_A_MATCH, "warning")
        listed = [m.id for m in finder.matches]
        assert set(ids) <= set(listed), "every lead whose name starts so is listed"
        await pilot.press("down", "enter")
        await settle(pilot)

        chosen = listed[1]
        name = ui_emulator.leads[chosen]["display_name"]
        assert app.explorer.current_filter == EventFilter(lead_id=chosen)
        expected = [e["id"] for e in ui_emulator.expected({"lead_id": chosen})]
        rows = app.explorer.table.row_count
        assert rows > 0 and shown_ids(app) == expected[:rows]
        # The form shows the name, keeps the id, and the trail names the lead.
        assert finder.input.value == name
        assert app.explorer.form.values()["lead_id"] == chosen
        assert app.explorer.breadcrumb.text.endswith(f"lead {name}")
        assert app.explorer.table.has_focus


async def test_enter_on_a_name_with_one_match_chooses_it(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    counts: dict[str, int] = {}
    for lead in ui_emulator.leads.values():
        counts[lead["display_name"]] = counts.get(lead["display_name"], 0) + 1
    lead_id, lead = next(
        (i, lead) for i, lead in sorted(ui_emulator.leads.items())
        if counts[lead["display_name"]] == 1
        and sum(1 for n in counts if n.startswith(lead["display_name"])) == 1
    )
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f", *lead["display_name"], "enter")  # no wait for the list
        await settle(pilot)
        assert app.explorer.current_filter == EventFilter(lead_id=lead_id)
        assert lead_finder(app).input.value == lead["display_name"]


async def test_a_pasted_id_is_no_search_and_is_named_once_known(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    lead_id = next(iter(sorted(ui_emulator.leads)))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        start = len(ui_emulator.request_log)
        await pilot.press("f")
        app.explorer.form.paste_text(lead_id, target="lead_id")
        await pilot.press("enter")
        await settle(pilot)
        assert app.explorer.current_filter == EventFilter(lead_id=lead_id)
        assert not lead_finder(app).is_open
        # No name search for an id; its name came from the events (or one batched look-up).
        assert searches(ui_emulator, start) <= 1
        assert lead_finder(app).input.value == ui_emulator.leads[lead_id]["display_name"]


async def test_the_deactivated_user_is_found_marked_and_named(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    inactive = ui_emulator.lookups.inactive_user_id
    assert inactive is not None
    member = next(m for m in ui_emulator.lookups.data.inactive_memberships
                  if m["user_id"] == inactive)
    full_name = member["user_full_name"]
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        finder = user_finder(app)
        await pilot.press("f", "tab")
        assert finder.input.has_focus
        typed = full_name.split()[0][:4]
        await pilot.press(*typed)
        await wait_for(pilot, lambda: finder.is_open and finder.shown_text == typed, "members")
        found = {m.id: m for m in finder.matches}
        assert found[inactive].status == "deactivated"
        index = list(found).index(inactive)
        await pilot.press(*["down"] * index, "enter")
        await settle(pilot)

        assert app.explorer.current_filter == EventFilter(user_id=inactive)
        expected = [e["id"] for e in ui_emulator.expected({"user_id": inactive})]
        rows = app.explorer.table.row_count
        assert rows > 0 and shown_ids(app) == expected[:rows]
        assert finder.input.value == full_name
        await pilot.press("enter")  # open the first event
        await settle(pilot)
        header = plain(app.explorer.detail.query_one("#detail-header", Static), width=90)
        assert f"user {full_name} user_" in " ".join(header.split())


# ---------------------------------------------------------------------------- display


async def test_names_in_the_header_the_changes_tab_and_summaries(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    lookups = ui_emulator.lookups
    field_names = {f["id"]: f["name"] for fs in lookups.data.custom_fields.values() for f in fs}
    deleted = lookups.deleted_field_id
    # A lead update that changed a named custom field and the deleted one.
    target = next(
        e for e in ui_emulator.expected({})
        if e["object_type"] == "lead" and e["action"] == "updated"
        and f"custom.{deleted}" in (e.get("changed_fields") or [])
        and any(k[len("custom."):] in field_names for k in e["changed_fields"]
                if k.startswith("custom."))
    )
    named_field = next(field_names[k[len("custom."):]] for k in target["changed_fields"]
                       if k[len("custom."):] in field_names)
    lead_name = ui_emulator.leads[target["lead_id"]]["display_name"]
    app = app_factory(initial_filter=EventFilter(lead_id=target["lead_id"]))
    async with app.run_test(size=(160, 50)) as pilot:
        ids = await open_event(pilot, app, target["id"])
        detail = app.explorer.detail
        assert detail.event_id == target["id"] and detail.active_tab == "changes"

        header = " ".join(plain(detail.query_one("#detail-header", Static), 90).split())
        assert f"lead {lead_name} lead_" in header
        changes = " ".join(plain(detail.changes_view, 90).split())
        assert f"custom field {named_field}" in changes
        assert "(deleted field)" in changes and DELETED_FIELD_NAME not in changes
        summary = app.explorer.table.row_at(ids.index(target["id"])).summary
        # The row was drawn before the field lists came: its summary was said again.
        assert named_field in summary and "cf_" in summary  # the deleted one stays an id
        # The form shows the lead's name for the id it was opened with.
        assert lead_finder(app).input.value == lead_name


async def test_a_status_change_reads_as_labels(
    ui_emulator: Emulator, app_factory: AppFactory
) -> None:
    target = next(
        e for e in ui_emulator.expected({})
        if e["object_type"] == "lead" and e["action"] == "updated"
        and "status_id" in (e.get("changed_fields") or [])
        and e["previous_data"].get("status_label") != e["data"].get("status_label")
    )
    old, new = target["previous_data"]["status_label"], target["data"]["status_label"]
    app = app_factory(initial_filter=EventFilter(lead_id=target["lead_id"]))
    async with app.run_test(size=(160, 50)) as pilot:
        await open_event(pilot, app, target["id"])
        changes = " ".join(plain(app.explorer.detail.changes_view, 110).split())
        old_id, new_id = target["previous_data"]["status_id"], target["data"]["status_id"]
        old_short, new_short = (f"{i[:8]}…{i[-3:]}" for i in (old_id, new_id))
        assert f"status_id {old} ({old_short}) → {new} ({new_short})" in changes


# ---------------------------------------------------------------------------- requests


def organization(**config: Any) -> Emulator:
    return Emulator(EmulatorConfig(**config), clock=FakeClock(UI_NOW))


async def page_through(pilot: Any, app: CloseTuiApp, pages: int) -> None:
    for _ in range(pages):
        await pilot.press("pagedown", "pagedown")
        await settle(pilot)


async def test_names_cost_at_most_one_search_per_page_and_one_organization_request() -> None:
    emulator = organization()
    app = make_app(emulator)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await page_through(pilot, app, 4)
        log = emulator.request_log
        pages = sum(1 for r in log if r.path == "/api/v1/event/")
        assert pages >= 5
        assert searches(emulator) <= pages
        assert sum(1 for r in log if r.path.startswith("/api/v1/organization/")) == 1
        assert not [r for r in log if r.path.startswith("/api/v1/lead/")]
        assert not [r for r in log if r.status == 429]
        # Every lead on screen is named (no short id left in the LEAD column).
        table = app.explorer.table
        names = table.names
        assert all(table.row_at(i).lead_id in names for i in range(table.row_count)
                   if table.row_at(i).lead_id)


async def test_a_server_without_search_or_lead_causes_no_request_storm() -> None:
    emulator = organization(endpoints_off={"search": 404, "lead": 404})
    app = make_app(emulator)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await page_through(pilot, app, 4)
        log = emulator.request_log
        assert searches(emulator) == 1  # asked once, answered 404, never again
        assert sum(1 for r in log if r.path.startswith("/api/v1/lead/")) <= LEAD_404_LIMIT
        assert not [r for r in log if r.status == 429]
        explorer = app.explorer
        assert explorer.feed.error == ""  # a look-up's failure is never the view's error
        assert "names limited" in explorer.status.status_lines()[0].plain
        # Users are still named (one organization request), leads shown by short id.
        assert sum(1 for r in log if r.path.startswith("/api/v1/organization/")) == 1

        # The finder says why it finds nothing, and asks nothing more.
        before = len(log)
        finder = lead_finder(app)
        await pilot.press("f", "a", "c", "m")
        await wait_for(pilot, lambda: finder.is_open and finder.shown_text == "acm", "a note")
        note = finder.suggestions.get_option_at_index(0).prompt
        assert "not available for this key" in str(note)
        assert searches(emulator, before) == 0


async def test_a_failing_lookup_never_reaches_the_detail_pane() -> None:
    emulator = organization(endpoints_off={"organization": 403, "user": 403,
                                           "custom_field": 405, "status": 404})
    app = make_app(emulator)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")
        await settle(pilot)
        detail = app.explorer.detail
        assert detail.event is not None
        header = plain(detail.query_one("#detail-header", Static), 90)
        assert "403" not in header and "404" not in header and "405" not in header
        assert app.explorer.feed.error == ""
        # A refused endpoint is asked once (statuses only if no payload labelled one).
        for path, most in (("/api/v1/organization/", 1), ("/api/v1/user/", 1),
                           ("/api/v1/custom_field/", 1), ("/api/v1/status/", 1)):
            asked = [r for r in emulator.request_log if r.path.startswith(path)]
            assert len(asked) <= most, (path, len(asked))
        assert [r for r in emulator.request_log if r.path.startswith("/api/v1/organization/")]
