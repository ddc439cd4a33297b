"""What workers report: typed results, posted as messages, handled in one place each.

Workers do I/O only. Each one ends by posting one of these (or several, for progress),
and exactly one handler on the explorer screen draws it, after checking that the result
still belongs to what is on screen: a page by its feed's *generation*, a detail by its
*event id*, a follow batch by its *follower*, an export by its *job*. A result that no
longer belongs is dropped there, never painted over something else.

Every failure is a message too (``…Failed``), so a worker cannot die unseen: an
exception nobody expected is turned into the failure message of its job by the runner
(:meth:`close_tui.ui.explorer.ExplorerScreen.run_job`), and anything that escapes even
that reaches :meth:`close_tui.ui.app.CloseTuiApp.show_failure`.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.message import Message

from close_tui.core import errors
from close_tui.core.follow import FollowBatch, Follower
from close_tui.core.models import Event
from close_tui.core.retries import RetryNotice


def error_text(exc: BaseException) -> str:
    """One line for a failure, never a traceback and never a secret (the client scrubs
    its own errors; anything else is named by its type)."""
    if isinstance(exc, errors.CloseError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class PageLoaded(Message):
    """A page of the feed with ``generation`` arrived (``query``: what was sent)."""

    def __init__(self, generation: int, events: Sequence[Event], query: str) -> None:
        super().__init__()
        self.generation = generation
        self.events = events
        self.query = query


class PageFailed(Message):
    """A page request of the feed with ``generation`` failed (any error, one line)."""

    def __init__(self, generation: int, error: BaseException, query: str) -> None:
        super().__init__()
        self.generation = generation
        self.error = error
        self.query = query


class PageCancelled(Message):
    """The page request of the feed with ``generation`` was cancelled (view left)."""

    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation


class DetailLoaded(Message):
    """Event ``event_id`` was fetched for the detail pane."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event
        self.event_id = event.id


class DetailFailed(Message):
    """Fetching event ``event_id`` failed (``NotFound``: no longer available)."""

    def __init__(self, event_id: str, error: BaseException) -> None:
        super().__init__()
        self.event_id = event_id
        self.error = error


class PivotReady(Message):
    """The event a pivot needed was fetched (it was in no cache)."""

    def __init__(self, kind: str, event: Event) -> None:
        super().__init__()
        self.kind = kind
        self.event = event


class PivotFailed(Message):
    def __init__(self, kind: str, event_id: str, error: BaseException) -> None:
        super().__init__()
        self.kind = kind
        self.event_id = event_id
        self.error = error


class NamesChanged(Message):
    """The name directory learned names, or its "names limited" flag changed."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, NamesChanged)


class FollowPolled(Message):
    """One poll of ``follower`` (a follow stopped since is recognised by identity)."""

    def __init__(self, follower: Follower, batch: FollowBatch) -> None:
        super().__init__()
        self.follower = follower
        self.batch = batch


class FollowFailed(Message):
    """A poll of ``follower`` failed; the next one may work (follow goes on)."""

    def __init__(self, follower: Follower, error: BaseException) -> None:
        super().__init__()
        self.follower = follower
        self.error = error


class Retrying(Message):
    """The client waits and tries a request again (from any worker)."""

    def __init__(self, notice: RetryNotice) -> None:
        super().__init__()
        self.notice = notice

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Retrying)


class ExportProgress(Message):
    """Progress of export ``job``: one line, already formatted."""

    def __init__(self, job: int, text: str) -> None:
        super().__init__()
        self.job = job
        self.text = text

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ExportProgress) and message.job == self.job


class ExportFinished(Message):
    """Export ``job`` ended: written (``cancelled`` False) or cancelled, partial file kept."""

    def __init__(self, job: int, text: str, *, written: int, cancelled: bool = False) -> None:
        super().__init__()
        self.job = job
        self.text = text
        self.written = written
        self.cancelled = cancelled


class ExportFailed(Message):
    def __init__(self, job: int, error: BaseException, *, written: int, path: str) -> None:
        super().__init__()
        self.job = job
        self.error = error
        self.written = written
        self.path = path


class OrganizationLoaded(Message):
    """``GET /me/`` named the organization (``error`` set when it could not)."""

    def __init__(self, name: str, error: str = "") -> None:
        super().__init__()
        self.name = name
        self.error = error
