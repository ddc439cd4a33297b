"""Sign in: a masked key, checked against ``GET /me/``, stored in the OS keyring.

Shown when close-tui starts with no key, and again when the API answers 401 in the
middle of a session (with the reason). If the keyring cannot store the key (no Secret
Service, a locked collection), the key can still be used for this run only, in memory.
The key is never echoed, logged or put in a message: only its masked form is shown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Input, Static
from textual.worker import Worker

from close_tui.core import errors
from close_tui.core.credentials import CredentialStore, KeyringUnavailable, mask_key
from close_tui.core.me import parse_me
from close_tui.core.sanitize import visible
from close_tui.ui.keys import bindings_for


@dataclass
class LoginResult:
    """What the login screen ends with: a checked key, or a wish to try the demo."""

    key: str | None = field(default=None, repr=False)
    me: dict[str, Any] = field(default_factory=dict, repr=False)
    stored: bool = False
    demo: bool = False

    def __repr__(self) -> str:
        return f"LoginResult(key={mask_key(self.key)!r}, stored={self.stored}, demo={self.demo})"


class LoginScreen(Screen[LoginResult]):
    """The sign-in form."""

    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    LoginScreen > Vertical {
        width: 76; height: auto; padding: 1 2;
        border: round $primary; background: $surface;
    }
    LoginScreen #login-title { text-style: bold; margin-bottom: 1; }
    LoginScreen #login-reason { color: $warning; margin-bottom: 1; }
    LoginScreen #login-reason.-empty { display: none; }
    LoginScreen #login-message { margin-top: 1; height: auto; }
    LoginScreen #login-message.-error { color: $error; }
    LoginScreen Horizontal { height: auto; margin-top: 1; }
    LoginScreen Button { margin-right: 2; }
    LoginScreen #login-memory { display: none; }
    LoginScreen.-keyring-failed #login-memory { display: block; }
    """

    BINDINGS: ClassVar = bindings_for("login")  # ctrl+q: the app's (priority) binding

    def __init__(
        self,
        *,
        profile: str,
        base_url: str,
        check: Callable[[str], Awaitable[dict[str, Any]]],
        store: CredentialStore,
        reason: str | None = None,
        allow_demo: bool = True,
    ) -> None:
        super().__init__()
        self.profile = profile
        self.base_url = base_url
        self._check = check
        self._store = store
        self.reason = reason
        self.allow_demo = allow_demo
        self._checked: LoginResult | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Sign in to Close · profile {visible(self.profile)}"),
                         id="login-title")
            yield Static(Text(visible(self.reason or "")), id="login-reason",
                         classes="" if self.reason else "-empty")
            yield Static(Text(
                "Paste an API key (Close → Settings → Developer → API keys). It is checked "
                f"against {visible(self.base_url)}/me/ and stored in your OS keyring, "
                "never in a file."
            ))
            yield Input(placeholder="api_…", password=True, id="login-key")
            with Horizontal():
                yield Button("Sign in", variant="primary", id="login-submit")
                yield Button("Use for this run only", id="login-memory")
                if self.allow_demo:
                    yield Button("Try the demo (ctrl+d)", id="login-demo")
            yield Static("", id="login-message")

    def on_mount(self) -> None:
        self.query_one("#login-key", Input).focus()

    def _say(self, message: str, *, error: bool = False) -> None:
        note = self.query_one("#login-message", Static)
        note.update(Text(message))
        note.set_class(error, "-error")

    @on(Input.Submitted, "#login-key")
    @on(Button.Pressed, "#login-submit")
    def _submit(self) -> None:
        key = self.query_one("#login-key", Input).value.strip()
        if not key:
            self._say("Paste a key first.", error=True)
            return
        self._say(f"Checking {mask_key(key)} …")
        self._verify(key)

    def _verify(self, key: str) -> Worker[None]:
        """Check the key (I/O in a worker, which only posts what it found), then store it
        (the keyring is a blocking call; it is quick, and the user is waiting for it)."""
        check = self._check

        async def verify() -> None:
            try:
                me = await check(key)
            except errors.AuthError:
                self.post_message(self.Checked(key, None,
                                               f"The API refused {mask_key(key)}: not stored. "
                                               "Check the key."))
            except Exception as exc:  # network, server: one line, never a traceback
                self.post_message(self.Checked(key, None, f"Could not check the key: {exc}"))
            else:
                self.post_message(self.Checked(key, me, ""))

        return self.run_worker(verify, exclusive=True, group="login", exit_on_error=False)

    class Checked(Message):
        """What ``GET /me/`` said about a key: its owner (``me``), or why not."""

        def __init__(self, key: str, me: dict[str, Any] | None, problem: str) -> None:
            super().__init__()
            self.key = key
            self.me = me
            self.problem = problem

        def __repr__(self) -> str:
            return f"Checked(key={mask_key(self.key)!r}, problem={self.problem!r})"

    def on_login_screen_checked(self, message: Checked) -> None:
        key, me = message.key, message.me
        if me is None:
            self._say(message.problem, error=True)
            return
        facts = parse_me(me)
        user, org = facts.user_label, facts.organization_label
        try:
            self._store.set(self.profile, key)
        except KeyringUnavailable as exc:
            self._checked = LoginResult(key=key, me=me, stored=False)
            self.add_class("-keyring-failed")
            self._say(
                f"Signed in as {user} ({org}), but the key could not be stored: {exc}\n"
                "Use it for this run only (kept in memory), or fix the keyring and retry.",
                error=True,
            )
            return
        self.dismiss(LoginResult(key=key, me=me, stored=True))

    @on(Button.Pressed, "#login-memory")
    def _memory_only(self) -> None:
        if self._checked is not None:
            self.dismiss(self._checked)

    @on(Button.Pressed, "#login-demo")
    def action_demo(self) -> None:
        if self.allow_demo:
            self.dismiss(LoginResult(demo=True))
