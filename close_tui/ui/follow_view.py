"""Live follow on screen: one :class:`~close_tui.core.follow.Follower` at a time, the
worker that polls it, where its events go, and the badge that says so.

The worker only polls and posts (:class:`~close_tui.ui.messages.FollowPolled`,
:class:`~close_tui.ui.messages.FollowFailed`); the explorer screen hands those to
:meth:`FollowView.polled` / :meth:`FollowView.failed`, which drop a poll of a follow
already stopped (by the follower's identity) and put the events where
:class:`~close_tui.core.feed.FollowQueue` says: updated rows move to their place by
``date_updated``, new ones go on top while the reader is at the top, or wait behind
"+N new" until Home.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from textual.worker import Worker

from close_tui.core.feed import FollowQueue
from close_tui.core.follow import FollowBatch, Follower
from close_tui.core.retries import RetryNotice
from close_tui.ui.messages import FollowFailed, FollowPolled, error_text

if TYPE_CHECKING:
    from close_tui.ui.explorer import ExplorerScreen


class FollowView:
    """The follow state of one explorer screen (it stops whenever the view changes)."""

    def __init__(
        self,
        screen: ExplorerScreen,
        *,
        interval: float,
        sleep: Callable[[float], Awaitable[None]],
        clock: Callable[[], datetime],
    ) -> None:
        self.screen = screen
        self.interval = interval
        self.sleep = sleep
        self.clock = clock
        self.follower: Follower | None = None
        self.queue = FollowQueue()
        #: Polls applied since the app started (tests wait on it).
        self.polls = 0
        self.error = ""

    @property
    def active(self) -> bool:
        return self.follower is not None

    def start(self) -> None:
        screen = self.screen
        feed = screen.feed
        try:
            follower = Follower(screen.client, feed.filter, interval=self.interval,
                                clock=self.clock)
        except Exception as exc:  # an unsupported filter: say so
            screen.notify(error_text(exc), severity="error", markup=False)
            return
        if feed.filter.date_updated__lt or feed.filter.date_updated__lte:
            screen.notify("This filter has an upper date bound: nothing new can match it",
                          severity="warning", timeout=4)
        self.follower = follower
        self.error = ""
        self.queue.take()
        self.draw_badge()
        self._poll(follower)

    def _poll(self, follower: Follower) -> Worker[None]:
        """The worker: polls and posts, forever (cancelled by stop, or with the screen)."""
        screen, sleep = self.screen, self.sleep

        def polled(batch: FollowBatch) -> None:
            screen.post_message(FollowPolled(follower, batch))

        def failed(exc: Exception) -> None:
            screen.post_message(FollowFailed(follower, exc))

        async def poll_forever() -> None:
            await follower.run(polled, sleep=sleep, on_error=failed)

        return screen.run_worker(poll_forever, group="follow", exclusive=True,
                                 exit_on_error=False)

    def stop(self, *, quiet: bool = False) -> None:
        if self.follower is None:
            return
        self.follower = None
        self.screen.workers.cancel_group(self.screen, "follow")
        self.flush()
        self.draw_badge()
        if not quiet:
            self.screen.notify("Follow stopped", timeout=2)

    def toggle(self) -> None:
        if self.follower is not None:
            self.stop()
        else:
            self.start()

    def retrying(self, notice: RetryNotice) -> None:
        if self.follower is not None and notice.rate_limited:
            self.follower.rate_limited(notice.delay)

    def polled(self, message: FollowPolled) -> None:
        if message.follower is not self.follower:
            return  # a poll of a follow already stopped
        screen = self.screen
        table = screen.table
        self.polls += 1
        self.error = ""
        screen.learn_names(message.batch.events)
        plan = self.queue.plan(message.batch, screen.feed.predicate, at_top=table.at_top,
                               shown=self._shown_stamp)
        if plan.show:
            table.upsert_events(plan.show)
            table.flash(event.id for event in plan.show)
        screen.status.set(rows=table.row_count)
        screen.after_request()
        self.draw_badge()

    def failed(self, message: FollowFailed) -> None:
        if message.follower is not self.follower:
            return
        self.error = error_text(message.error)
        self.screen.status.set(error=f"follow: {self.error}")
        self.draw_badge()

    def flush(self, *, to_top: bool = False) -> None:
        """Show the events held back while the user read further down; ``to_top`` (the
        user went back to the top) puts the cursor on the newest of them."""
        events = self.queue.take()
        table = self.screen.table
        if events:
            table.upsert_events(events)
            table.flash(event.id for event in events)
            self.screen.status.set(rows=table.row_count)
            if to_top:
                table.move_cursor(0)
        self.draw_badge()

    @property
    def pending(self) -> int:
        return len(self.queue)

    def badge(self) -> str:
        if self.follower is None:
            return ""
        parts = ["● following"]
        if self.queue.pending:
            parts.append(f"+{len(self.queue)} new — Home shows them")
        if self.error:
            parts.append("⚠ " + self.error[:60])
        return " · ".join(parts)

    def draw_badge(self) -> None:
        self.screen.breadcrumb.set_badge(self.badge())

    def _shown_stamp(self, event_id: str) -> float | None:
        """``date_updated`` under which the table shows ``event_id`` (asked here, on the
        screen's side, rather than by the follower in its worker)."""
        table = self.screen.table
        index = table.index_of(event_id)
        return None if index is None else table.row_at(index).updated
