"""A compact store of event-table rows: what the table draws, and nothing more.

A session can load a million events. Keeping a pydantic ``Event`` per row (with its raw
JSON) costs kilobytes each; the table only ever draws a handful of short strings. So each
row keeps exactly those strings, already made terminal-safe, plus the event id and its
``date_updated`` as a float. Strings that repeat across rows (actions, object types, lead
and user ids) are interned per store so a million rows share a few thousand objects.

Order is the log's: newest ``date_updated`` first. :meth:`RowStore.append` adds older pages
at the bottom in O(page); :meth:`RowStore.upsert` (live follow) merges new ones in at
their place near the top and moves a consolidated one (newer ``date_updated``) to its
new place, so times stay in order.

Time formatting lives here too, as plain functions of (timestamp, mode, now), so the table
and the CLI show times alike and tests need no terminal.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from heapq import merge
from typing import Final, Literal

from close_tui.core.models import Event
from close_tui.core.sanitize import visible
from close_tui.core.summary import summarize

TimeMode = Literal["local", "utc", "relative"]
TIME_MODES: Final[tuple[TimeMode, ...]] = ("local", "utc", "relative")

_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip


class EventRow:
    """One table row. ``__slots__`` keeps it at ~100 bytes plus its strings."""

    __slots__ = (
        "action",
        "api_key_id",
        "event_id",
        "lead_id",
        "object_short",
        "object_type",
        "summary",
        "updated",
        "user_id",
    )

    def __init__(
        self,
        event_id: str,
        updated: float,
        action: str,
        object_type: str,
        object_short: str,
        lead_id: str | None,
        user_id: str | None,
        summary: str,
        api_key_id: str | None = None,
    ) -> None:
        self.event_id = event_id
        #: ``date_updated`` as POSIX seconds: 24 bytes instead of a datetime's 48.
        self.updated = updated
        self.action = action
        self.object_type = object_type
        self.object_short = object_short
        #: Full ids (interned) so names set later can still be looked up.
        self.lead_id = lead_id
        self.user_id = user_id
        self.summary = summary
        #: The API key the change came through (interned: an org has a handful of keys).
        self.api_key_id = api_key_id

    def replace_with(self, other: EventRow) -> None:
        """Take ``other``'s values (a consolidated event: same id, newer content)."""
        for name in EventRow.__slots__:
            setattr(self, name, getattr(other, name))

    def __repr__(self) -> str:
        return f"EventRow({self.event_id!r}, {self.action!r}, {self.object_type!r})"


def short_id(value: str | None, head: int = 3, tail: int = 3) -> str:
    """``acti_4LNDQk…Fcao3e`` → ``acti_4LN…o3e``: prefix kept, middle elided.

    Six base62 characters (~10^10 combinations) tell ids apart on one screen; the detail
    pane shows the full id.
    """
    if not value:
        return ""
    prefix, sep, rest = value.partition("_")
    if not sep or len(prefix) > 8:
        prefix, rest = "", value
    else:
        prefix += "_"
    if len(rest) <= head + tail + 1:
        return visible(value)
    return visible(f"{prefix}{rest[:head]}…{rest[-tail:]}")


#: Family prefixes shortened first when an object type does not fit its column.
_TYPE_PREFIXES: Final = (
    ("activity.", "act."),
    ("custom_fields.", "cf."),
    ("bulk_action.", "bulk."),
)
#: Then long words, most specific first ("opportunity_status_change" before "opportunity").
_TYPE_WORDS: Final = (
    ("opportunity_status_change", "opp_status"),
    ("lead_status_change", "lead_status"),
    ("answered_detached_call", "detached_call"),
    ("whatsapp_message", "whatsapp"),
    ("form_submission", "form"),
    ("custom_activity", "custom_act"),
    ("custom_object", "custom_obj"),
    ("email_followup", "followup"),
    ("subscription", "sub"),
    ("opportunity", "opp"),
    ("incoming_", "in_"),
    ("outgoing_", "out_"),
)


def compact_type(object_type: str, width: int) -> str:
    """``object_type`` shortened to fit ``width`` cells while staying recognisable.

    ``activity.opportunity_status_change`` → ``act.opp_status``; the full type is in the
    detail pane. Types that fit are returned as they are; what still does not fit is left
    for the caller to cut.
    """
    if len(object_type) <= width:
        return object_type
    short = object_type
    for long_prefix, short_prefix in _TYPE_PREFIXES:
        if short.startswith(long_prefix):
            short = short_prefix + short[len(long_prefix) :]
            break
    if len(short) <= width:
        return short
    for long_word, short_word in _TYPE_WORDS:
        short = short.replace(long_word, short_word)
        if len(short) <= width:
            break
    return short


def format_time(
    timestamp: float,
    mode: TimeMode,
    *,
    now: float | None = None,
    tz: tzinfo | None = None,
) -> str:
    """``Nov 20 12:48:23`` in local time (``tz`` or the system's), in UTC, or ``5m ago``.

    Month names instead of numbers: ``11-12`` reads differently in the US and in Europe.
    The year is left out because the log reaches back only 30 days.
    """
    if mode == "relative":
        return format_age((time.time() if now is None else now) - timestamp)
    if mode == "utc":
        parts = time.gmtime(timestamp)
        month, day, hour, minute, second = (
            parts.tm_mon, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec
        )  # fmt: skip
    elif tz is not None:
        moment = datetime.fromtimestamp(timestamp, tz)
        month, day, hour, minute, second = (
            moment.month, moment.day, moment.hour, moment.minute, moment.second
        )  # fmt: skip
    else:
        parts = time.localtime(timestamp)
        month, day, hour, minute, second = (
            parts.tm_mon, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec
        )  # fmt: skip
    return f"{_MONTHS[month - 1]} {day:2d} {hour:02d}:{minute:02d}:{second:02d}"


def format_age(seconds: float) -> str:
    """A short age: ``now``, ``42s ago``, ``5m 03s ago``, ``3h 12m ago``, ``4d 2h ago``."""
    future = seconds < 0
    total = int(abs(seconds))
    if total < 1:
        return "now"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = f"{days}d {hours}h" if hours else f"{days}d"
    elif hours:
        text = f"{hours}h {minutes:02d}m"
    elif minutes:
        text = f"{minutes}m {secs:02d}s"
    else:
        text = f"{secs}s"
    return f"in {text}" if future else f"{text} ago"


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What :meth:`RowStore.upsert` did, and how to find old positions afterwards."""

    inserted: int
    updated: int
    #: old index -> new index, for the cursor and the scroll position.
    remap: Callable[[int], int]
    #: Updated rows that moved to a new place (their ``date_updated`` changed).
    moved: int = 0


def _identity(index: int) -> int:
    return index


def _newest_first(row: EventRow) -> float:
    return -row.updated


class RowStore:
    """Rows newest first, with an id index for de-duplication and in-place updates."""

    def __init__(self, summarizer: Callable[[Event], str] = summarize) -> None:
        self._rows: list[EventRow] = []
        self._by_id: dict[str, EventRow] = {}
        self._interned: dict[str, str] = {}
        self._labels: dict[str, str] = {}
        self._summarize = summarizer

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> EventRow:
        return self._rows[index]

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._by_id

    def clear(self) -> None:
        self._rows = []
        self._by_id = {}
        self._interned = {}
        self._labels = {}

    def get(self, event_id: str) -> EventRow | None:
        return self._by_id.get(event_id)

    def index_of(self, event_id: str) -> int | None:
        """Position of ``event_id`` (a scan: for occasional look-ups, not per frame)."""
        row = self._by_id.get(event_id)
        if row is None:
            return None
        for index, candidate in enumerate(self._rows):
            if candidate is row:
                return index
        return None  # pragma: no cover - the index and the list always agree

    def make_row(self, event: Event) -> EventRow:
        """The drawable strings of ``event``, sanitized once here rather than per frame."""
        intern = self._intern
        object_id = event.object_id if isinstance(event.object_id, str) else ""
        return EventRow(
            event_id=event.id,
            updated=event.date_updated.timestamp(),
            action=self._label(event.action),
            object_type=self._label(event.object_type),
            object_short=short_id(object_id),
            lead_id=intern(event.lead_id) if isinstance(event.lead_id, str) else None,
            user_id=intern(event.user_id) if isinstance(event.user_id, str) else None,
            summary=self._summarize(event),
            api_key_id=(intern(event.api_key_id) if isinstance(event.api_key_id, str) else None),
        )

    def _intern(self, text: str) -> str:
        return self._interned.setdefault(text, text)

    def _label(self, text: str) -> str:
        """Sanitized and shared: a few dozen distinct actions/types over all rows."""
        label = self._labels.get(text)
        if label is None:
            label = self._labels[text] = self._intern(visible(text))
        return label

    def append(self, events: Iterable[Event]) -> tuple[int, int]:
        """Add an older page at the bottom; known ids are updated in place, never doubled.

        Returns ``(appended, updated)``. Costs O(len(events)).
        """
        return self.append_rows(self.make_row(event) for event in events)

    def append_rows(self, rows: Iterable[EventRow]) -> tuple[int, int]:
        """:meth:`append` for rows already made (bulk loads, benchmarks)."""
        appended = updated = 0
        by_id = self._by_id
        add = self._rows.append
        for row in rows:
            known = by_id.get(row.event_id)
            if known is not None:
                if row.updated >= known.updated:
                    known.replace_with(row)
                    updated += 1
                continue
            by_id[row.event_id] = row
            add(row)
            appended += 1
        return appended, updated

    def upsert(self, events: Sequence[Event]) -> UpsertResult:
        """Live follow: merge new events in by ``date_updated``; a known id with a newer
        ``date_updated`` (consolidated) is updated and moved to its new place, so the
        list stays newest first.

        New and moved events normally land near the top, so only the head of the list
        down to the lowest affected row is rebuilt: a poll costs O(head), not O(rows).
        """
        fresh: list[EventRow] = []
        moved: set[int] = set()  # id() of known rows whose date_updated changed
        updated = 0
        for event in events:
            row = self.make_row(event)
            known = self._by_id.get(row.event_id)
            if known is not None:
                if row.updated >= known.updated:
                    if row.updated > known.updated:
                        moved.add(id(known))
                    known.replace_with(row)
                    updated += 1
                continue
            self._by_id[row.event_id] = row
            fresh.append(row)
        if not fresh and not moved:
            return UpsertResult(0, updated, _identity)

        rows = self._rows
        # Take the moved rows out (they lie near the top: the scan stops at the last one);
        # what stays is in order again, and the new and moved rows are merged into it.
        cut = 0
        movers: list[EventRow] = []
        if moved:
            for index, row in enumerate(rows):
                if id(row) in moved:
                    movers.append(row)
                    cut = index + 1
                    if len(movers) == len(moved):
                        break
        incoming = sorted([*fresh, *movers], key=_newest_first)
        staying = [row for row in rows[:cut] if id(row) not in moved]
        oldest = _newest_first(incoming[-1])
        if staying and _newest_first(staying[-1]) > oldest:
            head_end = cut  # the oldest incoming row goes among those above the cut
        else:
            head_end = bisect_right(rows, oldest, lo=cut, key=_newest_first)
        old_head = rows[:head_end]
        staying.extend(rows[cut:head_end])
        rows[:head_end] = list(merge(staying, incoming, key=_newest_first))
        inserted = len(fresh)
        new_positions = {id(row): index for index, row in enumerate(rows[: head_end + inserted])}

        def remap(old_index: int) -> int:
            if old_index >= head_end:
                return old_index + inserted
            if old_index < 0:
                return old_index
            return new_positions[id(old_head[old_index])]

        return UpsertResult(inserted, updated, remap, moved=len(moved))
