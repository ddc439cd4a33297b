"""A suggestion list that opens under an input: find a lead (or a user) by typing part of
its name.

Keyboard first: type, ``down``/``up`` move through the matches, ``enter`` chooses,
``escape`` closes the list; the mouse works too (click a match). Focus never leaves the
input. While the list is closed, those keys are not taken: ``enter`` still submits the
input (the filter form's Apply) and ``escape`` still reaches the form.

The widget owns an :class:`~textual.widgets.Input` (give ``input_id`` to keep the id a
form already queries) and an option list drawn over what follows (``overlay: screen``).
It debounces typing (``debounce`` seconds) and then awaits the ``search`` function it was
given — e.g. :meth:`close_tui.core.directory.Directory.search_leads` — with the text.
That function returns matches (anything with ``id``, ``name`` and ``status``), or
``None`` when a newer text superseded the call; results for a text that is no longer in
the input are dropped. Choosing posts :class:`NameFinder.Chosen` with the id and the name
and puts the name in the input.

Names come from the API: they are shown as :class:`rich.text.Text` made visible
(``sanitize.visible``), never parsed as markup.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from close_tui.core.directory import short_id
from close_tui.core.sanitize import visible


class Match(Protocol):
    """What a search returns per match (``LeadMatch``, ``UserMatch``)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def status(self) -> str: ...


SearchFunction = Callable[[str], Awaitable[Sequence[Match] | None]]

#: Texts that are ids or URLs: the form routes those itself, no search.
_NOT_A_NAME = re.compile(r"^(?:[a-z]{2,12}_[A-Za-z0-9]{8,}|[a-z]+://\S*)$")


def looks_like_a_name(text: str) -> bool:
    """Default ``accepts``: not an id (``lead_…``) and not a URL."""
    return not _NOT_A_NAME.match(text.strip())


class SuggestionList(OptionList):
    """The matches. Never focused (the input keeps focus); a click still chooses."""

    can_focus = False


class NameFinder(Widget):
    """An input with a suggestion list under it; posts :class:`Chosen`."""

    DEFAULT_CSS = """
    NameFinder {
        height: auto;
        width: 1fr;
    }
    NameFinder > SuggestionList {
        display: none;
        overlay: screen;
        constrain: inside inside;
        height: auto;
        max-height: 10;
        /* Wider than a form field: a name, its status and short id on one line. */
        width: 1fr;
        min-width: 56;
        border: tall $border-blurred;
        background: $surface;
        padding: 0;
    }
    NameFinder.-open > SuggestionList {
        display: block;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: checked before the input and the form; declined while the list is
        # closed (check_action), so the keys then do what they did before.
        Binding("down", "move(1)", "Next match", show=False, priority=True),
        Binding("up", "move(-1)", "Previous match", show=False, priority=True),
        Binding("pagedown", "move(5)", "Matches below", show=False, priority=True),
        Binding("pageup", "move(-5)", "Matches above", show=False, priority=True),
        Binding("enter", "choose", "Choose", show=False, priority=True),
        Binding("escape", "close", "Close the list", show=False, priority=True),
    ]

    @dataclass
    class Chosen(Message):
        """A match was chosen: ``id`` (``lead_…``/``user_…``) and its ``name``."""

        finder: NameFinder
        id: str
        name: str

        @property
        def control(self) -> NameFinder:
            return self.finder

    def __init__(
        self,
        search: SearchFunction,
        *,
        value: str = "",
        placeholder: str = "",
        input_id: str | None = None,
        debounce: float = 0.15,
        min_chars: int = 2,
        accepts: Callable[[str], bool] = looks_like_a_name,
        empty_text: str = "no matches",
        empty_note: Callable[[], str] | None = None,
        make_input: Callable[[str, str | None], Input] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.search = search
        self.debounce = debounce
        self.min_chars = min_chars
        self.accepts = accepts
        self.empty_text = empty_text
        self.empty_note = empty_note
        self._make_input = make_input
        self._value = value
        self._placeholder = placeholder
        self._input_id = input_id
        self._timer: Timer | None = None
        self._generation = 0
        self._matches: list[Match] = []
        #: The name put in the input by the last choice (typing it again is no search).
        self._chosen_name: str | None = None
        #: The id chosen last, or ``None`` once the text was edited since.
        self.chosen_id: str | None = None
        #: Searches sent by this widget (for tests and the benchmark).
        self.searches = 0
        #: The text whose matches the list shows (while typing on, the list keeps the
        #: last text's matches until the newer ones arrive).
        self.shown_text = ""
        #: Enter came before the matches: a single match is chosen when they arrive.
        self._choose_single = False

    def compose(self) -> ComposeResult:
        if self._make_input is not None:
            field = self._make_input(self._placeholder, self._input_id)
            field.value = self._value
            yield field
        else:
            yield Input(self._value, placeholder=self._placeholder, id=self._input_id)
        yield SuggestionList()

    # ------------------------------------------------------------------ parts

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def suggestions(self) -> SuggestionList:
        return self.query_one(SuggestionList)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    @property
    def matches(self) -> list[Match]:
        """The matches shown (empty when the list shows "no matches" or is closed)."""
        return list(self._matches) if self.is_open else []

    @property
    def wants_a_choice(self) -> bool:
        """The input holds a name to find (not an id, not a URL) and none is chosen."""
        text = self.input.value
        return (
            self.id_for(text) is None
            and len(text.strip()) >= self.min_chars
            and self.accepts(text)
        )

    def id_for(self, text: str) -> str | None:
        """The chosen id while ``text`` is still the chosen name, else ``None`` (safe to
        ask before the input's change message has reached this widget)."""
        if self.chosen_id is not None and self._chosen_name == text:
            return self.chosen_id
        return None

    def find_now(self) -> None:
        """Enter on a name nothing was chosen for: search now (no debounce; the
        directory's cache makes a repeat free); a single match is chosen when it comes,
        several open the list to choose from."""
        if not self.wants_a_choice:
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._generation += 1
        self._choose_single = True
        self._start(self.input.value, self._generation)

    def set_chosen(self, object_id: str, name: str) -> None:
        """Show ``name`` for an id chosen elsewhere (a pivot, a restored filter)."""
        self._chosen_name = name
        self.chosen_id = object_id
        self.input.value = name
        self.close()

    # ------------------------------------------------------------------ typing

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        # Not stopped: a form around us still sees every change.
        if event.input is not self.input:
            return
        text = event.value
        if text != self.input.value:
            return  # stale: the value was set again since (a pivot: id, then its name)
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._generation += 1
        if self._chosen_name is not None and text == self._chosen_name:
            return  # the name we just put there
        self._chosen_name = None
        self.chosen_id = None
        self._choose_single = False
        if len(text.strip()) < self.min_chars or not self.accepts(text):
            self.close()
            return
        generation = self._generation
        self._timer = self.set_timer(self.debounce, lambda: self._start(text, generation))

    def _start(self, text: str, generation: int) -> None:
        self._timer = None
        if generation != self._generation:
            return
        self.run_worker(self._run_search(text, generation), group="name-finder",
                        exit_on_error=False)

    async def _run_search(self, text: str, generation: int) -> None:
        self.searches += 1
        try:
            found = await self.search(text.strip())
        except Exception:  # the search function should not raise; if it does, no list
            found = []
        if found is None or generation != self._generation or self.input.value != text:
            return  # superseded by newer typing
        matches = list(found)
        if self._choose_single and len(matches) == 1:
            self._choose_single = False
            self._matches = matches
            self._choose(0)
            return
        self._choose_single = False
        self._show(matches, text)

    # ------------------------------------------------------------------ the list

    def _show(self, matches: list[Match], text: str) -> None:
        self._matches = matches
        self.shown_text = text
        options = self.suggestions
        options.clear_options()
        if matches:
            options.add_options(Option(_line(m)) for m in matches)
            options.highlighted = 0
        else:
            note = self.empty_note() if self.empty_note is not None else ""
            empty = f"{self.empty_text} — {note}" if note else self.empty_text
            options.add_option(Option(Text(visible(empty), style="dim italic"),
                                      disabled=True))
        self.add_class("-open")

    def close(self) -> None:
        self.remove_class("-open")

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        # Focus left the input (Tab, a click elsewhere, Enter applied the form): the
        # list would float over what the user went to.
        self.close()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("move", "choose", "close"):
            return self.is_open and self.input.has_focus
        return True

    def action_move(self, delta: int) -> None:
        options = self.suggestions
        if not self._matches:
            return
        current = options.highlighted if options.highlighted is not None else -1
        options.highlighted = max(0, min(len(self._matches) - 1, current + delta))

    def action_choose(self) -> None:
        if self.shown_text != self.input.value and self.wants_a_choice:
            # The list still shows an older text's matches: choose from the text typed.
            self.find_now()
            return
        index = self.suggestions.highlighted
        if index is None or not self._matches:
            self.close()
            return
        self._choose(index)

    def action_close(self) -> None:
        self.close()

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self._matches):
            self._choose(event.option_index)

    def _choose(self, index: int) -> None:
        match = self._matches[index]
        self._choose_single = False
        self._generation += 1  # results still on their way are stale now
        self._chosen_name = match.name
        self.chosen_id = match.id
        self.input.value = match.name
        self.input.cursor_position = len(match.name)
        self.close()
        self.input.focus()
        self.post_message(self.Chosen(self, match.id, match.name))


def _line(match: Match) -> Text:
    """``name  status  lead_abc…xyz``; a deactivated user's status stands out."""
    line = Text(visible(match.name), style="bold")
    status = match.status
    if status == "deactivated":
        line.append("  ")
        line.append("(deactivated)", style="italic yellow")
    elif status:
        line.append("  ")
        line.append(visible(status), style="dim")
    line.append("  ")
    line.append(short_id(match.id), style="dim")
    # One line a match: a long name is cut (with …), never wrapped under itself.
    line.no_wrap = True
    line.overflow = "ellipsis"
    return line
