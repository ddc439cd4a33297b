"""The close-tui app: the session, sign-in, profiles, keys, and what happens on failure.

The explorer itself is a screen (:mod:`close_tui.ui.explorer`); this App only decides
which session it shows:

* **Session.** One client at a time. Signing in again (a 401 mid-session) or switching
  profile makes a new client and a new explorer screen; the old screen goes with its
  workers, follow and name look-ups, and the old client is closed. Quitting closes the
  client too.
* **Sign-in.** No key yet, or the API refused it: the login screen; ``ctrl+d`` opens
  the demo instead.
* **Keys.** The user's keymap from the config file (``"bindings"`` in ``settings``) is
  applied to the one key table's binding ids (Textual's ``set_keymap``); ``?`` shows the
  keys active where the focus is.
* **Failures.** :meth:`CloseTuiApp.show_failure` is where any failure nobody handled in
  context is shown (one line, never a traceback); the crash report, if it comes to
  that, carries no local variables (a key in a local would be printed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from close_tui.core.client import CloseClient
from close_tui.core.credentials import CredentialStore
from close_tui.core.feed import EventSource
from close_tui.core.filters import EventFilter
from close_tui.core.follow import DEFAULT_INTERVAL
from close_tui.core.me import parse_me
from close_tui.core.saved_views import ConfigViews, MemoryViews, ViewStore
from close_tui.session import Session
from close_tui.ui.explorer import DETAIL_DEBOUNCE, ExplorerScreen, ExplorerSettings
from close_tui.ui.keys import bindings_for, check_keymap
from close_tui.ui.messages import OrganizationLoaded, error_text
from close_tui.ui.screens.help import HelpScreen, help_sections
from close_tui.ui.screens.login import LoginResult, LoginScreen
from close_tui.ui.widgets.explorer_table import FLASH_SECONDS

if TYPE_CHECKING:  # imported when a restore opens, not at start
    from close_tui.ui.screens.restore import RestoreScreen

__all__ = ["Account", "CloseTuiApp"]


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


class CloseTuiApp(App[None]):
    """The close-tui explorer app."""

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
        names_quiet: float | None = None,
        keymap: Mapping[str, object] | None = None,
        notices: Iterable[str] = (),
        source: EventSource | None = None,
    ) -> None:
        """``follow_interval``/``follow_sleep`` pace live follow (tests inject a sleeper
        they control); ``views`` keeps saved views (default: the profile's config, or
        memory without an account); ``history_size``/``history_rows`` bound what Back
        can restore without a request; ``keymap`` remaps binding ids to keys;
        ``names_quiet`` is how long lead names wait to be looked up together (tests: 0);
        ``source`` is where the explorer's events come from (default: the client;
        ``close-tui --archive`` gives the local archive)."""
        super().__init__()
        #: The session's client (``None`` until the user signs in).
        self.client = client
        self.event_source = source
        self.account = account
        self.organization = organization
        self.views: ViewStore = views or (
            ConfigViews(account.profile) if account is not None else MemoryViews()
        )
        self._on_filter_applied = on_filter_applied
        self.settings = ExplorerSettings(
            initial_filter=initial_filter or EventFilter(),
            now=now or (lambda: datetime.now(UTC)),
            local_tz=local_tz,
            detail_debounce=detail_debounce,
            follow_interval=follow_interval,
            follow_sleep=follow_sleep or asyncio.sleep,
            history_size=history_size,
            history_rows=history_rows,
            flash_seconds=flash_seconds,
            names_quiet=names_quiet,
            on_filter_applied=self._filter_applied,
        )
        self.user_keymap, self.keymap_problems = check_keymap(keymap or {})
        #: Said once at start (e.g. a config file that cannot be read, naming it).
        self.startup_notices = tuple(notices)

    # ----------------------------------------------------------------- session
    def on_mount(self) -> None:
        if self.user_keymap:
            self.set_keymap(self.user_keymap)
        for problem in self.keymap_problems:
            self.notify(problem, severity="warning", markup=False, timeout=8)
        for notice in self.startup_notices:
            self.notify(notice, severity="error", markup=False, timeout=15)
        if self.client is None:
            self.request_login(None)
            return
        self.push_screen(self._new_explorer(self.client))
        if self.organization is None:
            self._load_organization(self.client)

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    @property
    def explorer(self) -> ExplorerScreen:
        """The explorer screen of the current session (under any dialog)."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, ExplorerScreen):
                return screen
        raise LookupError("no explorer screen: not signed in")

    def _new_explorer(self, client: CloseClient) -> ExplorerScreen:
        return ExplorerScreen(client, settings=self.settings, views=self.views,
                              organization=self.organization, source=self.event_source)

    async def start_session(self, client: CloseClient, organization: str | None) -> None:
        """Show ``client``'s organization from the initial filter; the previous session's
        screens go (their workers are cancelled with them) and its client is closed."""
        old = self.client
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        self.client, self.organization = client, organization
        await self.push_screen(self._new_explorer(client))
        if organization is None:
            self._load_organization(client)
        if old is not None and old is not client:
            await old.aclose()

    def _filter_applied(self, flt: EventFilter) -> None:
        if self._on_filter_applied is not None:
            self._on_filter_applied(flt)
        if self.account is not None:
            _remember_filter(self.account.profile, flt)

    def _load_organization(self, client: CloseClient) -> Worker[None]:
        async def load() -> None:
            try:
                me = await client.me()
            except Exception as exc:
                self.post_message(OrganizationLoaded("(unknown organization)", error_text(exc)))
                return
            self.post_message(OrganizationLoaded(parse_me(me).organization_label))

        return self.run_worker(load, group="me", exclusive=True, exit_on_error=False)

    def on_organization_loaded(self, message: OrganizationLoaded) -> None:
        self.organization = message.name
        with contextlib.suppress(LookupError):
            self.explorer.set_organization(message.name, message.error)

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

    async def _logged_in(self, result: LoginResult | None) -> None:
        account = self.account
        if result is None or account is None:
            return
        if result.demo:
            session = account.open_demo()
            await self.start_session(session.client, session.organization)
            return
        assert result.key is not None
        client = account.make_client(result.key)
        if result.stored:
            self.notify(f"Key stored in the keyring for profile {account.profile}",
                        markup=False)
        else:
            self.notify("Key kept in memory for this run only", severity="warning")
        await self.start_session(client, parse_me(result.me).organization_label)

    async def switch_profile(self, profile: str) -> None:
        account = self.account
        if account is None:
            return
        try:
            session = account.switch(profile)
        except Exception as exc:  # no key, keyring locked: say so, keep the current one
            self.notify(error_text(exc), severity="error", markup=False)
            return
        self.account = replace(account, profile=profile)
        if isinstance(self.views, ConfigViews):
            self.views = self.views.for_profile(profile)
        self.settings.initial_filter = profile_filter(profile)
        await self.start_session(session.client, session.organization)

    # ----------------------------------------------------------------- keys, palette
    def action_show_help(self) -> None:
        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        if isinstance(screen, ExplorerScreen):
            where, local_filter = screen.focus_place()
        else:
            where, local_filter = (screen.title or type(screen).__name__), False
        sections = help_sections(screen.active_bindings, where=where, local_filter=local_filter)
        self.push_screen(HelpScreen(where, sections))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        from close_tui.ui.palette import explorer_commands, profile_commands

        for command in super().get_system_commands(screen):
            if command.title not in ("Keys", "Screenshot"):  # ours below: one of each
                yield command
        yield SystemCommand("Keys", "Show the keys that work here (?)", self.action_show_help)
        yield SystemCommand("Screenshot", "Save an SVG picture of the screen",
                            lambda: self.set_timer(0.1, self.save_screenshot_somewhere))
        if isinstance(screen, ExplorerScreen):
            yield from explorer_commands(screen)
        yield from profile_commands(self)

    def on_restore_screen_pivot_to_lead(self, message: RestoreScreen.PivotToLead) -> None:
        """The restore modal's "Open destination lead" / "Show restored lead"."""
        self.explorer.show_lead(message.lead_id)

    def save_screenshot_somewhere(self, directories: Iterable[Path] | None = None) -> Path | None:
        """Save a screenshot where it can (Downloads, else the working directory, else the
        temp directory) and say where: one line either way."""
        candidates = list(directories) if directories is not None else [
            Path.home() / "Downloads", Path.cwd(), Path(tempfile.gettempdir())]
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        problems: list[str] = []
        for directory in candidates:
            if not directory.is_dir() or not os.access(directory, os.W_OK):
                continue
            try:
                saved = Path(self.save_screenshot(f"close-tui-{stamp}.svg", str(directory)))
            except OSError as exc:
                problems.append(f"{directory}: {exc.strerror or exc}")
                continue
            self.notify(f"Screenshot saved to {saved}", markup=False, timeout=6)
            return saved
        self.notify("Could not save a screenshot" + (f" ({problems[-1]})" if problems else
                                                    ": no writable directory"),
                    severity="error", markup=False)
        return None

    # ----------------------------------------------------------------- failures
    def show_failure(self, what: str, error: BaseException) -> None:
        """The one place a failure nobody handled in context is shown: one line."""
        self.log.error(f"{what}: {error!r}")
        self.notify(f"{what}: {error_text(error)}", title="Something failed",
                    severity="error", markup=False, timeout=10)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.show_failure(f"{worker.group or worker.name} failed", worker.error)

    def _fatal_error(self) -> None:
        """Textual's crash report, without local variables.

        The stock report uses ``Traceback(show_locals=True)``: a local holding the API
        key would be printed in full on the terminal after a crash. Same report, no locals.
        Textual has no public hook for this (``panic`` takes renderables, but the stock
        handler calls this method); ``tests/ui/test_textual_contract.py`` fails if that
        changes, and pyproject pins the Textual minor version this was checked with.
        """
        import rich
        from rich.traceback import Traceback

        self.bell()
        self.panic(Traceback(show_locals=False, width=None, suppress=[rich]))


def profile_filter(profile: str) -> EventFilter:
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

