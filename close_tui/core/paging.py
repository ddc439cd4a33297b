"""The rules a cursor walk of the event log keeps, so that no server can make it loop,
spin or end short without a word. Shared by :class:`~close_tui.core.client.EventPager`
(the app, follow, ``iter_events``) and the exporter's window pagers (the CLI).

What a page must say, precisely (see ``close-event-api.md`` §1):

* The body is an object with a ``data`` list and a ``cursor_next`` **key**. Its value is a
  string (more, older events may follow) or ``null`` (the end). An empty string is read as
  ``null``, as the API itself reads ``_cursor=``. A page with no ``cursor_next`` key at all
  says nothing about whether the log goes on: :class:`InconsistentPaging`, never "the end".
* ``has_more`` is not part of the event API. When a server sends it anyway, ``"has_more":
  true`` with no cursor is a contradiction (the end of the export would be a guess):
  :class:`InconsistentPaging`. ``"has_more": false`` next to a cursor is followed: the
  cursor is the event API's own word, following it cannot lose an event, and the guards
  below bound what it costs. A ``has_more`` that is not a boolean is an error too.

What a walk must do:

* **Never send a cursor twice.** A ``cursor_next`` that was already sent in this walk
  (the same cursor again, or two cursors taking turns) would fetch the same pages
  forever: :class:`RepeatedCursor`, before that request is sent.
* **Make progress.** A page *progresses* when it brings an event not returned before in
  this walk: older than the oldest returned so far, or at that same instant with an id
  not yet returned. Events newer than that point cannot come later in a newest-first walk
  (they would be the start of the log again) and are dropped as replays. Empty and short
  pages in the middle are normal, so only a run of :data:`MAX_PAGES_WITHOUT_PROGRESS`
  pages in a row without progress stops the walk: :class:`NoProgress`.

When a repeated cursor or the lack of progress shows on a page, that page's events are
still returned and the error is raised by the next call (and every call after it), so
nothing fetched is thrown away and no further request is sent. A page whose paging fields
are missing or contradictory is refused whole: what it means is unknown.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError

from close_tui.core.errors import (
    InconsistentPaging,
    NoProgress,
    PagingError,
    ProtocolError,
    RepeatedCursor,
)
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event, EventPage
from close_tui.core.sanitize import clip, visible

#: Pages in a row that bring no new event before a walk gives up. Real pages that are
#: empty in the middle of a walk come one or two at a time; twenty is far beyond that,
#: and at the paced rate of a server that sends no RateLimit header (10/s) costs 2 s.
MAX_PAGES_WITHOUT_PROGRESS: Final = 20


def paging_cursor(body: Any) -> str | None:
    """The ``cursor_next`` of a raw page body, after checking the paging fields (above).

    Cheap (no validation of the events), so a pager can send the next request before it
    validates the page it holds.
    """
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ProtocolError("unexpected response shape for an event page: no 'data' list")
    if "cursor_next" not in body:
        raise InconsistentPaging(
            "the event page has no 'cursor_next' field, so it cannot say whether the log "
            "ends here; stopping rather than returning a possibly short result"
        )
    cursor = body["cursor_next"]
    if cursor is not None and not isinstance(cursor, str):
        raise InconsistentPaging(
            f"the event page's 'cursor_next' is a {type(cursor).__name__}, not a string or null"
        )
    cursor = cursor or None
    if "has_more" in body:
        has_more = body["has_more"]
        if not isinstance(has_more, bool):
            raise InconsistentPaging("the event page's 'has_more' is not true or false")
        if has_more and cursor is None:
            raise InconsistentPaging(
                "the event page says has_more: true but gives no cursor_next to fetch the "
                "rest; stopping rather than returning a short result"
            )
    return cursor


def parse_event_page(body: Any) -> EventPage:
    """A page body checked (:func:`paging_cursor`) and validated into an :class:`EventPage`."""
    paging_cursor(body)
    try:
        return EventPage.model_validate(body)
    except ValidationError as exc:
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
        message = f"unexpected response shape for an event page: {where}"
        if errors:
            message += f": {errors[0]['msg']}"
        raise ProtocolError(clip(visible(message), 300)) from exc


def _digest(cursor: str) -> bytes:
    # Cursors are opaque and may be long: remember 16 bytes of each, not the string.
    return hashlib.blake2b(cursor.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _pages(count: int) -> str:
    return f"{count} page" if count == 1 else f"{count} pages"


def _show_cursor(cursor: str) -> str:
    return clip(visible(cursor), 24)


class ResumePoint:
    """How far a cursor walk has got: the oldest ``date_updated`` returned and the ids
    returned at exactly that instant.

    It drops what was already returned (:meth:`keep_unseen`), which is also the measure
    of progress, and narrows the filter to resume after a refused cursor
    (:meth:`resume_filter`): cursors expire; when one is refused, the walk restarts with no
    cursor and an upper bound at the oldest ``date_updated`` already returned (or the
    filter's own bound, if tighter), dropping the ids already returned there.
    """

    __slots__ = ("ids_at_oldest", "oldest", "replays")

    def __init__(self) -> None:
        self.oldest: datetime | None = None
        self.ids_at_oldest: set[str] = set()
        #: Events dropped because they were newer than the walk had already reached.
        self.replays = 0

    def keep_unseen(self, events: list[Event]) -> list[Event]:
        """``events`` minus those returned before (or replayed); advances the point."""
        fresh: list[Event] = []
        for event in events:
            when = event.date_updated
            oldest = self.oldest
            if oldest is not None:
                if when > oldest:
                    self.replays += 1
                    continue  # newer than where the walk is: a replay, not news
                if when == oldest and event.id in self.ids_at_oldest:
                    continue  # already returned (before a cursor recovery, or a replay)
            fresh.append(event)
            if oldest is None or when < oldest:
                self.oldest = when
                self.ids_at_oldest = {event.id}
            else:
                self.ids_at_oldest.add(event.id)
        return fresh

    def resume_filter(self, base: EventFilter) -> EventFilter:
        """``base`` narrowed to resume after what was returned (``base`` if nothing was)."""
        last = self.oldest
        if last is None:
            return base  # nothing returned yet: start over
        # The new upper bound is min(original bound, last seen); an original exclusive
        # bound survives only if it is still the tighter one.
        lte = last if base.date_updated__lte is None else min(base.date_updated__lte, last)
        lt = base.date_updated__lt
        if lt is not None and lt > lte:
            lt = None
        return base.replace(date_updated__lte=lte, date_updated__lt=lt)


class WalkGuard:
    """The loop guards of one walk: cursors already sent, and pages without progress.

    :meth:`sent` before each request with a cursor; :meth:`check_cursor` on each page's
    ``cursor_next`` before it is sent; :meth:`progressed` with the count of fresh events
    of each page. A failure is remembered (:attr:`failure`) so the pager raises it on its
    next call (after returning the page's events) and on every call after that.
    """

    __slots__ = ("_sent", "failure", "idle_pages", "max_idle_pages", "pages")

    def __init__(self, max_idle_pages: int = MAX_PAGES_WITHOUT_PROGRESS) -> None:
        if max_idle_pages < 1:
            raise ValueError("max_idle_pages must be at least 1")
        self.max_idle_pages = max_idle_pages
        self._sent: set[bytes] = set()
        self.idle_pages = 0
        self.pages = 0
        self.failure: PagingError | None = None

    def sent(self, cursor: str | None) -> None:
        if cursor:
            self._sent.add(_digest(cursor))

    def check_cursor(self, cursor: str | None) -> bool:
        """Whether ``cursor`` may be sent; records a :class:`RepeatedCursor` if not."""
        if cursor is None or _digest(cursor) not in self._sent:
            return True
        self.fail(RepeatedCursor(
            f"the server sent a cursor_next already used in this walk ({_show_cursor(cursor)}) "
            f"after {_pages(self.pages)}: following it would loop; stopping"
        ))
        return False

    def progressed(self, fresh: int, *, more: bool) -> bool:
        """Count one page with ``fresh`` new events; ``more`` = it has a cursor to follow.
        False (and a :class:`NoProgress` recorded) when the run without progress is too
        long to follow further."""
        self.pages += 1
        self.idle_pages = 0 if fresh else self.idle_pages + 1
        if more and self.idle_pages >= self.max_idle_pages:
            self.fail(NoProgress(
                f"{self.idle_pages} pages in a row brought no new event (empty pages, or the "
                f"same events again) after {_pages(self.pages)}: the server's paging is not "
                "moving; stopping"
            ))
            return False
        return True

    def fail(self, error: PagingError) -> None:
        if self.failure is None:
            self.failure = error

    def raise_if_failed(self) -> None:
        failure = self.failure
        if failure is not None:
            raise type(failure)(failure.message)  # a fresh one: no traceback piling up
