"""The explorer: filter form, lazily paged event table, detail pane, status bar.

Data flows one way: form -> ``EventFilter`` -> pager -> table rows; a highlighted row
-> ``get_event(id)`` -> detail pane. Each applied filter gets a new *generation*; a page
that arrives for an older generation is dropped, so a slow answer to a query the user
has already replaced can never mix into the table. Exactly one page request is in
flight at a time.

Investigating (the "expert" features) adds four things on top:

* **Views and history.** Every applied filter (from the form, a pivot, a saved view, a
  local predicate) is a :class:`ViewEntry` in a bounded :class:`History`. An entry keeps
  its loaded rows, its pager (cursor), the cursor row and the scroll position, so Back
  and Forward restore a view without a request. The breadcrumb shows the trail.
* **Pivots.** ``L``/``O``/``R``/``U`` (and Enter on an id in the JSON) run the one
  supported filter for this lead, object, request or user.
* **Live follow.** ``F`` runs a :class:`~close_tui.core.follow.Follower` in a worker:
  updated rows change in place (and flash), new ones go on top, or wait behind a
  "+N new" badge while the user looks further down.
* **Local predicates.** ``/`` filters what the server sends on any field; the table
  keeps paging until the screen fills with matches, and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, ClassVar, Protocol

from rich.segment import Segment
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.strip import Strip
from textual.timer import Timer
from textual.widgets import Footer

from close_tui.core import errors, jsonnum
from close_tui.core.client import CloseClient, EventPager
from close_tui.core.config import SavedView
from close_tui.core.credentials import CredentialStore, mask_key
from close_tui.core.filters import EventFilter
from close_tui.core.follow import DEFAULT_INTERVAL, FollowBatch, Follower
from close_tui.core.history import History, NoPivot, Pivot, pivot_from_event, pivot_from_field
from close_tui.core.me import parse_me
from close_tui.core.models import Event
from close_tui.core.names import NameDirectory
from close_tui.core.predicates import Predicate, parse
from close_tui.core.retries import RetryNotice
from close_tui.core.rows import EventRow, short_id
from close_tui.session import Session
from close_tui.ui.keys import Scope, bindings_for
from close_tui.ui.screens.export import ExportScreen
from close_tui.ui.screens.help import HelpScreen
from close_tui.ui.screens.login import LoginResult, LoginScreen
from close_tui.ui.screens.save_view import NameScreen
from close_tui.ui.widgets.breadcrumb import Breadcrumb
from close_tui.ui.widgets.event_detail import EventDetail
from close_tui.ui.widgets.event_table import EventTable, FooterState
from close_tui.ui.widgets.filter_form import FilterForm
from close_tui.ui.widgets.json_view import JsonView
from close_tui.ui.widgets.local_filter import LocalFilterBar
from close_tui.ui.widgets.status_bar import StatusBar

#: How long the highlight must rest on a row before its detail is fetched.
DETAIL_DEBOUNCE = 0.15
#: Fetched events kept for the detail pane (by id).
DETAIL_CACHE = 256
#: How long a row changed by live follow stays highlighted.
FLASH_SECONDS = 1.5
#: Name look-ups wait while fewer requests than this are left in the rate window.
NAME_BUDGET_FLOOR = 5
#: Close's web app: where ``o`` sends the user for a lead.
CLOSE_WEB_LEAD = "https://app.close.com/lead/{lead_id}/"
#: Only ids of this shape go into a link (they come from the API: never trust them).
_LEAD_ID = re.compile(r"lead_[A-Za-z0-9]{1,64}\Z")


@dataclass
class Account:
    """How the app signs in (again) and switches profiles; ``None`` in tests and demos.

    ``make_client(key)`` builds a client for this profile's base URL; ``switch(profile)``
    opens another profile's session (its keyring entry); ``open_demo()`` the emulator.
    """

    profile: str
    base_url: str
    store: CredentialStore
    make_client: Callable[[str], CloseClient]
    switch: Callable[[str], Session]
    open_demo: Callable[[], Session]

    async def check(self, key: str) -> dict[str, Any]:
        client = self.make_client(key)
        try:
            return await client.me()
        finally:
            await client.aclose()


# ---------------------------------------------------------------------------- saved views


class ViewStore(Protocol):
    """Where saved views live: the config file of a profile, or memory (demo, tests)."""

    def load(self) -> dict[str, SavedView]: ...

    def save(self, name: str, view: SavedView | None) -> None: ...


class MemoryViews:
    """Saved views for this run only (no profile to keep them in)."""

    def __init__(self) -> None:
        self.views: dict[str, SavedView] = {}

    def load(self) -> dict[str, SavedView]:
        return dict(self.views)

    def save(self, name: str, view: SavedView | None) -> None:
        if view is None:
            self.views.pop(name, None)
        else:
            self.views[name] = view


class ConfigViews:
    """Saved views of one profile in the non-secret config file."""

    def __init__(self, profile: str, path: Path | None = None) -> None:
        self.profile = profile
        self.path = path

    def load(self) -> dict[str, SavedView]:
        from close_tui.core import config

        return config.get_views(self.profile, self.path)

    def save(self, name: str, view: SavedView | None) -> None:
        from close_tui.core import config

        config.save_view(self.profile, name, view, self.path)


# ---------------------------------------------------------------------------- history


@dataclass
class Crumb:
    """What a view is about, for the breadcrumb; names are looked up when drawn."""

    kind: str  # "all", "filter", "lead", "object", "request", "user", "view", "where"
    value: str = ""
    detail: str = ""


@dataclass
class ViewEntry:
    """One step of the history: a query and, while memory allows, what it had loaded."""

    filter: EventFilter
    predicate: str
    crumb: Crumb
    pager: EventPager | None = None
    rows: list[EventRow] | None = None
    cursor: int | None = None
    scroll_y: float = 0.0
    footer: FooterState = "idle"
    footer_message: str = ""
    scanned: int = 0
    scan_stopped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _entry_weight(entry: ViewEntry) -> int:
    return len(entry.rows) if entry.rows is not None else 0


def _shed_entry(entry: ViewEntry) -> None:
    entry.rows = None
    entry.pager = None


# ---------------------------------------------------------------------------- the table


class ExplorerTable(EventTable):
    """The event table with the explorer's letter keys (active only when it has focus),
    and a brief highlight on rows that live follow changed."""

    BINDINGS: ClassVar = bindings_for("table")
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *EventTable.COMPONENT_CLASSES,
        "explorer-table--flash",
    }
    DEFAULT_CSS = """
    ExplorerTable > .explorer-table--flash { background: $warning 35%; }
    """

    class ReachedTop(Message):
        """Home/g: the user is back at the newest event (resumes a paused follow)."""

    class WantsMore(Message):
        """End/G: the user asks for more (resumes a stopped local scan)."""

    def __init__(self, *, flash_seconds: float = FLASH_SECONDS, **kw: Any) -> None:
        super().__init__(**kw)
        self.flash_seconds = flash_seconds
        self.flashing: set[str] = set()
        self._flash_timer: Timer | None = None

    def action_first(self) -> None:
        super().action_first()
        self.post_message(self.ReachedTop())

    def action_last(self) -> None:
        self.post_message(self.WantsMore())
        super().action_last()

    @property
    def at_top(self) -> bool:
        return self.scroll_y < 1

    def flash(self, event_ids: Iterable[str]) -> None:
        """Highlight these rows for a moment (updated in place, or new)."""
        self.flashing.update(event_ids)
        if self._flash_timer is not None:
            self._flash_timer.stop()
        self._flash_timer = self.set_timer(self.flash_seconds, self._end_flash)
        self.refresh()

    def _end_flash(self) -> None:
        self.flashing.clear()
        self._flash_timer = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if not self.flashing or y == 0:
            return strip
        index = int(self.scroll_y) + y - 1
        if 0 <= index < self.row_count and self.event_id_at(index) in self.flashing:
            style = self.get_component_rich_style("explorer-table--flash", partial=True)
            segments = list(Segment.apply_style(list(strip), post_style=style))
            return Strip(segments, strip.cell_length)
        return strip


def error_text(exc: BaseException) -> str:
    """One line for a failure, never a traceback and never a secret."""
    if isinstance(exc, errors.CloseError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class CloseTuiApp(App[None]):
    """The close-tui explorer."""

    TITLE = "close-tui"
    CSS_PATH = "close_tui.tcss"
    BINDINGS: ClassVar = bindings_for("app")

    def __init__(
        self,
        client: CloseClient | None,
        *,
        account: Account | None = None,
        organization: str | None = None,
        initial_filter: EventFilter | None = None,
        now: Callable[[], datetime] | None = None,
        local_tz: tzinfo | None = None,
        on_filter_applied: Callable[[EventFilter], None] | None = None,
        detail_debounce: float = DETAIL_DEBOUNCE,
        follow_interval: float = DEFAULT_INTERVAL,
        follow_sleep: Callable[[float], Awaitable[None]] | None = None,
        views: ViewStore | None = None,
        history_size: int = 20,
        history_rows: int = 200_000,
        flash_seconds: float = FLASH_SECONDS,
    ) -> None:
        """``follow_interval``/``follow_sleep`` pace live follow (tests inject a sleeper
        they control); ``views`` keeps saved views (default: the profile's config, or
        memory without an account); ``history_size``/``history_rows`` bound what Back
        can restore without a request."""
        super().__init__()
        self.client: CloseClient = client  # type: ignore[assignment]  # set before use
        self.account = account
        self.organization = organization
        self.initial_filter = initial_filter or EventFilter()
        self.now = now or (lambda: datetime.now(UTC))
        self.local_tz = local_tz
        self.on_filter_applied = on_filter_applied
        self.detail_debounce = detail_debounce
        self.follow_interval = follow_interval
        self.follow_sleep = follow_sleep or asyncio.sleep
        self.flash_seconds = flash_seconds
        self.views: ViewStore = views or (
            ConfigViews(account.profile) if account is not None else MemoryViews()
        )
        self.current_filter = self.initial_filter
        self.generation = 0
        self.pager: EventPager | None = None
        self.loading = False
        self.last_error = ""
        self._detail_cache: OrderedDict[str, Event] = OrderedDict()
        self._detail_timer: Timer | None = None
        self._wanted_detail: str | None = None
        self.history: History[ViewEntry] = History(
            max_entries=history_size, row_budget=history_rows,
            weight=_entry_weight, shed=_shed_entry,
        )
        # Local predicate state of the current view.
        self.predicate_text = ""
        self.predicate = Predicate()
        self.scanned = 0
        self.scan_stopped = False
        # Live follow state.
        self.follower: Follower | None = None
        self.pending: OrderedDict[str, Event] = OrderedDict()
        self.follow_polls = 0
        self.follow_error = ""
        #: Names of users and leads (from the events, /user/ and /lead/{id}/): made per
        #: client in :meth:`start`.
        self.names: NameDirectory | None = None
        self._users_requested = False
        #: The last Close web link made by ``o``.
        self.last_link = ""
        self.export_screen: ExportScreen | None = None

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield FilterForm(now=self.now, local_tz=self.local_tz, id="form")
        yield Breadcrumb(id="breadcrumb")
        yield LocalFilterBar(id="local-filter")
        with Horizontal(id="main"):
            yield ExplorerTable(id="events", now=self.now, tz=self.local_tz,
                                flash_seconds=self.flash_seconds)
            yield EventDetail(format_time=self.format_time, id="detail")
        yield StatusBar(id="status")
        yield Footer()

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

    def on_mount(self) -> None:
        if self.client is None:
            self.request_login(None)
            return
        self.start()

    def start(self) -> None:
        """Show the log of ``self.client``'s organization from ``initial_filter``."""
        self.stop_follow(quiet=True)
        self.client.retry_listeners.add(self._on_retry)
        if self.names is not None:
            self.names.reset()
        self.names = NameDirectory(self.client, on_change=self._names_changed)
        self._users_requested = False
        self.status.set(organization=self.organization or "…")
        self.history = History(
            max_entries=self.history.max_entries, row_budget=self.history.row_budget,
            weight=_entry_weight, shed=_shed_entry,
        )
        self.apply_filter(self.initial_filter)
        self.table.focus()
        if self.organization is None:
            self._load_organization()

    # ----------------------------------------------------------------- sign-in
    def request_login(self, reason: str | None) -> None:
        """Show the login screen (no key yet, or the API refused the key)."""
        account = self.account
        if account is None or isinstance(self.screen, LoginScreen):
            return
        self.push_screen(
            LoginScreen(profile=account.profile, base_url=account.base_url,
                        check=account.check, store=account.store, reason=reason),
            callback=self._logged_in,
        )

    def _logged_in(self, result: LoginResult | None) -> None:
        account = self.account
        if result is None or account is None:
            return
        if result.demo:
            session = account.open_demo()
            self.client, self.organization = session.client, session.organization
        else:
            assert result.key is not None
            self.client = account.make_client(result.key)
            self.organization = parse_me(result.me).organization_label
            if result.stored:
                self.notify(f"Key stored in the keyring for profile {account.profile}",
                            markup=False)
            else:
                self.notify("Key kept in memory for this run only", severity="warning")
        self.start()

    def switch_profile(self, profile: str) -> None:
        account = self.account
        if account is None:
            return
        try:
            session = account.switch(profile)
        except Exception as exc:  # no key, keyring locked: say so, keep the current one
            self.notify(error_text(exc), severity="error", markup=False)
            return
        self.client, self.organization = session.client, session.organization
        self.account = replace(account, profile=profile)
        if isinstance(self.views, ConfigViews):
            self.views = ConfigViews(profile, self.views.path)
        self.initial_filter = _profile_filter(profile)
        self.start()

    # ----------------------------------------------------------------- time
    def format_time(self, when: datetime) -> str:
        mode = self.table.time_mode
        if mode == "utc":
            return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if mode == "relative":
            seconds = int((self.now() - when).total_seconds())
            return _relative(seconds)
        local = when.astimezone(self.local_tz) if self.local_tz else when.astimezone()
        return local.strftime("%Y-%m-%d %H:%M:%S %Z").strip()

    # ----------------------------------------------------------------- views & history
    def apply_filter(
        self, flt: EventFilter, *, predicate: str = "", crumb: Crumb | None = None
    ) -> None:
        """Go to a new view: ``flt``'s events from the newest (a step in the history)."""
        self.stop_follow(quiet=True)
        self._save_current()
        entry = ViewEntry(flt, predicate, crumb or _filter_crumb(flt))
        self.history.push(entry)
        self._load(flt, predicate)
        self._draw_trail()
        if self.on_filter_applied is not None:
            self.on_filter_applied(flt)
        if self.account is not None:
            _remember_filter(self.account.profile, flt)

    def _load(self, flt: EventFilter, predicate: str) -> None:
        """Show ``flt`` from the newest, dropping whatever was loading."""
        self.current_filter = flt
        self._set_predicate(predicate)
        self.generation += 1
        self.workers.cancel_group(self, "pages")
        self.pager = self.client.pager(flt)
        self.loading = False
        self.table.clear()
        self.status.set(rows=0, paging="", error="", query=_query_preview(flt))
        self.last_error = ""
        self.form.set_filter(flt)
        self.load_more()

    def _set_predicate(self, text: str) -> None:
        self.predicate_text = text.strip()
        self.predicate = parse(self.predicate_text)
        self.scanned = 0
        self.scan_stopped = False
        self._draw_local_status()

    def _save_current(self) -> None:
        """Keep what the current view loaded, so Back can restore it without a request."""
        entry = self.history.current
        if entry is None:
            return
        table = self.table
        if self.loading:
            # The page in flight is abandoned; the pager resends its cursor next time.
            self.workers.cancel_group(self, "pages")
            self.loading = False
        pager = self.pager
        entry.pager = pager
        entry.rows = [table.row_at(i) for i in range(table.row_count)]
        entry.cursor = table.cursor_index
        entry.scroll_y = table.scroll_y
        state = table.footer_state
        if state == "loading":
            state = "end" if pager is not None and pager.exhausted else "more"
        entry.footer, entry.footer_message = state, table.footer_message
        entry.scanned, entry.scan_stopped = self.scanned, self.scan_stopped
        entry.predicate = self.predicate_text
        self.history.enforce_budget()

    def _restore(self, entry: ViewEntry) -> None:
        """Show a view of the history as it was left: rows, cursor, scroll; no request
        unless its rows were given up to stay within the memory budget."""
        if entry.rows is None or entry.pager is None:
            self._load(entry.filter, entry.predicate)
            self._draw_trail()
            return
        self.current_filter = entry.filter
        self._set_predicate(entry.predicate)
        self.scanned, self.scan_stopped = entry.scanned, entry.scan_stopped
        self.generation += 1
        self.workers.cancel_group(self, "pages")
        self.pager = entry.pager
        self.loading = False
        self.last_error = ""
        table = self.table
        table.clear()
        table.append_rows(entry.rows)
        table.set_footer(entry.footer, entry.footer_message)
        if entry.cursor is not None and table.row_count:
            table.move_cursor(entry.cursor)
        table.scroll_to(y=entry.scroll_y, animate=False, immediate=True)
        paging = {"end": "end of log", "error": "stopped"}.get(entry.footer, "more available")
        self.status.set(rows=table.row_count, paging=paging, error=entry.footer_message,
                        query=_query_preview(entry.filter))
        self.form.set_filter(entry.filter)
        self._draw_local_status()
        self._draw_trail()

    def action_history_back(self) -> None:
        if not self.history.can_go_back():
            self.notify("Nothing to go back to", timeout=2)
            return
        self.stop_follow(quiet=True)
        self._save_current()
        entry = self.history.back()
        assert entry is not None
        self._restore(entry)

    def action_history_forward(self) -> None:
        if not self.history.can_go_forward():
            self.notify("Nothing to go forward to", timeout=2)
            return
        self.stop_follow(quiet=True)
        self._save_current()
        entry = self.history.forward()
        assert entry is not None
        self._restore(entry)

    def crumb_label(self, crumb: Crumb) -> str:
        kind, value = crumb.kind, crumb.value
        if kind == "all":
            return "All events"
        name = self.names.name(value) if self.names is not None and value else None
        if kind in ("lead", "user"):
            return f"{kind} {name or short_id(value)}"
        if kind == "object":
            return f"{crumb.detail or 'object'} {short_id(value)}"
        if kind == "request":
            return f"request {short_id(value)}"
        if kind == "view":
            return f"view {value}"
        if kind == "where":
            return f"where {value}"
        return value

    def _draw_trail(self) -> None:
        self.breadcrumb.set_trail([self.crumb_label(e.crumb) for e in self.history.trail])

    # ----------------------------------------------------------------- paging
    def load_more(self) -> None:
        """Fetch the next page, unless one is in flight, the log has ended, or the user
        stopped a local scan."""
        pager = self.pager
        if pager is None or self.loading or pager.exhausted or self.scan_stopped:
            return
        self.loading = True
        self.table.set_footer("loading")
        self.status.set(paging="loading…")
        self._fetch_page(self.generation, pager)

    @work(group="pages", exclusive=True, exit_on_error=False)
    async def _fetch_page(self, generation: int, pager: EventPager) -> None:
        try:
            events = await pager.next_page()
        except RuntimeError:  # the pager is still finishing a cancelled request
            if generation == self.generation:
                self.loading = False
                self.set_timer(0.05, self.load_more)
            return
        except Exception as exc:  # shown, never crashed on
            if generation == self.generation:
                self.loading = False
                self._show_page_error(exc)
            return
        if generation != self.generation:
            return  # a page for a filter no longer shown
        self.loading = False
        self._learn_names(events)
        if self.predicate:
            self.scanned += len(events)
            events = [event for event in events if self.predicate.matches(event)]
        self.table.append_events(events)
        self._after_request()
        if pager.exhausted:
            self.table.set_footer("end")
            self.status.set(paging="end of log", rows=self.table.row_count, error="")
        else:
            self.status.set(paging="more available", rows=self.table.row_count, error="")
            # The table posts NearEnd from here when the rows do not yet reach a page
            # past the screen (small or empty pages) or the user is already near the
            # end: the viewport keeps filling without a keypress. With a local predicate
            # that is what "keep scanning until the screen is full of matches" means.
            self.table.set_footer("more")
        self._draw_local_status()

    def _show_page_error(self, exc: BaseException) -> None:
        message = error_text(exc)
        if isinstance(exc, errors.AuthError) and exc.status == 401:
            self.request_login(f"The API refused the key: {message}")
        self.last_error = message
        self.table.set_footer("error", message)
        self.status.set(paging="stopped", error=message, activity="")
        self._after_request()
        self._draw_local_status()

    def _after_request(self) -> None:
        self.status.set(query=self.client.last_event_query or self.status.info.query,
                        rate=_rate_text(self.client), activity="")

    def _on_retry(self, notice: RetryNotice) -> None:
        self.status.set(activity=notice.describe())
        if self.follower is not None and notice.rate_limited:
            self.follower.rate_limited(notice.delay)

    def _learn_names(self, events: Sequence[Event]) -> None:
        """Names from the events themselves (no request), then the leads still unnamed
        looked up in the background (each lead once; the directory keeps them)."""
        names = self.names
        if names is None or not events:
            return
        names.learn(events)
        if not self._budget_allows_names():
            return
        if not self._users_requested:
            self._users_requested = True
            self._load_users(names)
        unnamed = {e.lead_id for e in events if e.lead_id and names.name(e.lead_id) is None}
        if unnamed:
            self._resolve_leads(names, unnamed)

    def _budget_allows_names(self) -> bool:
        """Names are hints: look them up only while the rate budget is comfortable, so
        they never cost the user a 429 on the requests that matter (pages, details)."""
        rate = self.client.rate_limit
        if rate is None or rate.limit is None or rate.remaining is None:
            return False  # nothing known yet: the first page tells
        return rate.remaining >= max(NAME_BUDGET_FLOOR, rate.limit // 4)

    @work(group="names", exit_on_error=False)
    async def _resolve_leads(self, names: NameDirectory, lead_ids: set[str]) -> None:
        await names.resolve_leads(lead_ids)

    @work(group="names", exit_on_error=False)
    async def _load_users(self, names: NameDirectory) -> None:
        await names.users()

    def _names_changed(self) -> None:
        names = self.names
        tables = self.query(ExplorerTable)
        if names is None or not tables:
            return  # not composed yet (or shutting down)
        tables.first().set_names(names.names())
        self._draw_trail()

    @on(EventTable.NearEnd)
    def _near_end(self, _: EventTable.NearEnd) -> None:
        self.load_more()

    @on(FilterForm.Applied)
    def _applied(self, message: FilterForm.Applied) -> None:
        self.apply_filter(message.filter)
        self.table.focus()

    @on(FilterForm.Leave)
    def _leave_form(self, _: FilterForm.Leave) -> None:
        self.table.focus()

    @on(FilterForm.Notice)
    def _form_notice(self, message: FilterForm.Notice) -> None:
        self.notify(message.text, severity=message.severity, markup=False)

    # ----------------------------------------------------------------- pivots
    def action_pivot(self, kind: str) -> None:
        """``L``/``O``/``R``/``U``: this lead's, object's, request's or user's events."""
        event_id = self._target_event_id()
        if not event_id:
            self.notify("Highlight an event first", severity="warning", timeout=2)
            return
        event = self._known_event(event_id)
        if event is None:
            self._fetch_then_pivot(kind, event_id)
            return
        self._pivot_on(kind, event)

    def _known_event(self, event_id: str) -> Event | None:
        detail_event = self.detail.event
        if detail_event is not None and detail_event.id == event_id:
            return detail_event
        return self._detail_cache.get(event_id)

    @work(group="pivot", exclusive=True, exit_on_error=False)
    async def _fetch_then_pivot(self, kind: str, event_id: str) -> None:
        try:
            event = await self.client.get_event(event_id)
        except Exception as exc:
            self.notify(f"Cannot pivot: {error_text(exc)}", severity="error", markup=False)
            return
        self._remember_detail(event)
        self._pivot_on(kind, event)

    def _pivot_on(self, kind: str, event: Event) -> None:
        try:
            pivot = pivot_from_event(kind, event)
        except NoPivot as exc:
            self.notify(str(exc), severity="warning", markup=False, timeout=3)
            return
        self.go_to_pivot(pivot)

    def go_to_pivot(self, pivot: Pivot) -> None:
        if pivot.filter == self.current_filter and not self.predicate_text:
            self.notify("Already showing these events", timeout=2)
            return
        self.apply_filter(pivot.filter,
                          crumb=Crumb(pivot.kind, pivot.value, pivot.object_type))
        self.table.focus()

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
        self.copy_to_clipboard(url)
        self.last_link = url
        # Safe as markup: url is built from a checked id and a constant.
        self.notify(f'[link="{url}"]{url}[/link]\n(copied)', title="Lead in Close", timeout=8)

    def _target_lead_id(self) -> str | None:
        if self.focused is not None and self.detail in self.focused.ancestors_with_self:
            event = self.detail.event
            return event.lead_id if event is not None else None
        index = self.table.cursor_index
        if index is None:
            return None
        return self.table.row_at(index).lead_id

    # ----------------------------------------------------------------- live follow
    def action_toggle_follow(self) -> None:
        if self.follower is not None:
            self.stop_follow()
        else:
            self.start_follow()

    def start_follow(self) -> None:
        try:
            follower = Follower(self.client, self.current_filter,
                                interval=self.follow_interval, clock=self.now,
                                shown=self._shown_stamp)
        except Exception as exc:
            self.notify(error_text(exc), severity="error", markup=False)
            return
        if self.current_filter.date_updated__lt or self.current_filter.date_updated__lte:
            self.notify("This filter has an upper date bound: nothing new can match it",
                        severity="warning", timeout=4)
        self.follower = follower
        self.follow_error = ""
        self.pending.clear()
        self._draw_badge()
        self._follow_loop(follower)

    def stop_follow(self, *, quiet: bool = False) -> None:
        if self.follower is None:
            return
        self.follower = None
        self.workers.cancel_group(self, "follow")
        if self.pending:
            self._flush_pending()
        self._draw_badge()
        if not quiet:
            self.notify("Follow stopped", timeout=2)

    @work(group="follow", exclusive=True, exit_on_error=False)
    async def _follow_loop(self, follower: Follower) -> None:
        await follower.run(
            lambda batch: self._on_follow_batch(follower, batch),
            sleep=self.follow_sleep,
            on_error=lambda exc: self._on_follow_error(follower, exc),
        )

    def _shown_stamp(self, event_id: str) -> float | None:
        pending = self.pending.get(event_id)
        if pending is not None:
            return pending.date_updated.timestamp()
        index = self.table.index_of(event_id)
        return None if index is None else self.table.row_at(index).updated

    def _on_follow_batch(self, follower: Follower, batch: FollowBatch) -> None:
        if follower is not self.follower:
            return  # a poll of a follow already stopped
        self.follow_polls += 1
        self.follow_error = ""
        self._learn_names(batch.events)
        new = batch.new
        updated = batch.updated
        if self.predicate:
            new = [e for e in new if self.predicate.matches(e)]
            updated = [e for e in updated if self.predicate.matches(e)]
        in_place: list[Event] = []
        for event in updated:
            if event.id in self.pending:
                self.pending[event.id] = event
            else:
                in_place.append(event)
        if in_place:
            self.table.upsert_events(in_place)  # known ids: updated where they are
            self.table.flash(e.id for e in in_place)
        if new:
            if self.table.at_top and not self.pending:
                self.table.upsert_events(new)
                self.table.flash(e.id for e in new)
            else:
                for event in new:
                    self.pending[event.id] = event
        self.status.set(rows=self.table.row_count)
        self._after_request()
        self._draw_badge()

    def _on_follow_error(self, follower: Follower, exc: Exception) -> None:
        if follower is not self.follower:
            return
        self.follow_error = error_text(exc)
        self.status.set(error=f"follow: {self.follow_error}")
        self._draw_badge()

    def _flush_pending(self, *, to_top: bool = False) -> None:
        """Show the events held back while the user was reading further down; ``to_top``
        (the user went back to the top) puts the cursor on the newest of them."""
        events = list(self.pending.values())
        self.pending.clear()
        if events:
            self.table.upsert_events(events)
            self.table.flash(e.id for e in events)
            self.status.set(rows=self.table.row_count)
            if to_top:
                self.table.move_cursor(0)
        self._draw_badge()

    def _draw_badge(self) -> None:
        if self.follower is None:
            self.breadcrumb.set_badge("")
            return
        parts = ["● following"]
        if self.pending:
            parts.append(f"+{len(self.pending)} new — Home shows them")
        if self.follow_error:
            parts.append("⚠ " + self.follow_error[:60])
        self.breadcrumb.set_badge(" · ".join(parts))

    @on(ExplorerTable.ReachedTop)
    def _reached_top(self, _: ExplorerTable.ReachedTop) -> None:
        if self.pending:
            self._flush_pending(to_top=True)

    @on(ExplorerTable.WantsMore)
    def _wants_more(self, _: ExplorerTable.WantsMore) -> None:
        if self.scan_stopped:
            self.scan_stopped = False
            self._draw_local_status()
            self.load_more()

    # ----------------------------------------------------------------- local predicate
    def action_local_filter(self) -> None:
        self.local_bar.open(self.predicate_text)

    @on(LocalFilterBar.Submitted)
    def _predicate_submitted(self, message: LocalFilterBar.Submitted) -> None:
        self.local_bar.close()
        self.table.focus()
        self.set_local_filter(message.text)

    @on(LocalFilterBar.Cancelled)
    def _predicate_cancelled(self, _: LocalFilterBar.Cancelled) -> None:
        self.local_bar.close()
        self.table.focus()

    def set_local_filter(self, text: str) -> None:
        """Show only the events matching ``text`` (a step in the history); ``""`` clears."""
        predicate = parse(text)
        canonical = predicate.describe()
        if canonical == self.predicate_text:
            return
        if not predicate:
            previous = self.history.entries[self.history.index - 1] if (
                self.history.can_go_back()) else None
            if (previous is not None and previous.filter == self.current_filter
                    and not previous.predicate):
                self.action_history_back()  # the unfiltered list is still there
                return
            self.apply_filter(self.current_filter, crumb=_filter_crumb(self.current_filter))
            return
        self.apply_filter(self.current_filter, predicate=canonical,
                          crumb=Crumb("where", canonical))

    def action_stop_scan(self) -> None:
        """Esc on the table: stop paging for local matches (End resumes)."""
        if self.predicate and not self.scan_stopped and self.pager is not None and (
                not self.pager.exhausted):
            self.scan_stopped = True
            if self.loading:
                self.workers.cancel_group(self, "pages")
                self.loading = False
                self.table.set_footer("more")
            self._draw_local_status()

    def _draw_local_status(self) -> None:
        if not self.predicate:
            self.local_bar.set_status("")
            return
        pager = self.pager
        if self.last_error:
            state = "stopped by an error (r retries)"
        elif pager is not None and pager.exhausted:
            state = "end of log"
        elif self.scan_stopped:
            state = "stopped (End scans on)"
        elif self.loading:
            state = "paging… (Esc stops)"
        else:
            state = "scroll for more"
        self.local_bar.set_status(
            f"local filter: {self.predicate_text} · scanned {self.scanned:,} · "
            f"{self.table.row_count:,} match · {state}"
        )

    # ----------------------------------------------------------------- saved views
    def save_view(self, name: str) -> None:
        view = SavedView(params=self.current_filter.to_params(), predicate=self.predicate_text)
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
            flt = EventFilter.from_params(view.params).validate()
        except Exception as exc:
            self.notify(f"Cannot open view {name}: {error_text(exc)}", severity="error",
                        markup=False)
            return
        predicate = parse(view.predicate).describe()
        self.apply_filter(flt, predicate=predicate, crumb=Crumb("view", name))
        self.table.focus()

    def delete_view(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self.views.save(name, None)
        self.notify(f"Deleted view {name}", timeout=2, markup=False)

    def action_save_view(self) -> None:
        suggestion = self.crumb_label(self.history.current.crumb) if (
            self.history.current) else ""
        detail = self.current_filter.describe()
        if self.predicate_text:
            detail += f" · local: {self.predicate_text}"

        def done(name: str | None) -> None:
            if name:
                self.save_view(name)

        self.push_screen(NameScreen("Save this view as", value=suggestion, detail=detail),
                         callback=done)

    def _view_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Save view…", "Name the current filter and local filter",
                            self.action_save_view)
        try:
            views = self.views.load()
        except Exception:
            views = {}
        for name in sorted(views):
            view = views[name]
            described = EventFilter.from_params(view.params).describe() if view.params else (
                "all events")
            if view.predicate:
                described += f" · local: {view.predicate}"
            yield SystemCommand(f"View: {name}", described,
                                lambda name=name: self.open_view(name))
        for name in sorted(views):
            yield SystemCommand(f"Delete view: {name}", "Forget this saved view",
                                lambda name=name: self.delete_view(name))

    # ----------------------------------------------------------------- export
    def action_export(self) -> None:
        """Export the current view (server filter, and the local filter if any) to a file."""
        what = f"filter: {self.current_filter.describe()}"
        if self.predicate_text:
            what += f" · local filter: {self.predicate_text} (applied while writing)"
        stamp = self.now().astimezone(UTC).strftime("%Y%m%d-%H%M%S")
        self.export_screen = ExportScreen(
            what=what,
            default_path=f"close-events-{stamp}.jsonl",
            start=lambda path, fmt: self._export(path, fmt),
            cancel=lambda: self.workers.cancel_group(self, "export"),
        )
        self.push_screen(self.export_screen)

    @work(group="export", exclusive=True, exit_on_error=False)
    async def _export(self, path: Path, fmt: str) -> None:
        from close_tui.core.export import open_writer
        from close_tui.core.exporter import export_events
        from close_tui.core.progress import format_progress

        screen = self.export_screen
        assert screen is not None
        flt, predicate = self.current_filter, self.predicate
        written = 0
        try:
            stream = path.open("x", encoding="utf-8", newline="")
        except OSError as exc:
            screen.done(f"cannot write {path}: {exc.strerror or exc}")
            return
        writer = open_writer(fmt, stream)

        class Sink:
            def write(self, event: Event) -> None:
                nonlocal written
                if predicate.matches(event):
                    writer.write(event)
                    written += 1

        try:
            result = await export_events(
                self.client, flt, Sink(),
                on_progress=lambda p: screen.show_progress(
                    format_progress(p, 76) + (f" · {written:,} match" if predicate else "")),
            )
        except asyncio.CancelledError:
            screen.done(f"cancelled: {written:,} events in {path} (partial)")
            raise
        except Exception as exc:
            screen.done(f"failed: {error_text(exc)} ({written:,} events in {path}, partial)")
            return
        finally:
            writer.close()
            stream.close()
        screen.done(f"done: {written:,} events → {path} ({result.bounds.describe()})")
        self.notify(f"Exported {written:,} events to {path}", markup=False, timeout=4)

    # ----------------------------------------------------------------- detail
    @on(EventTable.Highlighted)
    def _highlighted(self, message: EventTable.Highlighted) -> None:
        self._wanted_detail = message.event_id
        if self._detail_timer is not None:
            self._detail_timer.stop()
        if message.index == 0 and self.pending and self.table.at_top:
            self._flush_pending(to_top=True)
            return  # the cursor moved again: its own Highlighted follows
        if not self.detail.display:
            return
        if self.detail_debounce <= 0:
            self.show_detail(message.event_id)
            return
        self._detail_timer = self.set_timer(
            self.detail_debounce, lambda: self.show_detail(message.event_id)
        )

    @on(EventTable.Selected)
    def _selected(self, message: EventTable.Selected) -> None:
        self.detail.display = True
        self.show_detail(message.event_id)

    def action_open_selected(self) -> None:
        event_id = self.table.cursor_event_id
        if event_id:
            self.detail.display = True
            self.show_detail(event_id)

    def show_detail(self, event_id: str, *, refetch: bool = False) -> None:
        cached = self._detail_cache.get(event_id)
        if cached is not None and not refetch and not self._listed_newer(cached):
            self._detail_cache.move_to_end(event_id)
            self.detail.show_event(cached)
            return
        self.detail.show_loading(event_id)
        self._fetch_detail(event_id)

    def _listed_newer(self, cached: Event) -> bool:
        """Whether the table lists this event with a newer date_updated (consolidated)."""
        index = self.table.cursor_index
        if index is None or self.table.event_id_at(index) != cached.id:
            index = self.table.index_of(cached.id)
        if index is None:
            return False
        return self.table.row_at(index).updated > cached.date_updated.timestamp()

    @work(group="detail", exclusive=True, exit_on_error=False)
    async def _fetch_detail(self, event_id: str) -> None:
        try:
            event = await self.client.get_event(event_id)
        except errors.NotFound:
            self.detail.show_message(
                event_id, "no longer available (events are kept for 30 days)", severity="warning"
            )
            return
        except Exception as exc:
            self.detail.show_message(event_id, error_text(exc))
            self.status.set(error=error_text(exc))
            return
        finally:
            self._after_request()
        self._remember_detail(event)
        if self.detail.event_id == event_id:
            self.detail.show_event(event)

    def _remember_detail(self, event: Event) -> None:
        self._detail_cache[event.id] = event
        self._detail_cache.move_to_end(event.id)
        while len(self._detail_cache) > DETAIL_CACHE:
            self._detail_cache.popitem(last=False)

    # ----------------------------------------------------------------- actions
    def action_show_help(self) -> None:
        self.push_screen(HelpScreen(self._focus_scope()))

    def _focus_scope(self) -> Scope:
        focused = self.focused
        node = focused
        while node is not None:
            if isinstance(node, FilterForm):
                return "form"
            if isinstance(node, EventDetail):
                return "detail"
            if isinstance(node, EventTable):
                return "table"
            node = node.parent  # type: ignore[assignment]
        return "table"

    def action_focus_form(self) -> None:
        self.form.focus_first()

    def action_focus_table(self) -> None:
        self.table.focus()

    def action_refresh(self) -> None:
        """Reload the current view from the newest event (also retries after an error)."""
        following = self.follower is not None
        self.stop_follow(quiet=True)
        self._load(self.current_filter, self.predicate_text)
        if following:
            self.start_follow()

    def action_refresh_detail(self) -> None:
        if self.detail.event_id:
            self.show_detail(self.detail.event_id, refetch=True)

    def action_toggle_detail(self) -> None:
        self.detail.display = not self.detail.display
        if self.detail.display and self.table.cursor_event_id:
            self.show_detail(self.table.cursor_event_id)
        elif not self.detail.display and self.focused is self.detail:
            self.table.focus()

    def action_cycle_time(self) -> None:
        self.table.cycle_time_mode()
        if self.detail.event is not None:
            self.detail.show_event(self.detail.event)
        self.notify(f"Times: {self.table.time_mode}", timeout=1.5)

    def action_copy_id(self) -> None:
        event_id = self._target_event_id()
        if event_id:
            self.copy_to_clipboard(event_id)
            self.notify(f"Copied {event_id}", timeout=2, markup=False)

    def action_copy_json(self) -> None:

        event = self.detail.event
        if event is None or event.id != self._target_event_id():
            self.notify("Open the event first (Enter) to copy its JSON", severity="warning")
            return
        self.copy_to_clipboard(jsonnum.dumps(event.to_api(), indent=2, ensure_ascii=False))
        self.notify(f"Copied JSON of {event.id}", timeout=2, markup=False)

    def _target_event_id(self) -> str | None:
        focused = self.focused
        if focused is not None and self.detail in focused.ancestors_with_self:
            return self.detail.event_id
        return self.table.cursor_event_id

    @work(group="me", exit_on_error=False)
    async def _load_organization(self) -> None:
        try:
            me = await self.client.me()
        except Exception as exc:
            self.status.set(organization="(unknown organization)", error=error_text(exc))
            return
        self.organization = parse_me(me).organization_label
        self.status.set(organization=self.organization)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Filter", "Focus the filter form", self.action_focus_form)
        yield SystemCommand("Refresh", "Reload from the newest event", self.action_refresh)
        yield SystemCommand("Toggle detail pane", "Show or hide the event detail",
                            self.action_toggle_detail)
        yield SystemCommand("Cycle time display", "Local → UTC → relative",
                            self.action_cycle_time)
        yield SystemCommand("Copy event id", "Copy the highlighted event's id",
                            self.action_copy_id)
        yield SystemCommand("Copy event JSON", "Copy the open event's JSON",
                            self.action_copy_json)
        yield SystemCommand("Clear filter", "Show the whole event log",
                            lambda: self._clear_filter())
        yield SystemCommand("Follow live", "Start or stop polling for new events (F)",
                            self.action_toggle_follow)
        yield SystemCommand("Local filter", "Filter on any field, locally (/)",
                            self.action_local_filter)
        yield SystemCommand("Back", "The previous view (Backspace)", self.action_history_back)
        yield SystemCommand("Lead in Close", "Link to the highlighted event's lead (o)",
                            self.action_open_web)
        yield SystemCommand("Export…", "Write the current view to a JSONL or CSV file (e)",
                            self.action_export)
        yield from self._view_commands()
        yield SystemCommand("Keys", "Show the keys that work here", self.action_show_help)
        if self.account is not None:
            yield from self._profile_commands()

    def _profile_commands(self) -> Iterable[SystemCommand]:
        from close_tui.core import config

        account = self.account
        assert account is not None
        try:
            profiles = config.load_config().profiles
        except Exception:
            profiles = {}
        for name in sorted(set(profiles) | {account.profile}):
            org = profiles[name].organization_name if name in profiles else None
            try:
                masked = mask_key(account.store.get(name)) if account.store else "?"
            except Exception:
                masked = "keyring unavailable"
            current = " (current)" if name == account.profile else ""
            yield SystemCommand(
                f"Profile: {name}{current}",
                f"{org or 'organization unknown'} · key {masked}",
                lambda name=name: self.switch_profile(name),
            )
        yield SystemCommand("Sign in", "Enter a new key for this profile",
                            lambda: self.request_login(None))

    def _fatal_error(self) -> None:
        """Textual's crash report, without local variables.

        The stock report uses ``Traceback(show_locals=True)``: a local holding the API
        key would be printed in full on the terminal after a crash. Same report, no locals.
        """
        import rich
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        traceback = Traceback(show_locals=False, width=None, suppress=[rich])
        self._exit_renderables.append(
            Segments(self.console.render(traceback, self.console.options))
        )
        self._close_messages_no_wait()

    def _clear_filter(self) -> None:
        self.form.clear()
        self.apply_filter(EventFilter())


def _filter_crumb(flt: EventFilter) -> Crumb:
    """The crumb of a filter typed in the form: named like a pivot when it is one."""
    params = flt.to_params()
    if not params:
        return Crumb("all")
    names = flt.field_names
    has_dates = any(k.startswith("date_updated__") for k in params)
    if not has_dates:
        if names == {"lead_id"}:
            return Crumb("lead", flt.lead_id or "")
        if names == {"user_id"}:
            return Crumb("user", flt.user_id or "")
        if names == {"request_id"}:
            return Crumb("request", flt.request_id or "")
        if names == {"object_type", "object_id"}:
            return Crumb("object", flt.object_id or "", flt.object_type or "")
    return Crumb("filter", flt.describe())


def _profile_filter(profile: str) -> EventFilter:
    """The profile's last applied filter, or no filter (a damaged config is no reason to fail)."""
    from close_tui.core import config

    try:
        params = config.get_last_filter(profile)
        return EventFilter.from_params(params).validate() if params else EventFilter()
    except Exception:
        return EventFilter()


def _remember_filter(profile: str, flt: EventFilter) -> None:
    from close_tui.core import config

    # Remembering is a convenience: a read-only or damaged config must not end the session.
    with contextlib.suppress(Exception):
        config.set_last_filter(profile, flt.to_params())


def _query_preview(flt: EventFilter) -> str:
    from urllib.parse import urlencode

    return urlencode({**flt.to_params(), "_limit": "50"})


def _rate_text(client: CloseClient) -> str:
    rate = client.rate_limit
    if rate is None or rate.limit is None:
        return ""
    text = f"rate {rate.remaining if rate.remaining is not None else '?'}/{rate.limit}"
    if rate.reset is not None:
        text += f" · reset {rate.reset:g}s"
    return text


def _relative(seconds: int) -> str:
    if seconds < 0:
        return "in the future"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"
