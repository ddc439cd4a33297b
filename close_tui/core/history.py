"""Back/forward history of an investigation, bounded in entries and in memory.

A pivot ("this lead's events", "this request's events") is a step forward; back returns
to the previous view *as it was*: the same rows, scroll position and selection, with no
request sent. So each entry keeps what it loaded, and a budget caps what all entries keep
together: past it, the oldest entries give up their rows (they keep their filter and are
refetched if the user goes back that far).

Pure and generic (no Textual, no client): the app decides what an entry holds. The pivots
(the supported filter each step runs) are here too, as pure functions of an event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from close_tui.core.filters import EventFilter
from close_tui.core.models import Event

T = TypeVar("T")

DEFAULT_MAX_ENTRIES = 20
#: Rows all entries may keep together (an event-table row is ~200 bytes with its strings).
DEFAULT_ROW_BUDGET = 200_000


class History(Generic[T]):
    """A list of entries with a current position; going somewhere new drops the
    forward entries (like a browser).

    ``weight(entry)`` says how many rows an entry keeps; ``shed(entry)`` makes it drop
    them (called on the oldest entries first, never on the current one).
    """

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        row_budget: int = DEFAULT_ROW_BUDGET,
        weight: Callable[[T], int] = lambda _: 0,
        shed: Callable[[T], None] = lambda _: None,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.row_budget = row_budget
        self._weight = weight
        self._shed = shed
        self._entries: list[T] = []
        self._index = -1

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> list[T]:
        return list(self._entries)

    @property
    def index(self) -> int:
        return self._index

    @property
    def current(self) -> T | None:
        return self._entries[self._index] if self._index >= 0 else None

    @property
    def trail(self) -> list[T]:
        """The entries up to and including the current one (what a breadcrumb shows)."""
        return self._entries[: self._index + 1]

    def can_go_back(self) -> bool:
        return self._index > 0

    def can_go_forward(self) -> bool:
        return self._index < len(self._entries) - 1

    def push(self, entry: T) -> None:
        """Go somewhere new: forward entries are dropped, the oldest beyond the bound too."""
        del self._entries[self._index + 1 :]
        self._entries.append(entry)
        overflow = len(self._entries) - self.max_entries
        if overflow > 0:
            del self._entries[:overflow]
        self._index = len(self._entries) - 1
        self.enforce_budget()

    def replace_current(self, entry: T) -> None:
        if self._index < 0:
            self.push(entry)
            return
        self._entries[self._index] = entry
        self.enforce_budget()

    def back(self) -> T | None:
        if not self.can_go_back():
            return None
        self._index -= 1
        return self._entries[self._index]

    def forward(self) -> T | None:
        if not self.can_go_forward():
            return None
        self._index += 1
        return self._entries[self._index]

    def total_weight(self) -> int:
        return sum(self._weight(entry) for entry in self._entries)

    def enforce_budget(self) -> None:
        """Shed rows, farthest from the current entry first, until within the budget."""
        total = self.total_weight()
        if total <= self.row_budget:
            return
        order = sorted(
            (i for i in range(len(self._entries)) if i != self._index),
            key=lambda i: -abs(i - self._index),
        )
        for i in order:
            if total <= self.row_budget:
                break
            entry = self._entries[i]
            before = self._weight(entry)
            if before:
                self._shed(entry)
                total -= before - self._weight(entry)


# --------------------------------------------------------------------------- pivots

#: Pivot kinds, each one supported filter combination of the event endpoint.
PIVOT_KINDS: Final = ("lead", "object", "request", "user")


class NoPivot(ValueError):
    """The event lacks what the pivot needs; the message says what (for a notification)."""


@dataclass(frozen=True, slots=True)
class Pivot:
    """A step of an investigation: the filter to run, and what it is about."""

    kind: str
    value: str
    filter: EventFilter
    #: For an object pivot, its type (``opportunity``); empty otherwise.
    object_type: str = ""


def pivot_from_event(kind: str, event: Event) -> Pivot:
    """The pivot ``kind`` from one event: this lead's / object's / request's / user's events."""
    if kind == "lead":
        if not event.lead_id:
            raise NoPivot("This event has no lead (lead_id is empty)")
        return pivot_from_field("lead_id", event.lead_id)
    if kind == "object":
        if not event.object_id or not event.object_type:
            raise NoPivot("This event has no object id to follow")
        return pivot_from_field("object_id", event.object_id, object_type=event.object_type)
    if kind == "request":
        if not event.request_id:
            raise NoPivot("This event has no request id")
        return pivot_from_field("request_id", event.request_id)
    if kind == "user":
        if not event.user_id:
            raise NoPivot("No user caused this event (user_id is null: a system change)")
        return pivot_from_field("user_id", event.user_id)
    raise NoPivot(f"Unknown pivot {kind!r}")


def pivot_from_field(field: str, value: str, *, object_type: str | None = None) -> Pivot:
    """The pivot for one id in a filter field (an id met in the JSON, say)."""
    if not value:
        raise NoPivot(f"No {field} to pivot on")
    if field == "lead_id":
        return Pivot("lead", value, EventFilter(lead_id=value))
    if field == "user_id":
        return Pivot("user", value, EventFilter(user_id=value))
    if field == "request_id":
        return Pivot("request", value, EventFilter(request_id=value))
    if field == "object_id":
        if not object_type:
            # object_id alone is no supported combination; guessing a type would show
            # an empty (wrong) history.
            raise NoPivot(f"The object type of {value} is unknown: cannot query its history")
        return Pivot("object", value, EventFilter(object_type=object_type, object_id=value),
                     object_type=object_type)
    raise NoPivot(f"{field} is not a field the event log filters on")
