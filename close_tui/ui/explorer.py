"""The explorer screen: filter form, lazily paged event table, detail pane, status bar.

Data flows one way: form → ``EventFilter`` → a :class:`~close_tui.core.feed.ViewFeed`
→ pages → table rows; a highlighted row → ``get_event(id)`` → detail pane.

How the screen is put together:

* **Views are feeds.** Every applied filter (from the form, a pivot, a saved view, a
  local predicate) is a :class:`ViewEntry` — a feed and a breadcrumb — in a bounded
  :class:`~close_tui.core.history.History`. Leaving a view keeps its rows, cursor and
  scroll in its feed, so Back and Forward restore it without a request.
* **Workers do I/O only.** Each one is started by :meth:`ExplorerScreen.run_job` and ends
  by posting a typed message (:mod:`close_tui.ui.messages`): a page for generation G, a
  detail for event E, an export's progress. One handler per message draws it after
  checking the key (a page of a feed no longer shown is kept in that feed or dropped; a
  detail of an event no longer wanted is cached, never painted). Any exception, expected
  or not, becomes the job's failure message; anything that still escapes reaches
  :meth:`~close_tui.ui.app.CloseTuiApp.show_failure`.
* **Pivots.** ``L``/``O``/``R``/``U`` (and Enter on an id in the JSON) run the one
  supported filter for this lead, object, request or user.
* **Live follow** (:mod:`close_tui.ui.follow_view`) and **local predicates** (``/``: the
  table pages on until the screen fills with matches, and says so).

The screen belongs to one session (one client): the app makes a new one when the user
signs in again or switches profile, and this one's workers, name look-ups and retry
listener go with it (:meth:`on_unmount`).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from close_tui.core import errors, jsonnum
from close_tui.core.client import CloseClient
from close_tui.core.config import SavedView
from close_tui.core.directory import MAX_WAIT, QUIET, Directory
from close_tui.core.feed import EventCache, EventSource, ViewFeed
from close_tui.core.filters import EventFilter
from close_tui.core.follow import DEFAULT_INTERVAL
from close_tui.core.history import History, NoPivot, Pivot, pivot_from_event, pivot_from_field
from close_tui.core.models import Event
from close_tui.core.predicates import parse
from close_tui.core.retries import RetryNotice
from close_tui.core.rows import short_id
from close_tui.core.saved_views import ViewStore
from close_tui.ui.follow_view import FollowView
from close_tui.ui.keys import bindings_for
from close_tui.ui.messages import (
    DetailFailed,
    DetailLoaded,
    ExportFailed,
    ExportFinished,
    ExportProgress,
    FollowFailed,
    FollowPolled,
    NamesChanged,
    PageCancelled,
    PageFailed,
    PageLoaded,
    PivotFailed,
    PivotReady,
    Retrying,
    error_text,
)
from close_tui.ui.screens.export import ExportScreen
from close_tui.ui.screens.save_view import NameScreen
from close_tui.ui.widgets.breadcrumb import Breadcrumb
from close_tui.ui.widgets.event_detail import EventDetail
from close_tui.ui.widgets.event_table import EventTable
from close_tui.ui.widgets.explorer_table import FLASH_SECONDS, ExplorerTable
from close_tui.ui.widgets.filter_form import FilterForm
from close_tui.ui.widgets.json_view import JsonView
from close_tui.ui.widgets.key_bar import KeyBar
from close_tui.ui.widgets.local_filter import LocalFilterBar
from close_tui.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from close_tui.ui.app import CloseTuiApp

#: How long the highlight must rest on a row before its detail is fetched.
DETAIL_DEBOUNCE = 0.15
#: Close's web app: where ``o`` sends the user for a lead.
CLOSE_WEB_LEAD = "https://app.close.com/lead/{lead_id}/"
#: Only ids of this shape go into a link (they come from the API: never trust them).
_LEAD_ID = re.compile(r"lead_[A-Za-z0-9]{1,64}\Z")
#: Below this width the detail pane is narrower, so the table keeps TIME and ACTION;
#: below OVERLAY_WIDTH the detail pane opens over the table (Enter, d) instead of beside it.
NARROW_WIDTH = 110
OVERLAY_WIDTH = 76
#: The table's width when the detail pane is beside it on a narrow screen.
NARROW_TABLE_MIN = 50
#: Below this width a key bar that fits its keys replaces Textual's footer.
FOOTER_WIDTH = 100
#: Lower than this, the filter form shows as one line until focus enters it.
SHORT_HEIGHT = 30

_export_jobs = itertools.count(1)


@dataclass
class ExplorerSettings:
    """What the app passes to every explorer screen it makes (tests pin the clock)."""

    initial_filter: EventFilter
    now: Callable[[], datetime]
    local_tz: tzinfo | None = None
    detail_debounce: float = DETAIL_DEBOUNCE
    follow_interval: float = DEFAULT_INTERVAL
    follow_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    history_size: int = 20
    history_rows: int = 200_000
    flash_seconds: float = FLASH_SECONDS
    #: Lead names wait this long for more unnamed leads, to be looked up in one search
    #: (``None``: the directory's default; tests use 0 so a settled screen is named).
    names_quiet: float | None = None
    #: Told each applied filter (the app remembers it per profile).
    on_filter_applied: Callable[[EventFilter], None] | None = None


# ---------------------------------------------------------------------------- history


@dataclass
class Crumb:
    """What a view is about, for the breadcrumb; names are looked up when drawn."""

    kind: str  # "all", "filter", "lead", "object", "request", "user", "view", "where"
    value: str = ""
    detail: str = ""


@dataclass
class ViewEntry:
    """One step of the history: a view (its feed) and what the breadcrumb calls it."""

    feed: ViewFeed
    crumb: Crumb


def _entry_weight(entry: ViewEntry) -> int:
    return entry.feed.kept_rows


def _shed_entry(entry: ViewEntry) -> None:
    entry.feed.shed()


def filter_crumb(flt: EventFilter) -> Crumb:
    """The crumb of a filter typed in the form: named like a pivot when it is one."""
    params = flt.to_params()
    if not params:
        return Crumb("all")
    names = flt.field_names
    if not any(k.startswith("date_updated__") or k == "search" for k in params):
        if names == {"lead_id"}:
            return Crumb("lead", flt.lead_id or "")
        if names == {"user_id"}:
            return Crumb("user", flt.user_id or "")
        if names == {"request_id"}:
            return Crumb("request", flt.request_id or "")
        if names == {"object_type", "object_id"}:
            return Crumb("object", flt.object_id or "", flt.object_type or "")
    return Crumb("filter", flt.describe())


def query_preview(flt: EventFilter) -> str:
    """The first request of a filter, before it is sent."""
    return urlencode({**flt.to_params(), "_limit": "50"})


def sent_query(source: object) -> str:
    """The query string of the source's last page request, for the status line (the API
    client records it; another source may have none)."""
    return str(getattr(source, "last_event_query", "") or "")


def rate_text(client: CloseClient) -> str:
    rate = client.rate_limit
    if rate is None or rate.limit is None:
        return ""
    text = f"rate {rate.remaining if rate.remaining is not None else '?'}/{rate.limit}"
    if rate.reset is not None:
        text += f" · reset {rate.reset:g}s"
    return text


def relative_time(seconds: int) -> str:
    if seconds < 0:
        return "in the future"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


class ExplorerScreen(Screen[None]):
    """The explorer of one session's event log."""

    BINDINGS: ClassVar = bindings_for("screen")

    def __init__(
        self,
        client: CloseClient,
        *,
        settings: ExplorerSettings,
        views: ViewStore,
        organization: str | None = None,
        source: EventSource | None = None,
    ) -> None:
        """``source`` is where views page and details come from (default: ``client``, the
        API; a local archive is the next one). ``client`` also serves what only the API
        has: names, live follow, export, the rate budget, retry notices."""
        super().__init__()
        self.client = client
        self.source: EventSource = source if source is not None else client
        #: The view reads a local archive (``close-tui --archive``): any filter combination
        #: and a search in the form; follow and restore, which need the API, say so.
        self.reads_archive = getattr(self.source, "kind", None) == "archive"
        self.settings = settings
        self.views = views
        self.organization = organization
        self.history: History[ViewEntry] = History(
            max_entries=settings.history_size, row_budget=settings.history_rows,
            weight=_entry_weight, shed=_shed_entry,
        )
        self.details = EventCache()
        #: Names for ids (users, leads, custom fields, statuses): looked up within a
        #: share of the rate limit (never raises, never the view's error); on the archive,
        #: the names its syncs stored, and no look-up is ever sent.
        self.names: Directory | ArchiveNames
        if self.reads_archive:
            from close_tui.core.archive.names import ArchiveNames
            from close_tui.core.archive.source import ArchiveSource

            stored = self.source.stored_names() if isinstance(self.source, ArchiveSource) else {}
            self.names = ArchiveNames(stored, on_change=self._names_changed)
        else:
            quiet = QUIET if settings.names_quiet is None else settings.names_quiet
            self.names = Directory(client, on_change=self._names_changed, quiet=quiet,
                                   max_wait=max(quiet, MAX_WAIT if quiet else 0.0))
        self.follow = FollowView(self, interval=settings.follow_interval,
                                 sleep=settings.follow_sleep, clock=settings.now)
        self._wanted_detail: str | None = None
        self._detail_timer: Timer | None = None
        self._unsubscribe_retries: Callable[[], None] | None = None
        #: The last Close web link made by ``o``.
        self.last_link = ""
        self.export_screen: ExportScreen | None = None
        self._export_job = 0
        #: "wide", "narrow" or "overlay" (see _arrange).
        self.arrangement = ""
        #: The user's choice (d): the detail pane is shown (beside the table).
        self.detail_open = True
        #: On a screen too narrow for both: the detail pane is up, over the table.
        self.overlay_up = False

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        settings = self.settings
        names = self.names
        yield FilterForm(
            now=settings.now, local_tz=settings.local_tz, id="form",
            searches={"lead_id": names.search_leads, "user_id": names.search_users},
            search_note=lambda: getattr(names, "finder_note", ""),
            any_combination=self.reads_archive,
        )
        yield Breadcrumb(id="breadcrumb")
        yield LocalFilterBar(id="local-filter")
        with Horizontal(id="main"):
            yield ExplorerTable(id="events", now=settings.now, tz=settings.local_tz,
                                flash_seconds=settings.flash_seconds)
            yield EventDetail(format_time=self.format_time, id="detail")
        yield StatusBar(id="status")
        yield Footer()
        yield KeyBar(id="key-bar")

    @property
    def table(self) -> ExplorerTable:
        return self.query_one(ExplorerTable)

    @property
    def detail(self) -> EventDetail:
        return self.query_one(EventDetail)

    @property
    def form(self) -> FilterForm:
        return self.query_one(FilterForm)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def breadcrumb(self) -> Breadcrumb:
        return self.query_one(Breadcrumb)

    @property
    def local_bar(self) -> LocalFilterBar:
        return self.query_one(LocalFilterBar)

    @property
    def close_app(self) -> CloseTuiApp:
        from close_tui.ui.app import CloseTuiApp

        app = self.app
        assert isinstance(app, CloseTuiApp)
        return app

    # ----------------------------------------------------------------- the current view
    @property
    def feed(self) -> ViewFeed:
        """The feed of the view on screen."""
        entry = self.history.current
        assert entry is not None, "the explorer shows no view yet"
        return entry.feed

    @property
    def current_filter(self) -> EventFilter:
        return self.feed.filter

    def on_mount(self) -> None:
        self._unsubscribe_retries = self.client.retry_listeners.add(self._retrying)
        self.status.set(organization=self.organization or "…")
        if self.reads_archive:
            self.status.set(request=f"archive {Path(str(getattr(self.source, 'path', ''))).name}: ")
        self.watch(self.table, "time_mode", self._time_mode_changed, init=False)
        if self.reads_archive:  # every name the archive has, at once
            self.table.set_names(self.names.names())
            self.form.set_names(self.names.names())
            self.detail.set_names(self.names.names())
        self.apply_filter(self.settings.initial_filter)
        self.set_focus(self.table)

    def on_unmount(self) -> None:
        """This session is over (sign-in again, profile switch, quit): stop listening,
        stop following, stop the name look-ups (workers stop with the screen)."""
        if self._unsubscribe_retries is not None:
            self._unsubscribe_retries()
            self._unsubscribe_retries = None
        self.follow.follower = None
        self.names.on_change = None
        self.names.reset()

    def set_organization(self, name: str, error: str = "") -> None:
        self.organization = name
        self.status.set(organization=name)
        if error:
            self.status.set(error=error)

    def on_resize(self) -> None:
        self._arrange()

    def _arrange(self) -> None:
        """Side by side when there is room; below ``NARROW_WIDTH`` the detail pane leaves
        the table the width of TIME, ACTION and a summary; below ``OVERLAY_WIDTH`` it opens
        over the table. Below ``FOOTER_WIDTH`` a key bar that fits its keys replaces the
        footer (whose last keys, help and quit, would be cut)."""
        width = self.size.width
        layout = "wide" if width >= NARROW_WIDTH else (
            "narrow" if width >= OVERLAY_WIDTH else "overlay")
        detail = self.detail
        if layout == "narrow":
            detail.styles.width = max(28, min(int(width * 0.4), width - NARROW_TABLE_MIN))
        elif self.arrangement == "narrow":
            detail.styles.clear_rule("width")
        self.set_class(width < FOOTER_WIDTH, "-key-bar")
        # On a short terminal the form is one line (the active filter in words) until
        # focus enters it: the rows are what the user came for.
        self.form.collapsed = self.size.height < SHORT_HEIGHT
        if layout != self.arrangement:
            self.set_class(layout == "narrow", "-narrow")
            self.set_class(layout == "overlay", "-overlay")
            self.arrangement = layout
            self.overlay_up = False
            self._apply_detail()

    def _apply_detail(self) -> None:
        """Show the table and the detail pane as the layout and the user's choice say."""
        table, detail = self.table, self.detail
        if self.arrangement == "overlay":
            table.display = not self.overlay_up
            detail.display = self.overlay_up
        else:
            table.display = True
            detail.display = self.detail_open
        if not table.display and self.focused is table:
            self._focus_detail()

    def open_detail(self, event_id: str | None) -> None:
        """Enter, a click, ``d`` on the table: the detail pane shows ``event_id`` (over the
        table on a narrow screen, where it also takes the focus)."""
        if self.arrangement == "overlay":
            self.overlay_up = True
        else:
            self.detail_open = True
        self._apply_detail()
        if event_id:
            self.show_detail(event_id)
        if self.arrangement == "overlay":
            self._focus_detail()

    def close_detail(self) -> None:
        """``d`` or Esc in the detail pane: hide it; the focus goes to the table (never to
        nothing, or to the form, where the next letters would become a query)."""
        if self.arrangement == "overlay":
            self.overlay_up = False
        else:
            self.detail_open = False
        self._apply_detail()
        self.set_focus(self.table)

    def action_close_detail(self) -> None:
        self.close_detail()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close_detail":  # the screen's Esc: only while the overlay is up
            return self.arrangement == "overlay" and self.overlay_up
        return True

    def _focus_detail(self) -> None:
        """Focus what the detail pane shows (its JSON or its changes), if anything."""
        detail = self.detail
        if not detail.display or detail.has_focus_within:
            return
        json_lines = detail.json_view.lines
        if detail.active_tab == "json" and json_lines.focusable:
            self.set_focus(json_lines)
            return
        for widget in detail.query("#changes-scroll"):
            if widget.focusable:
                self.set_focus(widget)
                return

    # ----------------------------------------------------------------- jobs
    def run_job(
        self,
        work: Callable[[], Awaitable[Message | None]],
        *,
        group: str,
        failed: Callable[[BaseException], Message],
        cancelled: Callable[[], Message] | None = None,
        exclusive: bool = True,
    ) -> Worker[None]:
        """Run ``work`` (I/O only) in a worker and post what it returns; any exception
        becomes ``failed(exc)``, a cancellation ``cancelled()``: no job ends unseen."""

        async def job() -> None:
            try:
                result = await work()
            except asyncio.CancelledError:
                if cancelled is not None:
                    self.post_message(cancelled())
                raise
            except Exception as exc:
                self.post_message(failed(exc))
                return
            if result is not None:
                self.post_message(result)

        return self.run_worker(job, group=group, exclusive=exclusive, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.close_app.show_failure(f"{worker.group or worker.name} failed", worker.error)

    # ----------------------------------------------------------------- time
    def format_time(self, when: datetime) -> str:
        mode = self.table.time_mode
        if mode == "utc":
            return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if mode == "relative":
            return relative_time(int((self.settings.now() - when).total_seconds()))
        tz = self.settings.local_tz
        local = when.astimezone(tz) if tz else when.astimezone()
        return local.strftime("%Y-%m-%d %H:%M:%S %Z").strip()

    def _time_mode_changed(self, mode: str) -> None:
        if self.detail.event is not None:
            self.detail.show_event(self.detail.event)
        self.notify(f"Times: {mode}", timeout=1.5)

    # ----------------------------------------------------------------- views & history
    def apply_filter(
        self, flt: EventFilter, *, predicate: str = "", crumb: Crumb | None = None
    ) -> None:
        """Go to a new view: ``flt``'s events from the newest (a step in the history)."""
        try:
            feed = ViewFeed(self.source, flt, predicate)
        except Exception as exc:  # an unsupported filter (a damaged saved view, say)
            self.notify(error_text(exc), severity="error", markup=False)
            return
        self.follow.stop(quiet=True)
        self._leave_view()
        self.history.push(ViewEntry(feed, crumb or filter_crumb(flt)))
        self._show_feed(feed)
        if self.settings.on_filter_applied is not None:
            self.settings.on_filter_applied(flt)

    def _leave_view(self) -> None:
        """Keep what the current view shows, so Back can restore it without a request."""
        entry = self.history.current
        if entry is None:
            return
        feed = entry.feed
        if feed.loading:
            # The page in flight is abandoned; the pager asks for it again next time (a
            # page that still arrives is kept in the feed, see on_page_loaded).
            self.workers.cancel_group(self, "pages")
            feed.page_abandoned()
        table = self.table
        feed.keep(table.all_rows(), table.cursor_index, table.scroll_y)
        self.history.enforce_budget()

    def _show_feed(self, feed: ViewFeed) -> None:
        """Put ``feed`` on screen: as it was left (rows, cursor, scroll) or from the newest."""
        table = self.table
        table.clear()
        # One lead's view: every row would name the same lead; its cells go to USER.
        table.show_lead_column = feed.filter.lead_id is None
        restored = feed.rows is not None
        if feed.rows is not None:
            table.append_rows(feed.rows)
            table.append_events(feed.take_unshown())
            if feed.cursor is not None and table.row_count:
                table.move_cursor(feed.cursor)
            table.scroll_to(y=feed.scroll_y, animate=False, immediate=True)
            feed.rows = None  # the table holds them while the view is shown
        self.form.set_filter(feed.filter)
        self._draw_trail()
        self._draw_paging()
        if table.row_count == 0 and feed.phase in ("end", "empty"):
            self._clear_detail()
        if not restored:  # a restored view pages on only if the table asks (NearEnd)
            self.load_more()

    def _restore(self, entry: ViewEntry) -> None:
        feed = entry.feed
        if not feed.restorable:  # its rows were given up for the memory budget
            feed = entry.feed = feed.fresh()
        self._show_feed(feed)

    def action_history_back(self) -> None:
        if not self.history.can_go_back():
            self.notify("Nothing to go back to", timeout=2)
            return
        self.follow.stop(quiet=True)
        self._leave_view()
        entry = self.history.back()
        assert entry is not None
        self._restore(entry)

    def action_history_forward(self) -> None:
        if not self.history.can_go_forward():
            self.notify("Nothing to go forward to", timeout=2)
            return
        self.follow.stop(quiet=True)
        self._leave_view()
        entry = self.history.forward()
        assert entry is not None
        self._restore(entry)

    def crumb_label(self, crumb: Crumb) -> str:
        kind, value = crumb.kind, crumb.value
        if kind == "all":
            return "All events"
        name = self.names.name(value) if value else None
        if kind in ("lead", "user"):
            return f"{kind} {name or short_id(value)}"
        if kind == "object":
            return f"{crumb.detail or 'object'} {short_id(value)}"
        if kind == "request":
            return f"request {short_id(value)}"
        if kind in ("view", "where"):
            return f"{kind} {value}"
        return value

    def _draw_trail(self) -> None:
        self.breadcrumb.set_trail([self.crumb_label(e.crumb) for e in self.history.trail])

    # ----------------------------------------------------------------- paging
    def load_more(self) -> None:
        """Fetch the next page, unless one is in flight, the log has ended, an error is
        shown (r retries) or the user stopped a local scan."""
        feed = self.feed
        if not feed.begin_page():
            return
        self._draw_paging()
        generation, source = feed.generation, self.source

        async def fetch() -> Message:
            async with feed.gate:  # a cancelled request of this pager has unwound first
                events = await feed.pager.next_page()
            return PageLoaded(generation, events, sent_query(source))

        self.run_job(
            fetch, group="pages",
            failed=lambda exc: PageFailed(generation, exc, sent_query(source)),
            cancelled=lambda: PageCancelled(generation),
        )

    def _feed_of(self, generation: int) -> ViewFeed | None:
        for entry in self.history.entries:
            if entry.feed.generation == generation:
                return entry.feed
        return None

    def on_page_loaded(self, message: PageLoaded) -> None:
        feed = self._feed_of(message.generation)
        if feed is None:
            return  # a page of a view that is gone (refreshed, or out of the history)
        self.learn_names(message.events)
        kept = feed.page_loaded(message.events, message.query)
        if feed is not self.feed:
            feed.unshown.extend(kept)  # the view was left: shown when the user comes back
            return
        self.table.append_events(kept)
        self._draw_paging()
        self.after_request()
        if self.table.row_count == 0 and feed.phase == "empty":
            self._clear_detail()
        elif self.table.wants_more:
            # The screen is not full yet (small pages, a rare local match): go on now,
            # so the status says "scanning", never "scroll for more" between two pages.
            self.load_more()

    def on_page_failed(self, message: PageFailed) -> None:
        feed = self._feed_of(message.generation)
        if feed is None:
            return
        text = error_text(message.error)
        feed.page_failed(text, message.query)
        if feed is not self.feed:
            return
        self._draw_paging()
        self.after_request()
        if isinstance(message.error, errors.AuthError) and message.error.status == 401:
            self.close_app.request_login(f"The API refused the key: {text}")

    def on_page_cancelled(self, message: PageCancelled) -> None:
        feed = self._feed_of(message.generation)
        if feed is not None and feed.loading:
            feed.page_abandoned()
            if feed is self.feed:
                self._draw_paging()

    def _draw_paging(self) -> None:
        """The footer line, the status line and the local filter's line, from the feed."""
        feed, table = self.feed, self.table
        state, text = feed.footer()
        table.set_footer(state, text)
        self.status.set(rows=table.row_count, paging=feed.paging_text, error=feed.error,
                        query=feed.sent_query or (feed.filter.describe() if self.reads_archive
                                                  else query_preview(feed.filter)),
                        activity="" if feed.phase != "loading" else self.status.info.activity)
        scanning = feed.phase == "more" and not feed.scan_stopped and table.wants_more
        self.local_bar.set_status(feed.local_status(table.row_count, scanning=scanning))

    def after_request(self) -> None:
        """A request ended: the rate budget it reported, no retry under way."""
        self.status.set(rate=rate_text(self.client), activity="")

    def _retrying(self, notice: RetryNotice) -> None:
        # Called by the client inside a worker: only post (the handler draws).
        self.post_message(Retrying(notice))

    def on_retrying(self, message: Retrying) -> None:
        self.status.set(activity=message.notice.describe())
        self.follow.retrying(message.notice)

    @on(EventTable.NearEnd)
    def _near_end(self, _: EventTable.NearEnd) -> None:
        self.load_more()

    # ----------------------------------------------------------------- names
    def learn_names(self, events: Sequence[Event]) -> None:
        """Names from the events themselves (no request); what is still unnamed is looked
        up in the background by the directory, within its share of the rate limit (one
        batched search per page at most, users in one request)."""
        if events:
            self.names.see(events)

    def _names_changed(self) -> None:
        # Called by the directory, possibly inside a worker: only post.
        self.post_message(NamesChanged())

    def on_names_changed(self, _: NamesChanged) -> None:
        names = self.names.names()
        self.table.set_names(names)
        self.form.set_names(names)
        self.detail.set_names(names)
        self._draw_trail()
        self.status.set(names=self.names.status_text)
        self.after_request()  # a look-up ended: the rate budget it reported

    # ----------------------------------------------------------------- form
    @on(FilterForm.Applied)
    def _applied(self, message: FilterForm.Applied) -> None:
        self.apply_filter(message.filter)
        self.set_focus(self.table)

    @on(FilterForm.Leave)
    def _leave_form(self, _: FilterForm.Leave) -> None:
        self.set_focus(self.table)

    @on(FilterForm.Notice)
    def _form_notice(self, message: FilterForm.Notice) -> None:
        self.notify(message.text, severity=message.severity, markup=False)

    def clear_filter(self) -> None:
        self.form.clear()
        self.apply_filter(EventFilter())

    # ----------------------------------------------------------------- pivots
    def action_pivot(self, kind: str) -> None:
        """``L``/``O``/``R``/``U``: this lead's, object's, request's or user's events."""
        event_id = self._target_event_id()
        if not event_id:
            self.notify("Highlight an event first", severity="warning", timeout=2)
            return
        event = self._known_event(event_id)
        if event is not None:
            self._pivot_on(kind, event)
            return
        source = self.source

        async def fetch() -> Message:
            return PivotReady(kind, await source.get_event(event_id))

        self.run_job(fetch, group="pivot",
                     failed=lambda exc: PivotFailed(kind, event_id, exc))

    def on_pivot_ready(self, message: PivotReady) -> None:
        self.details.put(message.event)
        self._pivot_on(message.kind, message.event)

    def on_pivot_failed(self, message: PivotFailed) -> None:
        self.notify(f"Cannot pivot: {error_text(message.error)}", severity="error",
                    markup=False)

    def _known_event(self, event_id: str) -> Event | None:
        shown = self.detail.event
        if shown is not None and shown.id == event_id:
            return shown
        return self.details.get(event_id)

    def _pivot_on(self, kind: str, event: Event) -> None:
        try:
            pivot = pivot_from_event(kind, event)
        except NoPivot as exc:
            self.notify(str(exc), severity="warning", markup=False, timeout=3)
            return
        self.go_to_pivot(pivot)

    def go_to_pivot(self, pivot: Pivot) -> None:
        if pivot.filter == self.current_filter and not self.feed.predicate_text:
            self.notify("Already showing these events", timeout=2)
            return
        self.apply_filter(pivot.filter, crumb=Crumb(pivot.kind, pivot.value, pivot.object_type))
        self.set_focus(self.table)

    @on(JsonView.PivotRequested)
    def _json_pivot(self, message: JsonView.PivotRequested) -> None:
        message.stop()
        try:
            pivot = pivot_from_field(message.field, message.value,
                                     object_type=message.object_type)
        except NoPivot as exc:
            self.notify(str(exc), severity="warning", markup=False, timeout=3)
            return
        self.go_to_pivot(pivot)

    def action_open_web(self) -> None:
        """``o``: the lead's page in Close, as a terminal hyperlink and on the clipboard."""
        lead_id = self._target_lead_id()
        if not lead_id:
            self.notify("This event has no lead", severity="warning", timeout=2)
            return
        if not _LEAD_ID.match(lead_id):
            self.notify("This lead id does not look like one; no link made",
                        severity="warning", timeout=3)
            return
        url = CLOSE_WEB_LEAD.format(lead_id=lead_id)
        self.app.copy_to_clipboard(url)
        self.last_link = url
        # Safe as markup: url is built from a checked id and a constant.
        self.notify(f'[link="{url}"]{url}[/link]\n(copied)', title="Lead in Close", timeout=8)

    def _focus_in_detail(self) -> bool:
        return self.detail.has_focus_within

    def _target_lead_id(self) -> str | None:
        if self._focus_in_detail():
            event = self.detail.event
            return event.lead_id if event is not None else None
        index = self.table.cursor_index
        return None if index is None else self.table.row_at(index).lead_id

    def _target_event_id(self) -> str | None:
        if self._focus_in_detail():
            return self.detail.event_id
        return self.table.cursor_event_id

    # ----------------------------------------------------------------- restore
    def action_restore(self) -> None:
        """``u``: the plan to re-create the deleted lead or object behind the highlighted
        ``deleted`` event, in a modal; nothing is written before the user confirms."""
        if self.reads_archive:
            self.notify("Restore writes through the API; this view is the archive (run "
                        "close-tui without --archive to restore)", severity="warning",
                        markup=False, timeout=6)
            return
        from close_tui.core.restore.job import RestoreJob
        from close_tui.ui.screens.restore import RestoreScreen

        event_id = self._target_event_id()
        if not event_id:
            self.notify("Highlight a deleted event first", severity="warning", timeout=2)
            return
        if self._target_action() not in ("deleted", None):
            self.notify("Restore works on a 'deleted' event", severity="warning", timeout=3)
            return
        # Writes go to the API whatever the view's source is (an archive only reads).
        self.app.push_screen(RestoreScreen(RestoreJob(self.client, event_id=event_id)))

    def show_lead(self, lead_id: str) -> None:
        """This lead's events, as the ``L`` pivot shows them (after a restore, a merge)."""
        self.go_to_pivot(Pivot("lead", lead_id, EventFilter(lead_id=lead_id)))

    def _target_action(self) -> str | None:
        if self._focus_in_detail():
            event = self.detail.event
            return event.action if event is not None else None
        index = self.table.cursor_index
        return None if index is None else self.table.row_at(index).action

    # ----------------------------------------------------------------- live follow
    def action_toggle_follow(self) -> None:
        if self.reads_archive:
            self.notify("Live follow needs the API; this view is the archive (as of its "
                        "last sync: `close-tui archive sync` adds what is new, r reloads)",
                        severity="warning", markup=False, timeout=6)
            return
        self.follow.toggle()

    def on_follow_polled(self, message: FollowPolled) -> None:
        self.follow.polled(message)

    def on_follow_failed(self, message: FollowFailed) -> None:
        self.follow.failed(message)

    @on(ExplorerTable.ReachedTop)
    def _reached_top(self, _: ExplorerTable.ReachedTop) -> None:
        if self.follow.pending:
            self.follow.flush(to_top=True)

    @on(ExplorerTable.WantsMore)
    def _wants_more(self, _: ExplorerTable.WantsMore) -> None:
        if self.feed.resume_scan():
            self._draw_paging()
            self.load_more()

    # ----------------------------------------------------------------- local predicate
    def action_local_filter(self) -> None:
        self.local_bar.open(self.feed.predicate_text)

    @on(LocalFilterBar.Submitted)
    def _predicate_submitted(self, message: LocalFilterBar.Submitted) -> None:
        self.local_bar.close()
        self.set_focus(self.table)
        self.set_local_filter(message.text)

    @on(LocalFilterBar.Cancelled)
    def _predicate_cancelled(self, _: LocalFilterBar.Cancelled) -> None:
        self.local_bar.close()
        self.set_focus(self.table)

    def set_local_filter(self, text: str) -> None:
        """Show only the events matching ``text`` (a step in the history); ``""`` clears."""
        predicate = parse(text)
        canonical = predicate.describe()
        feed = self.feed
        if canonical == feed.predicate_text:
            return
        if not predicate:
            history = self.history
            previous = history.entries[history.index - 1] if history.can_go_back() else None
            if (previous is not None and previous.feed.filter == feed.filter
                    and not previous.feed.predicate_text):
                self.action_history_back()  # the unfiltered list is still there
                return
            self.apply_filter(feed.filter, crumb=filter_crumb(feed.filter))
            return
        self.apply_filter(feed.filter, predicate=canonical, crumb=Crumb("where", canonical))

    def action_stop_scan(self) -> None:
        """Esc on the table: stop paging for local matches (End resumes)."""
        feed = self.feed
        if feed.stop_scan():
            if feed.loading:
                self.workers.cancel_group(self, "pages")
                feed.page_abandoned()
            self._draw_paging()

    # ----------------------------------------------------------------- saved views
    def save_view(self, name: str) -> None:
        feed = self.feed
        view = SavedView(params=feed.filter.to_params(), predicate=feed.predicate_text)
        try:
            self.views.save(name, view)
        except Exception as exc:  # a read-only config: say so, keep going
            self.notify(f"Could not save the view: {error_text(exc)}", severity="error",
                        markup=False)
            return
        self.notify(f"Saved view {name}", timeout=2, markup=False)

    def open_view(self, name: str) -> None:
        try:
            view = self.views.load().get(name)
            if view is None:
                raise KeyError(name)
            flt = EventFilter.from_params(view.params)
            if self.reads_archive and view.params.get("search"):
                from close_tui.core.archive.query import archive_filter

                flt = archive_filter(flt, view.params["search"])
            elif not self.reads_archive:  # the archive answers any combination
                flt = flt.validate()
        except Exception as exc:
            self.notify(f"Cannot open view {name}: {error_text(exc)}", severity="error",
                        markup=False)
            return
        self.apply_filter(flt, predicate=parse(view.predicate).describe(),
                          crumb=Crumb("view", name))
        self.set_focus(self.table)

    def delete_view(self, name: str) -> None:
        try:
            self.views.delete(name)
        except Exception as exc:
            self.notify(f"Could not delete view {name}: {error_text(exc)}", severity="error",
                        markup=False)
            return
        self.notify(f"Deleted view {name}", timeout=2, markup=False)

    def action_save_view(self) -> None:
        entry = self.history.current
        suggestion = self.crumb_label(entry.crumb) if entry is not None else ""
        feed = self.feed
        detail = feed.filter.describe()
        if feed.predicate_text:
            detail += f" · local: {feed.predicate_text}"

        def done(name: str | None) -> None:
            if name:
                self.save_view(name)

        self.app.push_screen(NameScreen("Save this view as", value=suggestion, detail=detail),
                             callback=done)

    # ----------------------------------------------------------------- export
    def action_export(self) -> None:
        """Export the current view (server filter, and the local filter if any) to a file."""
        feed = self.feed
        what = f"filter: {feed.filter.describe()}"
        if feed.predicate_text:
            what += f" · local filter: {feed.predicate_text} (applied while writing)"
        stamp = self.settings.now().astimezone(UTC).strftime("%Y%m%d-%H%M%S")
        self.export_screen = ExportScreen(
            what=what,
            default_path=f"close-events-{stamp}.jsonl",
            start=lambda path, fmt: self._start_export(feed, path, fmt),
            cancel=lambda: self.workers.cancel_group(self, "export"),
        )
        self.app.push_screen(self.export_screen)

    def _start_export(self, feed: ViewFeed, path: Path, fmt: str) -> None:
        self._export_job = job = next(_export_jobs)
        client, flt, predicate = self.client, feed.filter, feed.predicate
        archive = None
        if self.reads_archive:  # an archive view exports from the file, any filter
            from close_tui.core.archive.source import ArchiveSource

            archive = feed.source if isinstance(feed.source, ArchiveSource) else None
        written = 0

        async def export() -> Message:
            from close_tui.core.export import open_writer
            from close_tui.core.exporter import export_events
            from close_tui.core.progress import format_progress

            nonlocal written
            try:
                stream = path.open("x", encoding="utf-8", newline="")
            except OSError as exc:
                return ExportFinished(job, f"cannot write {path}: {exc.strerror or exc}",
                                      written=0, cancelled=True)
            try:
                writer = open_writer(fmt, stream)

                class Sink:
                    def write(self, event: Event) -> None:
                        nonlocal written
                        if predicate.matches(event):
                            writer.write(event)
                            written += 1

                def progress(p: Any) -> None:
                    text = format_progress(p, 76) + (f" · {written:,} match" if predicate else "")
                    self.post_message(ExportProgress(job, text))

                if archive is not None:
                    try:
                        read = await archive.write_all(
                            flt, Sink().write, on_page=lambda n: self.post_message(
                                ExportProgress(job, f"{n:,} events read from the archive")))
                    finally:
                        writer.close()
                    return ExportFinished(job, f"done: {written:,} events → {path} (from the "
                                          f"archive, {read:,} read)", written=written)
                try:
                    result = await export_events(client, flt, Sink(), on_progress=progress)
                finally:
                    writer.close()
            finally:
                stream.close()
            return ExportFinished(
                job, f"done: {written:,} events → {path} ({result.bounds.describe()})",
                written=written)

        self.run_job(
            export, group="export",
            failed=lambda exc: ExportFailed(job, exc, written=written, path=str(path)),
            cancelled=lambda: ExportFinished(
                job, f"cancelled: {written:,} events in {path} (partial)",
                written=written, cancelled=True),
        )

    def on_export_progress(self, message: ExportProgress) -> None:
        if message.job == self._export_job and self.export_screen is not None:
            self.export_screen.show_progress(message.text)

    def on_export_finished(self, message: ExportFinished) -> None:
        if message.job != self._export_job or self.export_screen is None:
            return
        self.export_screen.done(message.text)
        if not message.cancelled:
            self.notify(f"Exported {message.written:,} events", markup=False, timeout=4)

    def on_export_failed(self, message: ExportFailed) -> None:
        if message.job != self._export_job or self.export_screen is None:
            return
        self.export_screen.done(f"failed: {error_text(message.error)} "
                                f"({message.written:,} events in {message.path}, partial)")

    # ----------------------------------------------------------------- detail
    @on(EventTable.Highlighted)
    def _highlighted(self, message: EventTable.Highlighted) -> None:
        self._wanted_detail = message.event_id
        if self._detail_timer is not None:
            self._detail_timer.stop()
        if message.index == 0 and self.follow.pending and self.table.at_top:
            self.follow.flush(to_top=True)
            return  # the cursor moved again: its own Highlighted follows
        if not self.detail.display:
            return
        if self.settings.detail_debounce <= 0:
            self.show_detail(message.event_id)
            return
        self._detail_timer = self.set_timer(
            self.settings.detail_debounce, lambda: self.show_detail(message.event_id)
        )

    @on(EventTable.Selected)
    def _selected(self, message: EventTable.Selected) -> None:
        self.open_detail(message.event_id)

    def show_detail(self, event_id: str, *, refetch: bool = False) -> None:
        self._wanted_detail = event_id
        cached = self.details.get(event_id)
        if cached is not None and not refetch and not self._listed_newer(cached):
            self.workers.cancel_group(self, "detail")  # another event's fetch: not wanted
            self.detail.show_event(cached)
            return
        self.detail.show_loading(event_id)
        source = self.source

        async def fetch() -> Message:
            return DetailLoaded(await source.get_event(event_id))

        self.run_job(fetch, group="detail", failed=lambda exc: DetailFailed(event_id, exc))

    def _listed_newer(self, cached: Event) -> bool:
        """Whether the table lists this event with a newer date_updated (consolidated)."""
        table = self.table
        index = table.cursor_index
        if index is None or table.event_id_at(index) != cached.id:
            index = table.index_of(cached.id)
        if index is None:
            return False
        return table.row_at(index).updated > cached.date_updated.timestamp()

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        self.details.put(message.event)
        self.learn_names([message.event])  # its user, fields and statuses named too
        self.after_request()
        if message.event_id == self._wanted_detail and self.detail.event_id == message.event_id:
            self.detail.show_event(message.event)
            if self.arrangement == "overlay" and self.overlay_up:
                self._focus_detail()

    def on_detail_failed(self, message: DetailFailed) -> None:
        self.after_request()
        if message.event_id != self._wanted_detail or self.detail.event_id != message.event_id:
            return  # the user has moved on: this failure is about nothing on screen
        if isinstance(message.error, errors.NotFound):
            self.detail.show_message(
                message.event_id, "no longer available (events are kept for 30 days)",
                severity="warning")
            return
        text = error_text(message.error)
        self.detail.show_message(message.event_id, text)
        self.status.set(error=text)

    def _clear_detail(self) -> None:
        """No event to show (an empty result): the pane must not keep an unrelated one."""
        self._wanted_detail = None
        self.workers.cancel_group(self, "detail")
        self.detail.show_message("", "no events match this filter", severity="warning")

    # ----------------------------------------------------------------- actions
    def focus_place(self) -> tuple[str, bool]:
        """Where the focus is, for the help: its title, and whether ``/`` is the local
        filter there (on the table) rather than the JSON search (in the detail pane)."""
        node = self.focused
        while node is not None:
            if isinstance(node, FilterForm):
                return "Filter form", False
            if isinstance(node, EventDetail):
                return "Detail pane", False
            if isinstance(node, EventTable):
                return "Event table", True
            node = node.parent  # type: ignore[assignment]
        return "Event table", False

    def action_focus_form(self) -> None:
        self.form.focus_first()

    def action_focus_table(self) -> None:
        if self.arrangement == "overlay" and self.overlay_up:
            self.close_detail()
            return
        self.set_focus(self.table)

    def action_refresh(self) -> None:
        """Reload the current view from the newest event (also retries after an error)."""
        entry = self.history.current
        if entry is None:
            return
        following = self.follow.active
        self.follow.stop(quiet=True)
        self.workers.cancel_group(self, "pages")
        entry.feed = entry.feed.fresh()
        self._show_feed(entry.feed)
        if following:
            self.follow.start()

    def action_refresh_detail(self) -> None:
        if self.detail.event_id:
            self.show_detail(self.detail.event_id, refetch=True)

    def action_toggle_detail(self) -> None:
        if self.detail.display and (self.arrangement != "overlay" or self.detail.has_focus_within
                                    or not self.table.display):
            self.close_detail()
        else:
            self.open_detail(self.table.cursor_event_id)

    def action_cycle_time(self) -> None:
        self.table.cycle_time_mode()

    def action_copy_id(self) -> None:
        event_id = self._target_event_id()
        if event_id:
            self.app.copy_to_clipboard(event_id)
            self.notify(f"Copied {event_id}", timeout=2, markup=False)

    def action_copy_json(self) -> None:
        event = self.detail.event
        if event is None or event.id != self._target_event_id():
            self.notify("Open the event first (Enter) to copy its JSON", severity="warning")
            return
        self.app.copy_to_clipboard(jsonnum.dumps(event.to_api(), indent=2, ensure_ascii=False))
        self.notify(f"Copied JSON of {event.id}", timeout=2, markup=False)

