"""App fixtures: the explorer on a seeded emulator with a frozen clock, in UTC.

Everything that could make a screen differ between runs is pinned: the dataset's seed
and "now", the clock the app reads for relative times, the time zone, the terminal
size (120×40) and the input cursor (no blinking).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import httpx
from textual.worker import WorkerCancelled

from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.filters import EventFilter
from close_tui.emulator import Emulator
from close_tui.session import DEMO_BASE_URL
from close_tui.ui.app import CloseTuiApp

UI_NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
SIZE = (120, 40)


async def no_sleep(_: float) -> None:
    return None


def make_client(
    emulator: Emulator, *, key: str | None = None, attempts: int = 2, **kw: Any
) -> CloseClient:
    return CloseClient(
        DEMO_BASE_URL,
        api_key=key or emulator.admin_key,
        transport=kw.pop("transport", None) or emulator.transport(),
        retry=RetryPolicy(max_attempts=attempts, base_delay=0.0, jitter=0.0),
        sleep=no_sleep,
        **kw,
    )


class HeldRequests(httpx.AsyncBaseTransport):
    """The emulator's transport, except that requests matching ``held`` (a path suffix)
    wait while :attr:`hold` is set, until :meth:`release`: "while a request is in
    flight" becomes a state a test can stand in, with no timing involved."""

    def __init__(
        self, emulator: Emulator, held: str = "/event/", answer: httpx.Response | None = None
    ) -> None:
        self._inner = emulator.transport()
        self.held = held
        #: Given instead of the emulator's answer to every matching request (a fault).
        self.answer = answer
        self.hold = False
        self.waiting = 0
        self._released = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(self.held):
            if self.hold:
                self.waiting += 1
                await self._released.wait()
            if self.answer is not None:
                return httpx.Response(self.answer.status_code, headers=self.answer.headers,
                                      content=self.answer.content, request=request)
        return await self._inner.handle_async_request(request)

    def release(self) -> None:
        self.hold = False
        self._released.set()


def make_app(
    emulator: Emulator | None = None,
    *,
    client: CloseClient | None = None,
    initial_filter: EventFilter | None = None,
    organization: str | None = "Los Pollos Hermanos",
    **kw: Any,
) -> CloseTuiApp:
    if client is None:
        assert emulator is not None
        client = make_client(emulator)
    return CloseTuiApp(
        client,
        organization=organization,
        initial_filter=initial_filter,
        now=lambda: UI_NOW,
        local_tz=UTC,
        detail_debounce=0.0,
        names_quiet=kw.pop("names_quiet", 0.0),
        **kw,
    )


async def settle(pilot: Any) -> None:
    """Wait until every worker is done and the screen has caught up (no sleeps)."""
    app = pilot.app
    for _ in range(20):
        with contextlib.suppress(WorkerCancelled):  # a replaced page fetch is cancelled
            await app.workers.wait_for_complete()
        names_done = await _names_settled(app)
        await pilot.pause()
        if not any(w.is_running for w in app.workers) and not _loading(app) and names_done:
            break
    await pilot.pause()


async def _names_settled(app: Any) -> bool:
    """The explorer's name look-ups are done, or wait for the rate budget (they run in
    the directory's own task, not a worker; a shared emulator's frozen clock never
    renews its window, so waiting for the budget would wait for nothing)."""
    try:
        names = app.explorer.names
    except (AttributeError, LookupError, AssertionError):
        return True
    if not hasattr(names, "idle"):  # the archive's names: nothing is ever looked up
        return True
    for _ in range(500):  # bounded: about 10 s
        if names.idle:
            return True
        await asyncio.sleep(0.02)
    return False


def _loading(app: Any) -> bool:
    """A page request is in flight on the explorer (none while signed out)."""
    try:
        return bool(app.explorer.feed.loading)
    except (AttributeError, LookupError, AssertionError):
        return False


def record_notifications(app: Any) -> list[str]:
    """What the app says in toasts, recorded through the public ``notify`` (the app's
    own list of notifications is private)."""
    said: list[str] = []
    original = app.notify

    def notify(message: str, **kw: Any) -> None:
        said.append(str(message))
        original(message, **kw)

    app.notify = notify
    return said
