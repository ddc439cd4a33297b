"""The explorer: filter form, lazily paged event table, detail pane, status bar.

Data flows one way: form -> ``EventFilter`` -> pager -> table rows; a highlighted row
-> ``get_event(id)`` -> detail pane. Each applied filter gets a new *generation*; a page
that arrives for an older generation is dropped, so a slow answer to a query the user
has already replaced can never mix into the table. Exactly one page request is in
flight at a time.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer

from close_tui.core import errors
from close_tui.core.client import CloseClient, EventPager
from close_tui.core.credentials import CredentialStore, mask_key
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event
from close_tui.session import Session
from close_tui.ui.keys import Scope, bindings_for
from close_tui.ui.screens.help import HelpScreen
from close_tui.ui.screens.login import LoginResult, LoginScreen, describe_me
from close_tui.ui.widgets.event_detail import EventDetail
from close_tui.ui.widgets.event_table import EventTable
from close_tui.ui.widgets.filter_form import FilterForm
from close_tui.ui.widgets.status_bar import StatusBar

#: How long the highlight must rest on a row before its detail is fetched.
DETAIL_DEBOUNCE = 0.15
#: Fetched events kept for the detail pane (by id).
DETAIL_CACHE = 256


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


class ExplorerTable(EventTable):
    """The event table with the explorer's letter keys (active only when it has focus)."""

    BINDINGS: ClassVar = bindings_for("table")


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
    ) -> None:
        super().__init__()
        self.client: CloseClient = client  # type: ignore[assignment]  # set before use
        self.account = account
        self.organization = organization
        self.initial_filter = initial_filter or EventFilter()
        self.now = now or (lambda: datetime.now(UTC))
        self.local_tz = local_tz
        self.on_filter_applied = on_filter_applied
        self.detail_debounce = detail_debounce
        self.current_filter = self.initial_filter
        self.generation = 0
        self.pager: EventPager | None = None
        self.loading = False
        self.last_error = ""
        self._detail_cache: OrderedDict[str, Event] = OrderedDict()
        self._detail_timer: Timer | None = None
        self._wanted_detail: str | None = None

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield FilterForm(now=self.now, local_tz=self.local_tz, id="form")
        with Horizontal(id="main"):
            yield ExplorerTable(id="events", now=self.now, tz=self.local_tz)
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

    def on_mount(self) -> None:
        if self.client is None:
            self.request_login(None)
            return
        self.start()

    def start(self) -> None:
        """Show the log of ``self.client``'s organization from ``initial_filter``."""
        self.client.on_retry = self._on_retry
        self.status.set(organization=self.organization or "…")
        self.form.set_filter(self.initial_filter)
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
            self.organization = describe_me(result.me)[1]
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

    # ----------------------------------------------------------------- paging
    def apply_filter(self, flt: EventFilter) -> None:
        """Show ``flt``'s events from the newest, dropping whatever was loading."""
        self.current_filter = flt
        self.generation += 1
        self.pager = self.client.pager(flt)
        self.loading = False
        self.table.clear()
        self.status.set(rows=0, paging="", error="", query=_query_preview(flt))
        self.last_error = ""
        self.load_more()
        if self.on_filter_applied is not None:
            self.on_filter_applied(flt)
        if self.account is not None:
            _remember_filter(self.account.profile, flt)

    def load_more(self) -> None:
        """Fetch the next page, unless one is in flight or the log has ended."""
        pager = self.pager
        if pager is None or self.loading or pager.exhausted:
            return
        self.loading = True
        self.table.set_footer("loading")
        self.status.set(paging="loading…")
        self._fetch_page(self.generation, pager)

    @work(group="pages", exclusive=True, exit_on_error=False)
    async def _fetch_page(self, generation: int, pager: EventPager) -> None:
        try:
            events = await pager.next_page()
        except Exception as exc:  # shown, never crashed on
            if generation == self.generation:
                self.loading = False
                self._show_page_error(exc)
            return
        if generation != self.generation:
            return  # a page for a filter no longer shown
        self.loading = False
        self.table.append_events(events)
        self._after_request()
        if pager.exhausted:
            self.table.set_footer("end")
            self.status.set(paging="end of log", rows=self.table.row_count, error="")
        else:
            self.status.set(paging="more available", rows=self.table.row_count, error="")
            # The table posts NearEnd from here when the rows do not yet reach a page
            # past the screen (small or empty pages) or the user is already near the
            # end: the viewport keeps filling without a keypress.
            self.table.set_footer("more")

    def _show_page_error(self, exc: BaseException) -> None:
        message = error_text(exc)
        if isinstance(exc, errors.AuthError) and exc.status == 401:
            self.request_login(f"The API refused the key: {message}")
        self.last_error = message
        self.table.set_footer("error", message)
        self.status.set(paging="stopped", error=message, activity="")
        self._after_request()

    def _after_request(self) -> None:
        self.status.set(query=self.client.last_event_query or self.status.info.query,
                        rate=_rate_text(self.client), activity="")

    def _on_retry(self, attempt: int, delay: float, reason: str) -> None:
        self.status.set(activity=f"{reason}: retrying in {delay:.1f} s (attempt {attempt + 1})")

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

    # ----------------------------------------------------------------- detail
    @on(EventTable.Highlighted)
    def _highlighted(self, message: EventTable.Highlighted) -> None:
        self._wanted_detail = message.event_id
        if self._detail_timer is not None:
            self._detail_timer.stop()
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
        self._detail_cache[event_id] = event
        self._detail_cache.move_to_end(event_id)
        while len(self._detail_cache) > DETAIL_CACHE:
            self._detail_cache.popitem(last=False)
        if self.detail.event_id == event_id:
            self.detail.show_event(event)

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
        """Reload from the newest event (also retries after an error)."""
        self.apply_filter(self.current_filter)

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
        import json

        event = self.detail.event
        if event is None or event.id != self._target_event_id():
            self.notify("Open the event first (Enter) to copy its JSON", severity="warning")
            return
        self.copy_to_clipboard(json.dumps(event.to_api(), indent=2, ensure_ascii=False))
        self.notify(f"Copied JSON of {event.id}", timeout=2, markup=False)

    def _target_event_id(self) -> str | None:
        if self.focused is self.detail:
            return self.detail.event_id
        return self.table.cursor_event_id

    @work(group="me", exit_on_error=False)
    async def _load_organization(self) -> None:
        try:
            me = await self.client.me()
        except Exception as exc:
            self.status.set(organization="(unknown organization)", error=error_text(exc))
            return
        orgs = me.get("organizations") or []
        name = orgs[0].get("name") if orgs and isinstance(orgs[0], dict) else None
        self.organization = str(name or "(unnamed organization)")
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
