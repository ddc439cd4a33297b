"""The filter form: only lets people build queries Close's event endpoint accepts.

The endpoint takes 16 sets of filter fields and refuses the rest (``core.filters``).
Instead of letting a query fail at the server, the form disables every field that cannot
join what is already filled, says why next to it, names what would complete a partial
set, and enables Apply only for a supported set. The date range goes with everything.

Pasting an id anywhere in the form routes it to its field by prefix (``core.idroute``),
so a ``lead_…`` copied from a log or a Close lead address lands in the lead id field
wherever the cursor was.

Everything quoted from the user's text is made visible (``core.sanitize``) and shown as
``Content``, never parsed as markup: pasted ``[@click=app.quit]`` is just text.

Each field's message sits under the field itself (aligned with it, not with its label)
and wraps, so it is read whole; the hint line under the form wraps too.

On a short terminal the screen sets :attr:`FilterForm.collapsed`: the form is then one
line, the active filter in words ("lead: Acme Inc · action: deleted · since 3d — f to
edit"), until focus comes into it (``f``, Tab, a click on that line); it folds again
when focus leaves. :class:`FilterForm.FoldChanged` says when it folds or unfolds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import ClassVar, Final, Literal

from rich.cells import cell_len, set_cell_size
from textual import events, on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from close_tui.core.catalog import OBJECT_TYPE_ACTIONS
from close_tui.core.dates import DateParseError, parse_user_datetime
from close_tui.core.filters import (
    FILTER_FIELDS,
    EventFilter,
    can_add,
    completions,
    describe,
    is_supported,
    unsupported_message,
    utc_now,
    why_disabled,
)
from close_tui.core.idroute import (
    FIELD_LABELS,
    FieldCheck,
    actions_for_context,
    check_field_value,
    route_paste,
    show,
    types_for_object_id,
)
from close_tui.core.rows import short_id
from close_tui.core.sanitize import has_controls, visible
from close_tui.ui.keys import bindings_for
from close_tui.ui.widgets.name_finder import NameFinder, SearchFunction

Severity = Literal["information", "warning", "error"]
Level = Literal["", "muted", "ok", "warning", "error", "disabled"]

#: Form fields in tab order: ids first (the usual start), then what narrows the events.
FORM_FIELDS: Final[tuple[str, ...]] = (
    "lead_id",
    "user_id",
    "request_id",
    "since",
    "object_type",
    "object_id",
    "action",
    "until",
)
DATE_FIELDS: Final[tuple[str, ...]] = ("since", "until")
#: Fields that find their id by name when the form is given a search for them.
NAME_FIELDS: Final[tuple[str, ...]] = ("lead_id", "user_id")
#: What a name field says while nothing is chosen for the name typed.
CHOOSE_A_MATCH: Final = "choose a match: ↓ Enter"
#: The archive's full-text field (only in a form made with ``any_combination``).
SEARCH_FIELD: Final = "search"

_SHORT_LABELS: Final[dict[str, str]] = {
    "lead_id": "lead",
    "user_id": "user",
    "request_id": "request",
    "since": "since",
    "object_type": "type",
    "object_id": "object",
    "action": "action",
    "until": "until",
    "search": "search",
}
_PLACEHOLDERS: Final[dict[str, str]] = {
    "lead_id": "lead_… or its URL",
    "user_id": "user_…",
    "request_id": "req_…",
    "since": "2h, 3d, 2026-11-01",
    "object_type": "activity.note (↑↓)",
    "object_id": "acti_/cont_/oppo_…",
    "action": "created (↑↓)",
    "until": "date, …T10:00Z, 1h",
    "search": 'words in summaries, names, payloads · "a phrase" · pre*',
}
#: Placeholders and help of the name fields when they find by name.
_NAME_PLACEHOLDERS: Final[dict[str, str]] = {
    "lead_id": "name, lead_… or URL",
    "user_id": "name or user_…",
}
_NAME_HELP: Final[dict[str, str]] = {
    "lead_id": "Lead: type part of its name and choose a match (↓, Enter), or paste its id "
    "(lead_…) or its Close URL. Events of the lead and everything under it.",
    "user_id": "User: type part of a name or e-mail and choose a member (deactivated ones "
    "too), or paste an id (user_…). Events caused by this user.",
}
_HELP: Final[dict[str, str]] = {
    "lead_id": "Lead id (lead_…): events of the lead and everything under it.",
    "user_id": "User id (user_…): events caused by this user.",
    "request_id": "Request id (req_…): events of one API request. Goes alone.",
    "since": "Updated since: a date, a local date-time, …Z for UTC, or a span back (90m, 2h, 3d).",
    "object_type": "Object type: ↑/↓ cycle the known types, → accepts the suggestion; "
    "unknown types are allowed.",
    "object_id": "Object id (acti_/cont_/oppo_/task_/lead_…): events of this one object.",
    "action": "Action: ↑/↓ cycle the actions of the type, → accepts the suggestion.",
    "until": "Updated until: a date (to the end of that day), a date-time, …Z, or a span back.",
    "search": "Full text over the archive's summaries, names and payloads: every word must "
    'match, "quoted words" as a phrase, word* as a prefix.',
}


@dataclass(frozen=True, slots=True)
class GivenDate:
    """A date put in by :meth:`FilterForm.set_filter`, kept exactly while its text is
    untouched, so re-applying a filter does not turn ``gt`` into ``gte`` or lose seconds."""

    text: str
    operator: str
    when: datetime


@dataclass(slots=True)
class FormState:
    """Everything the form shows, computed from the field texts alone (no widgets)."""

    filled: frozenset[str]
    reasons: dict[str, tuple[str, Level]] = field(default_factory=dict)
    tooltips: dict[str, str] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    type_choices: tuple[str, ...] = ()
    action_choices: tuple[str, ...] = ()
    filter: EventFilter | None = None
    hint: str = ""
    hint_level: Level = ""


def short_reason(field_name: str, why: str) -> str:
    """``lead_id cannot be combined with request_id`` -> ``not with request_id`` (the
    whole sentence is the field's tooltip)."""
    prefix = f"{field_name} cannot be combined with "
    return "not with " + why[len(prefix) :] if why.startswith(prefix) else why


#: How the one-line (collapsed) form names each field of the active filter.
_IN_WORDS: Final[dict[str, str]] = {
    "lead_id": "lead: ",
    "user_id": "user: ",
    "request_id": "request: ",
    "object_type": "type: ",
    "object_id": "object: ",
    "action": "action: ",
    "since": "since ",
    "until": "until ",
    "search": "search: ",
}


def filter_in_words(texts: Mapping[str, str], names: Mapping[str, str] | None = None) -> str:
    """The filter of these field texts as one line a person reads: ``lead: Acme Inc ·
    action: deleted · since 3d``; ids by their name when ``names`` knows them, else
    shortened; ``all events`` when nothing is filled."""
    names = names or {}
    parts = []
    for name in _IN_WORDS:  # what and who first, the dates last
        text = texts.get(name, "").strip()
        if not text:
            continue
        if name in ("lead_id", "user_id", "object_id"):
            known = names.get(text)
            text = visible(known) if known else short_id(text)
        elif name in DATE_FIELDS:
            text = visible(text).replace("T", " ")
        else:
            text = visible(text)
        parts.append(_IN_WORDS[name] + text)
    return " · ".join(parts) if parts else "all events"


def format_local(when: datetime, tz: tzinfo) -> str:
    """Local ISO minutes (``2026-11-20T14:30``), seconds only when there are some."""
    local = when.astimezone(tz).replace(tzinfo=None)
    if local.second == 0 and local.microsecond == 0:
        return local.isoformat(timespec="minutes")
    if local.microsecond == 0:
        return local.isoformat(timespec="seconds")
    return local.isoformat(timespec="microseconds")


def short_local(when: datetime, tz: tzinfo) -> str:
    """``Nov 17 13:00`` (seconds only when there are some): a date in a line of words,
    written as the event table writes times."""
    local = when.astimezone(tz)
    clock = f"{local:%H:%M}" if local.second == 0 else f"{local:%H:%M:%S}"
    return f"{local:%b} {local.day} {clock}"


def _read_date(
    name: str, text: str, now: datetime, tz: tzinfo, given: GivenDate | None
) -> tuple[str, datetime]:
    if given is not None and given.text == text:
        return given.operator, given.when
    bound: Literal["since", "until"] = "since" if name == "since" else "until"
    when, inclusive = parse_user_datetime(text, now=now, bound=bound, local_tz=tz)
    if bound == "since":
        return ("gte" if inclusive else "gt"), when
    return ("lte" if inclusive else "lt"), when


def evaluate(
    values: Mapping[str, str],
    *,
    now: datetime,
    local_tz: tzinfo,
    given_dates: Mapping[str, GivenDate] | None = None,
    choosing: frozenset[str] = frozenset(),
    any_combination: bool = False,
) -> FormState:
    """The form's state for these field texts: what is disabled and why, each field's
    inline message, the hint line, and the filter to apply (``None`` when Apply must stay
    disabled: an unsupported set, an invalid value or an unreadable date).

    ``choosing``: fields holding a name typed to find (lead, user) with no match chosen
    yet: they count as filled, and Apply waits for the choice.

    ``any_combination`` is the local archive's form: every set of fields is answered (the
    API's table of combinations does not apply, nothing is disabled for it), the hint
    says "archive", and a ``search`` text makes the filter an ``ArchiveFilter``."""
    given_dates = given_dates or {}
    texts = {name: values.get(name, "").strip() for name in FORM_FIELDS}
    filled = frozenset(name for name in FILTER_FIELDS if texts[name])
    state = FormState(filled=filled)
    errors: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    pending = [name for name in FILTER_FIELDS if name in choosing and name in filled]

    name: str
    for name in FILTER_FIELDS:
        why = None if name in filled or any_combination else why_disabled(filled, name)
        if why is not None:
            state.disabled.add(name)
            state.reasons[name] = (short_reason(name, why), "disabled")
            state.tooltips[name] = why
            continue
        if name in pending:
            state.reasons[name] = (CHOOSE_A_MATCH, "warning")
            state.tooltips[name] = _HELP[name]
            continue
        check: FieldCheck = check_field_value(
            name, texts[name], object_type=texts["object_type"], object_id=texts["object_id"]
        )
        state.tooltips[name] = _HELP[name]
        if check.error:
            errors.append((name, check.error))
            state.reasons[name] = (check.error, "error")
        elif check.warning:
            warnings.append((name, check.warning))
            state.reasons[name] = (check.warning, "warning")
        else:
            state.reasons[name] = ("", "")

    state.type_choices = types_for_object_id(texts["object_id"])
    state.action_choices = actions_for_context(texts["object_type"], texts["object_id"])
    narrowed = len(state.type_choices) < len(OBJECT_TYPE_ACTIONS)
    if narrowed and not texts["object_type"] and "object_type" not in state.disabled:
        # An object id narrowed the types: say to which, so ↑/↓ is not a surprise.
        shown = ", ".join(state.type_choices[:2])
        more = ", …" if len(state.type_choices) > 2 else ""
        state.reasons["object_type"] = (f"{shown}{more} (↑↓)", "muted")

    dates: dict[str, tuple[str, datetime]] = {}
    for name in DATE_FIELDS:
        state.tooltips[name] = _HELP[name]
        if not texts[name]:
            state.reasons[name] = ("", "")
            continue
        try:
            op, when = _read_date(name, texts[name], now, local_tz, given_dates.get(name))
        except DateParseError as exc:
            message = visible(str(exc))
            errors.append((name, message))
            state.reasons[name] = (message, "error")
            state.tooltips[name] = message
            continue
        dates[name] = (op, when)
        sign = {"gte": "≥", "gt": ">", "lte": "≤", "lt": "<"}[op]
        local = format_local(when, local_tz).replace("T", " ")
        state.reasons[name] = (f"{sign} {local}", "muted")
        state.tooltips[name] = f"{_HELP[name]}\nRead as {sign} {local} local time."
    if "since" in dates and "until" in dates and dates["since"][1] >= dates["until"][1]:
        warnings.append(("until", "until is not after since: nothing will match"))

    search = values.get(SEARCH_FIELD, "").strip() if any_combination else ""
    if any_combination:
        state.tooltips[SEARCH_FIELD] = _HELP[SEARCH_FIELD]
        state.reasons[SEARCH_FIELD] = ("", "")
        if search:
            from close_tui.core.archive.text import SearchSyntaxError, fts_query

            try:
                fts_query(search)
            except SearchSyntaxError as exc:
                message = visible(str(exc))
                errors.append((SEARCH_FIELD, message))
                state.reasons[SEARCH_FIELD] = (message, "error")

    supported = any_combination or is_supported(filled)
    if errors:
        where, message = errors[0]
        label = FIELD_LABELS.get(where, where)
        state.hint, state.hint_level = f"{label}: {message}", "error"
    elif pending:
        what = _SHORT_LABELS[pending[0]]
        state.hint = f"{what}: choose one of the matches (↓ then Enter), or paste an id"
        state.hint_level = "warning"
    elif not supported:
        adds = completions(filled)
        if adds:
            what = " or ".join(describe(a) for a in adds)
            state.hint, state.hint_level = f"{describe(filled)}: add {what}", "warning"
        else:
            state.hint, state.hint_level = unsupported_message(filled), "error"
    else:
        parts = [describe(filled)]
        if any_combination:  # say where the answer comes from, and that anything goes
            parts = ["archive (any combination)", describe(filled) if filled else "all events"]
            if search:
                parts.append(f"search {visible(search)}")
        if dates:
            parts.append(" ".join(state.reasons[n][0] for n in DATE_FIELDS if n in dates))
        state.hint = "✓ " + " · ".join(parts) + " · Enter applies"
        state.hint_level = "ok"
        if warnings:
            where, message = warnings[0]
            state.hint += f" · {FIELD_LABELS[where]}: {message}"
            state.hint_level = "warning"

    if supported and not errors and not pending:
        changes: dict[str, object] = {f: texts[f] for f in filled}
        for op, when in dates.values():
            changes[f"date_updated__{op}"] = when
        state.filter = EventFilter().replace(**changes)
        if search:
            from close_tui.core.archive.query import archive_filter

            state.filter = archive_filter(state.filter, search)
    return state


def _field_maker(field_name: str) -> Callable[[str, str | None], FieldInput]:
    """The input a name finder wraps: the form's own field input (paste routing, the
    form's keys), so the form reads it like any other field."""

    def make(placeholder: str, input_id: str | None) -> FieldInput:
        return FieldInput(field_name, placeholder=placeholder, id=input_id)

    return make


class FieldInput(Input):
    """A one-line input for one form field: up/down cycle its known choices (object
    types, actions), and pastes go to the form, which routes ids by prefix."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("form_field")  # the one key table

    def __init__(self, field_name: str, *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, id=id, compact=True, select_on_focus=True)
        self.field_name = field_name
        self.choices: tuple[str, ...] = ()

    def set_choices(self, choices: tuple[str, ...]) -> None:
        if choices != self.choices:
            self.choices = choices
            self.suggester = SuggestFromList(choices, case_sensitive=False) if choices else None

    def action_cycle_choice(self, step: int) -> None:
        if not self.choices:
            raise SkipAction()
        value = self.value.strip()
        if value in self.choices:
            index = (self.choices.index(value) + step) % len(self.choices)
        else:
            index = 0 if step > 0 else len(self.choices) - 1
        self.value = self.choices[index]
        self.cursor_position = len(self.value)

    def _form(self) -> FilterForm | None:
        return next((node for node in self.ancestors if isinstance(node, FilterForm)), None)

    def _on_paste(self, event: events.Paste) -> None:
        # Runs before Input's own handler; prevent_default keeps that one from inserting.
        form = self._form()
        if form is None:
            return
        event.prevent_default()
        event.stop()
        form.paste_text(event.text, target=self.field_name)

    def action_paste(self) -> None:
        """ctrl+v pastes the app's own clipboard (an id copied from the table): route it
        like a terminal paste."""
        form = self._form()
        if form is None:
            super().action_paste()
        else:
            form.paste_text(self.app.clipboard, target=self.field_name)


class FoldedLine(Static, can_focus=True):
    """The collapsed form's one line; focusing or clicking it opens the form.

    The filter's words are cut (with ``…``) before the key that opens the form is
    (:attr:`FilterForm.edit_hint`).
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.words = ""

    def allow_focus(self) -> bool:
        # Only while it is the form: hidden, it must not take the app's first focus
        # (auto focus picks the first focusable widget, displayed or not).
        form = self._form()
        return form is not None and form.folded

    def _form(self) -> FilterForm | None:
        return next((node for node in self.ancestors if isinstance(node, FilterForm)), None)

    def set_words(self, words: str) -> None:
        self.words = words
        self.refresh()

    def render(self) -> Content:
        form = self._form()
        hint = f" — {form.edit_hint}" if form is not None and form.edit_hint else ""
        room = self.content_region.width - cell_len(hint)
        words = self.words
        if room < 8:  # too narrow for both: the words, cut
            room, hint = self.content_region.width, ""
        if cell_len(words) > room:
            words = set_cell_size(words, max(0, room - 1)) + "…"
        return Content.assemble(Content(words), Content.styled(hint, "dim"))

    def on_click(self, event: events.Click) -> None:
        event.stop()
        form = self._form()
        if form is not None:
            form.focus_first()


class FilterForm(Widget):
    """Build an :class:`EventFilter` from the keyboard; posts :class:`Applied`."""

    DEFAULT_CSS = """
    FilterForm {
        height: auto;
        background: $surface;
        border-bottom: hkey $panel;

        #fields {
            grid-size: 4;
            grid-columns: 1fr;
            grid-rows: auto;
            grid-gutter: 0 1;
            height: auto;
        }
        &.-narrow #fields { grid-size: 2; }
        .cell { height: auto; }
        .cell-row { height: 1; }
        .field-label { width: 9; padding: 0 1; color: $text-muted; }
        .cell:focus-within .field-label { color: $accent; text-style: bold; }
        FieldInput { width: 1fr; }
        #search-cell { column-span: 4; }
        &.-narrow #search-cell { column-span: 2; }
        FieldInput:disabled { background: $surface; }
        /* Under its field (past the label), wrapped: read whole, never cut. */
        .reason {
            height: auto;
            min-height: 1;
            margin-left: 9;
            color: $text-muted;
            &.-disabled { text-style: dim italic; }
            &.-warning { color: $text-warning; }
            &.-error { color: $text-error; }
        }
        #status-row { height: auto; }
        #hint {
            width: 1fr;
            height: auto;
            color: $text-muted;
            &.-ok { color: $text-success; }
            &.-warning { color: $text-warning; }
            &.-error { color: $text-error; }
        }
        #hint { padding-left: 1; }
        Button { margin-left: 1; min-width: 9; }
        #folded-line { display: none; }
        &.-folded {
            border-bottom: none;
            #fields, #status-row { display: none; }
            #folded-line {
                display: block;
                height: 1;
                padding: 0 1;
                background: $panel;
                color: $text-muted;
                text-wrap: nowrap;
                text-overflow: ellipsis;
                &:focus { color: $foreground; }
            }
        }
    }
    """

    #: Narrower than this, the fields go two to a row (four leave inputs of ~10 cells).
    NARROW_WIDTH: ClassVar[int] = 100

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("form")  # the one key table

    class Applied(Message):
        """The user applied a supported filter."""

        def __init__(self, form: FilterForm, filter: EventFilter) -> None:
            super().__init__()
            self.form = form
            self.filter = filter

        @property
        def control(self) -> FilterForm:
            return self.form

    class Leave(Message):
        """Escape: the app should move focus from the form to the event table."""

    class FoldChanged(Message):
        """The form became one line (``folded``) or the whole form again."""

        def __init__(self, form: FilterForm, folded: bool) -> None:
            super().__init__()
            self.form = form
            self.folded = folded

        @property
        def control(self) -> FilterForm:
            return self.form

    collapsed: reactive[bool] = reactive(False)
    """One line (the active filter in words) while focus is outside the form; the whole
    form while focus is in it. The screen sets it on short terminals."""

    edit_hint: reactive[str] = reactive("f to edit")
    """What the folded line says opens the form (the screen may name a remapped key)."""

    class Notice(Message):
        """Something to tell the user about a paste. ``text`` is plain text with user
        values already made visible: show it with ``notify(..., markup=False)``."""

        def __init__(self, text: str, severity: Severity = "information") -> None:
            super().__init__()
            self.text = text
            self.severity: Severity = severity

    def __init__(
        self,
        *,
        now: Callable[[], datetime] | None = None,
        local_tz: tzinfo | None = None,
        searches: Mapping[str, SearchFunction] | None = None,
        search_note: Callable[[], str] | None = None,
        finder_debounce: float = 0.15,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
        any_combination: bool = False,
    ) -> None:
        """``any_combination``: the form of the local archive (see :func:`evaluate`),
        with a ``search`` field for its full text."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.any_combination = any_combination
        #: The fields this form has (the archive's adds ``search``).
        self._field_names = FORM_FIELDS + ((SEARCH_FIELD,) if any_combination else ())
        self._now = now or utc_now
        self._local_tz: tzinfo = local_tz or datetime.now().astimezone().tzinfo or UTC
        self._given_dates: dict[str, GivenDate] = {}
        self._state: FormState | None = None
        self._shown: dict[str, tuple[str, Level]] = {}
        self._pending_filter: EventFilter | None = None
        #: Field texts of the active filter (last set or applied), for the folded line.
        self._active_texts: dict[str, str] = {}
        self._last_applied: tuple[EventFilter, dict[str, str]] | None = None
        self._names: dict[str, str] = {}
        self._folded = False
        #: Name fields (lead, user) -> the search that finds ids by name.
        self._searches = {k: v for k, v in (searches or {}).items() if k in NAME_FIELDS}
        self._search_note = search_note
        self._finder_debounce = finder_debounce

    def compose(self) -> ComposeResult:
        yield FoldedLine(id="folded-line")
        with Grid(id="fields"):
            for name in FORM_FIELDS:
                with Vertical(classes="cell", id=f"{name}-cell"):
                    with Horizontal(classes="cell-row"):
                        yield Label(Content(_SHORT_LABELS[name]), classes="field-label")
                        search = self._searches.get(name)
                        if search is None:
                            yield FieldInput(name, placeholder=_PLACEHOLDERS[name], id=name)
                        else:
                            yield NameFinder(
                                search,
                                placeholder=_NAME_PLACEHOLDERS[name],
                                input_id=name,
                                make_input=_field_maker(name),
                                debounce=self._finder_debounce,
                                empty_note=self._search_note,
                                id=f"{name}-finder",
                            )
                    yield Static(Content(""), classes="reason", id=f"{name}-reason")
            if self.any_combination:
                with Vertical(classes="cell", id=f"{SEARCH_FIELD}-cell"):
                    with Horizontal(classes="cell-row"):
                        yield Label(Content(_SHORT_LABELS[SEARCH_FIELD]), classes="field-label")
                        yield FieldInput(SEARCH_FIELD, placeholder=_PLACEHOLDERS[SEARCH_FIELD],
                                         id=SEARCH_FIELD)
                    yield Static(Content(""), classes="reason", id=f"{SEARCH_FIELD}-reason")
        with Horizontal(id="status-row"):
            yield Static(Content(""), id="hint")
            yield Button("Apply", id="apply", variant="primary", compact=True, disabled=True)
            yield Button("Clear", id="clear", compact=True)

    def on_mount(self) -> None:
        if self._pending_filter is not None:
            self.set_filter(self._pending_filter)
        self._refresh_state()
        self._sync_fold()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < self.NARROW_WIDTH, "-narrow")

    # -- public API -----------------------------------------------------------------

    @property
    def current_filter(self) -> EventFilter | None:
        """The filter Apply would send now; ``None`` when unsupported or invalid."""
        return self._evaluate().filter

    @property
    def state(self) -> FormState:
        """The last computed state (what the widgets show)."""
        return self._state if self._state is not None else self._evaluate()

    @property
    def folded(self) -> bool:
        """Whether the form shows as one line now (collapsed, and focus is elsewhere)."""
        return self._folded

    @property
    def filter_words(self) -> str:
        """The active filter in words, as the folded line says it."""
        return filter_in_words(self._active_texts, self._names)

    def set_names(self, names: Mapping[str, str]) -> None:
        """Names of lead and user ids, for the folded line ("lead: Acme Inc") and the
        name fields: one that holds an id now named shows the name (unless the user is
        in it)."""
        self._names = dict(names)
        self._name_the_ids()
        self._draw_folded_line()

    def finder(self, name: str) -> NameFinder | None:
        """The name finder of field ``name`` (``None``: the field takes ids only)."""
        if name not in self._searches or not self.is_mounted:
            return None
        found = self.query(f"#{name}-finder")
        widget = found.first() if found else None
        return widget if isinstance(widget, NameFinder) else None

    def set_filter(self, flt: EventFilter) -> None:
        """Fill the fields from ``flt``; its dates are shown in local time and kept exact.
        ``flt`` becomes the active filter the folded line describes."""
        if not self.query(FieldInput):  # called before compose: fill the fields on mount
            self._pending_filter = flt
            return
        self._pending_filter = None
        self._given_dates = {}
        values: dict[str, str] = {name: getattr(flt, name) or "" for name in FILTER_FIELDS}
        for name, ops in (("since", ("gte", "gt")), ("until", ("lte", "lt"))):
            values[name] = ""
            for op in ops:
                when: datetime | None = getattr(flt, f"date_updated__{op}")
                if when is not None:
                    text = format_local(when, self._local_tz)
                    self._given_dates[name] = GivenDate(text, op, when)
                    values[name] = text
                    break
        if self.any_combination:
            values[SEARCH_FIELD] = getattr(flt, SEARCH_FIELD, None) or ""
        for name in self._field_names:
            self._set_value(name, values[name])
        self._name_the_ids(even_focused=True)
        self._refresh_state()
        applied = self._last_applied
        # The filter this form just applied comes back from the app with absolute dates:
        # the folded line keeps saying what was typed ("since 3d").
        if applied and applied[0] == flt:
            self._active_texts = dict(applied[1])
        else:
            self._active_texts = {**values, **{
                name: short_local(given.when, self._local_tz)
                for name, given in self._given_dates.items()
            }}  # fmt: skip
        self._draw_folded_line()

    def clear(self) -> None:
        self._given_dates = {}
        for name in self._field_names:
            self._set_value(name, "")
        self._refresh_state()

    def focus_first(self) -> None:
        """Focus the first enabled field (lead id unless a request id rules it out);
        a collapsed form unfolds for it."""
        self._set_folded(False)
        for name in FORM_FIELDS:
            field_input = self.field_input(name)
            if not field_input.disabled:
                field_input.focus()
                return

    def field_input(self, name: str) -> FieldInput:
        return self.query_one(f"#{name}", FieldInput)

    def values(self) -> dict[str, str]:
        """Each field's value: its text, or for a name field showing a chosen name, the
        chosen id."""
        out = {name: self.field_input(name).value for name in self._field_names}
        for name in self._searches:
            finder = self.finder(name)
            chosen = finder.id_for(out[name]) if finder is not None else None
            if chosen is not None:
                out[name] = chosen
        return out

    def texts(self) -> dict[str, str]:
        """What each field shows (a chosen name, not its id)."""
        return {name: self.field_input(name).value for name in self._field_names}

    def paste_text(self, text: str, target: str | None = None) -> None:
        """Put pasted ``text`` where it belongs (see :func:`core.idroute.route_paste`);
        ``target`` is the field it was pasted into, ``None`` for the form as a whole."""
        route = route_paste(text, target)
        if route.error is not None:
            self.post_message(self.Notice(route.error, "error"))
            return
        if route.field is None:
            if target is not None and route.value:
                self._insert_text(target, visible(route.value))
            return
        destination: str = route.field
        filled = self._evaluate().filled - {destination}
        why = None if self.any_combination else why_disabled(filled, destination)
        if why is not None:
            self.post_message(
                self.Notice(
                    f"can't put {show(route.value)} in {FIELD_LABELS[destination]}: {why}", "error"
                )
            )
            return
        self._set_value(destination, route.value)
        if route.implied_object_type and (
            can_add(filled | {destination}, "object_type")
            or (self.any_combination and "object_type" not in filled)
        ):
            self._set_value("object_type", route.implied_object_type)
        if route.warning:
            self.post_message(self.Notice(route.warning, "warning"))
        elif target is not None and destination != target:
            self.post_message(
                self.Notice(f"{show(route.value)} put in {FIELD_LABELS[destination]}")
            )
        self._refresh_state()
        destination_input = self.field_input(destination)
        if not destination_input.has_focus:
            destination_input.focus()

    # -- actions and handlers -----------------------------------------------------------

    def action_apply(self) -> None:
        flt = self.current_filter
        if flt is not None:
            texts = {name: text.strip() for name, text in self.values().items()}
            self._last_applied = (flt, texts)
            self._active_texts = texts
            self._draw_folded_line()
            self.post_message(self.Applied(self, flt))

    def action_clear(self) -> None:
        self.clear()
        self.focus_first()

    def action_leave(self) -> None:
        self.post_message(self.Leave())

    @on(Input.Changed)
    def _field_changed(self, event: Input.Changed) -> None:
        event.stop()
        value = event.value
        if has_controls(value):
            # No id, type, action or date contains control, bidi or zero-width
            # characters; an Input would draw them raw. Drop them and say so.
            event.input.value = "".join(ch for ch in value if not has_controls(ch))
            self.post_message(
                self.Notice("Removed control characters from the field", "warning")
            )
            return
        self._refresh_state()

    @on(Input.Submitted)
    def _field_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        field_name = getattr(event.input, "field_name", "")
        finder = self.finder(field_name)
        if finder is not None and finder.wants_a_choice:
            finder.find_now()  # Enter before the matches: one is chosen, several listed
            return
        self.action_apply()

    @on(NameFinder.Chosen)
    def _name_chosen(self, event: NameFinder.Chosen) -> None:
        """A lead or user chosen by name: the field holds its id (showing the name), and
        a filter that can be applied now is (the table shows what was asked for)."""
        event.stop()
        self._names[event.id] = event.name
        self._refresh_state()
        if self.current_filter is not None:
            self.action_apply()

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_apply()

    @on(Button.Pressed, "#clear")
    def _clear_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_clear()

    def _on_paste(self, event: events.Paste) -> None:
        # A paste while a button has focus (inputs route their own pastes).
        event.stop()
        self.paste_text(event.text, target=None)

    def watch_collapsed(self, collapsed: bool) -> None:
        self._sync_fold()

    def watch_edit_hint(self, hint: str) -> None:
        if self.is_mounted and self.query(FoldedLine):
            self.query_one(FoldedLine).refresh()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        line = self.query_one(FoldedLine)
        if event.widget is line and self._folded:
            # Tab or a click reached the one-line form: open it on its first field
            # (unless focus has moved on meanwhile, e.g. the screen's own first focus).
            self.call_after_refresh(self._open_from_line)
        self._sync_fold()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self._sync_fold()

    # -- internals ---------------------------------------------------------------------------

    def _open_from_line(self) -> None:
        if self.query_one(FoldedLine).has_focus:
            self.focus_first()

    def _sync_fold(self) -> None:
        """Folded exactly while collapsed with focus outside the form (or on its line)."""
        focused = self.screen.focused if self.is_mounted else None
        inside = self.has_focus_within and not isinstance(focused, FoldedLine)
        self._set_folded(self.collapsed and not inside)

    def _set_folded(self, folded: bool) -> None:
        if not self.is_mounted:
            return
        if folded == self._folded:
            return
        self._folded = folded
        self.set_class(folded, "-folded")
        self._draw_folded_line()
        self.post_message(self.FoldChanged(self, folded))

    def _draw_folded_line(self) -> None:
        if not self.is_mounted or not self.query(FoldedLine):
            return
        self.query_one(FoldedLine).set_words(self.filter_words)

    def _evaluate(self) -> FormState:
        return evaluate(
            self.values(),
            now=self._now(),
            local_tz=self._local_tz,
            given_dates=self._given_dates,
            choosing=self._choosing(),
            any_combination=self.any_combination,
        )

    def _choosing(self) -> frozenset[str]:
        """Name fields holding a name nothing was chosen for (yet)."""
        out = set()
        for name in self._searches:
            finder = self.finder(name)
            if finder is not None and finder.wants_a_choice:
                out.add(name)
        return frozenset(out)

    def _name_the_ids(self, *, even_focused: bool = False) -> None:
        """Name fields holding a bare id the names know show the name instead (the id
        stays the value). Not under the user's cursor, unless ``even_focused``."""
        for name in self._searches:
            finder = self.finder(name)
            if finder is None:
                continue
            text = self.field_input(name).value.strip()
            label = self._names.get(text)
            if label and label != text and (even_focused or not finder.input.has_focus):
                finder.set_chosen(text, label)

    def _set_value(self, name: str, value: str) -> None:
        field_input = self.field_input(name)
        field_input.value = value
        field_input.cursor_position = len(value)

    def _insert_text(self, name: str, text: str) -> None:
        field_input = self.field_input(name)
        start, end = field_input.selection
        field_input.replace(text, start, end)

    def _refresh_state(self) -> None:
        state = self._evaluate()
        self._state = state
        for name in self._field_names:
            field_input = self.field_input(name)
            # Filled fields stay enabled whatever happens, so they can always be emptied.
            field_input.disabled = name in state.disabled
            text, level = state.reasons.get(name, ("", ""))
            field_input.set_class(level == "error", "-invalid")
            tip = state.tooltips.get(name, "")
            if name in self._searches and tip == _HELP[name]:
                tip = _NAME_HELP[name]
            self._show(field_input, f"#{name}-reason", text, level, tip)
        self.field_input("object_type").set_choices(state.type_choices)
        self.field_input("action").set_choices(state.action_choices)
        self._show(None, "#hint", state.hint, state.hint_level, "")
        apply_button = self.query_one("#apply", Button)
        apply_button.disabled = state.filter is None
        self._set_tooltip(
            apply_button,
            "Apply (Enter)" if state.filter is not None else state.hint or "nothing to apply",
        )

    def _show(
        self, field_input: FieldInput | None, selector: str, text: str, level: Level, tip: str
    ) -> None:
        """Update a message line (and its field's tooltip) only when it changed: this
        runs on every keystroke, and each update costs a relayout (the line wraps, so
        its height may change)."""
        line = self.query_one(selector, Static)
        if self._shown.get(selector) != (text, level):
            self._shown[selector] = (text, level)
            line.update(Content(text))
            for each in ("muted", "ok", "warning", "error", "disabled"):
                line.set_class(level == each, f"-{each}")
        if field_input is not None:
            self._set_tooltip(field_input, tip)

    def _set_tooltip(self, widget: Widget, tip: str) -> None:
        current = widget.tooltip
        if not isinstance(current, Content) or current.plain != tip:
            widget.tooltip = Content(tip)
