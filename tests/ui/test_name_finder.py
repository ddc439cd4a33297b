"""NameFinder in a small harness app, its searches answered by the emulator through the
real client and Directory: type part of a name, the list, choose, the message."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static
from ui_support import make_client

from close_tui.core.directory import Directory
from close_tui.emulator import Emulator
from close_tui.ui.widgets.name_finder import NameFinder, SearchFunction, looks_like_a_name

SIZE = (100, 30)


class Harness(App[None]):
    """A field as a filter form would have it, with something under it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "escaped", "Leave")]

    def __init__(self, search: SearchFunction) -> None:
        super().__init__()
        self.search = search
        self.chosen: list[NameFinder.Chosen] = []
        self.submitted: list[str] = []
        self.escapes = 0

    def compose(self) -> ComposeResult:
        yield NameFinder(self.search, input_id="lead-input", placeholder="lead", debounce=0.05,
                         id="finder")
        yield Static("what the list opens over", id="below")

    def on_name_finder_chosen(self, message: NameFinder.Chosen) -> None:
        self.chosen.append(message)

    def on_input_submitted(self, message: Input.Submitted) -> None:
        self.submitted.append(message.value)

    def action_escaped(self) -> None:
        self.escapes += 1


async def wait_for(pilot: Any, condition: Any, what: str) -> None:
    for _ in range(200):  # bounded: each turn lets timers, workers and the emulator run
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


def shared_head(emulator: Emulator) -> tuple[str, list[str]]:
    """A first word several leads' names start with, and those leads' ids."""
    by_head: dict[str, list[str]] = {}
    for lead_id, lead in emulator.leads.items():
        by_head.setdefault(lead["display_name"].split()[0], []).append(lead_id)
    head = next(h for h, ids in sorted(by_head.items()) if len(ids) >= 3)
    return head, by_head[head]


@pytest.fixture
def directory(ui_emulator: Emulator) -> Directory:
    return Directory(make_client(ui_emulator))


async def test_type_part_of_a_name_choose_and_the_message_carries_the_id(
    ui_emulator: Emulator, directory: Directory
) -> None:
    head, ids = shared_head(ui_emulator)
    app = Harness(directory.search_leads)
    async with app.run_test(size=SIZE) as pilot:
        finder = app.query_one(NameFinder)
        start = len(ui_emulator.lookups.searches)
        await pilot.click("#lead-input")
        await pilot.press(*head[:4].lower())
        await wait_for(pilot, lambda: finder.is_open and finder.shown_text == head[:4].lower(),
                       "the list of the text typed")
        shown = finder.matches
        assert {m.id for m in shown} >= set(ids) and all(head[:4] in m.name for m in shown)
        assert app.query_one("#lead-input", Input).has_focus  # focus stays in the input
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.chosen, "a choice")
        (chosen,) = app.chosen
        assert chosen.id == shown[1].id and chosen.name == shown[1].name
        assert ui_emulator.leads[chosen.id]["display_name"] == chosen.name
        assert finder.input.value == chosen.name and finder.chosen_id == chosen.id
        assert not finder.is_open and app.submitted == []  # enter chose, it did not submit
        await app.workers.wait_for_complete()  # searches of earlier keystrokes included
        sent = len(ui_emulator.lookups.searches)
        assert sent > start
        await pilot.pause(0.2)
        assert len(ui_emulator.lookups.searches) == sent  # the name put back: no search
        await pilot.press("enter")  # the list is closed: enter submits as before
        assert app.submitted == [chosen.name]


async def test_typing_is_debounced_into_one_search(
    ui_emulator: Emulator, directory: Directory
) -> None:
    head, _ = shared_head(ui_emulator)
    app = Harness(directory.search_leads)
    async with app.run_test(size=SIZE) as pilot:
        finder = app.query_one(NameFinder)
        start = len(ui_emulator.lookups.searches)
        for end in range(1, len(head) + 1):  # keystrokes faster than any debounce
            finder.input.value = head[:end]
        await wait_for(pilot, lambda: finder.is_open and finder.matches, "the list opens")
        assert finder.searches == 1
        (body,) = ui_emulator.lookups.searches[start:]
        assert body["query"]["queries"][1]["condition"]["value"] == head


async def test_escape_closes_the_list_and_then_reaches_the_app(
    ui_emulator: Emulator, directory: Directory
) -> None:
    head, _ = shared_head(ui_emulator)
    app = Harness(directory.search_leads)
    async with app.run_test(size=SIZE) as pilot:
        finder = app.query_one(NameFinder)
        await pilot.click("#lead-input")
        await pilot.press(*head[:3])
        await wait_for(pilot, lambda: finder.is_open, "the list opens")
        await pilot.press("escape")
        assert not finder.is_open and app.escapes == 0 and app.chosen == []
        await pilot.press("escape")
        assert app.escapes == 1


async def test_the_mouse_chooses_a_match(ui_emulator: Emulator, directory: Directory) -> None:
    head, _ = shared_head(ui_emulator)
    app = Harness(directory.search_leads)
    async with app.run_test(size=SIZE) as pilot:
        finder = app.query_one(NameFinder)
        await pilot.click("#lead-input")
        await pilot.press(*head)
        await wait_for(pilot, lambda: finder.is_open and finder.shown_text == head,
                       "the list of the text typed")
        third = finder.matches[2]
        # The list opens under the input, over what follows; row 0 is its border.
        await pilot.click(finder.suggestions, offset=(3, 3))
        await wait_for(pilot, lambda: app.chosen, "a click chose")
        assert app.chosen[0].id == third.id


async def test_typing_on_while_a_search_runs_shows_only_the_newest_texts_matches(
    ui_emulator: Emulator, directory: Directory
) -> None:
    head, _ = shared_head(ui_emulator)
    app = Harness(directory.search_leads)
    async with app.run_test(size=SIZE) as pilot:
        finder = app.query_one(NameFinder)
        await pilot.click("#lead-input")
        await pilot.press(*head[:2])
        await wait_for(pilot, lambda: finder.is_open, "the first list")
        await pilot.press(*head[2:], "space", "z", "z", "z", "q")
        newest = f"{head} zzzq"

        def newest_shown() -> bool:
            last = ui_emulator.lookups.searches[-1]["query"]["queries"][1]["condition"]
            return last["value"] == newest and finder.is_open and not finder.matches

        await wait_for(pilot, newest_shown, "the newest text's empty list")
        await app.workers.wait_for_complete()  # no search still on its way
        await pilot.pause()
        assert "no matches" in str(finder.suggestions.get_option_at_index(0).prompt)
        await pilot.press("enter")  # nothing to choose: closes, posts nothing
        assert app.chosen == [] and not finder.is_open


async def test_ids_and_urls_are_not_searched(ui_emulator: Emulator, directory: Directory) -> None:
    lead_id = next(iter(ui_emulator.leads))
    app = Harness(directory.search_leads)
    async with app.run_test(size=SIZE) as pilot:
        finder = app.query_one(NameFinder)
        finder.input.value = lead_id
        await pilot.pause(0.2)
        finder.input.value = f"https://app.close.com/lead/{lead_id}/"
        await pilot.pause(0.2)
        assert finder.searches == 0 and not finder.is_open
    assert not looks_like_a_name("lead_abcdefghij") and looks_like_a_name("Bluth Company")


async def test_users_by_name_with_the_deactivated_one_marked(
    ui_emulator: Emulator, directory: Directory
) -> None:
    sim = ui_emulator.sim
    left = sim.left_user
    assert left is not None
    first = sim.user_names[left].split()[0]
    app = Harness(directory.search_users)
    async with app.run_test(size=SIZE) as pilot:
        finder = app.query_one(NameFinder)
        await pilot.click("#lead-input")
        await pilot.press(*first[:4])
        await wait_for(pilot, lambda: finder.is_open and finder.shown_text == first[:4],
                       "the list of the text typed")
        index = next(i for i, m in enumerate(finder.matches) if m.id == left)
        prompt = finder.suggestions.get_option_at_index(index).prompt
        assert "(deactivated)" in str(prompt)
        for _ in range(index):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.chosen, "a choice")
        assert app.chosen[0].id == left and app.chosen[0].name == sim.user_names[left]


async def test_names_with_markup_are_shown_as_text() -> None:
    class Hostile:
        id = "lead_0123456789abcdef"
        name = "[bold red]Acme[/] \x1b[2J Inc"
        status = "[@click=app.quit]x"

    async def search(_: str) -> list[Hostile]:
        return [Hostile()]

    app = Harness(search)
    async with app.run_test(size=SIZE) as pilot:
        finder = app.query_one(NameFinder)
        await pilot.click("#lead-input")
        await pilot.press("a", "c")
        await wait_for(pilot, lambda: finder.is_open and finder.matches, "the list opens")
        prompt = str(finder.suggestions.get_option_at_index(0).prompt)
        assert "[bold red]Acme[/]" in prompt and "\x1b" not in prompt
        assert "[@click=app.quit]x" in prompt
