"""Faults while browsing: the app keeps answering keys, says what is happening, recovers.

The emulator injects each fault the API or a proxy in front of it produces (an HTML
502 page, 503, a dropped connection, an answer slower than the timeout, truncated JSON,
a wrong content type, 429 storms with ``;``-separated RateLimit headers and decimal
resets, a 401 in the middle of a session). The client's sleeper is a gate the test
opens, so "while the request waits to be retried" is a state the test can stand in,
press keys in and look at, without any real waiting.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from ui_support import UI_NOW, make_app, settle

from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.credentials import CredentialStore
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.session import DEMO_BASE_URL, Session
from close_tui.ui.app import Account
from close_tui.ui.screens.login import LoginScreen

SIZE = (120, 40)


class Gate:
    """The client's ``sleep``: each backoff waits here until the test opens the gate."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._open = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self._open.wait()

    def open(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._open = asyncio.Event()


def gated_client(emulator: Emulator, gate: Gate, **kw: Any) -> CloseClient:
    return CloseClient(
        DEMO_BASE_URL,
        api_key=emulator.admin_key,
        transport=emulator.transport(),
        retry=RetryPolicy(max_attempts=8, base_delay=3.0, jitter=0.0),
        sleep=gate,
        **kw,
    )


async def wait_until(pilot: Any, condition: Any, what: str) -> None:
    """Let the app run until ``condition()`` holds (message processing, not time)."""
    for _ in range(200):
        if condition():
            return
        await pilot.pause()
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
def fault_emulator() -> Emulator:
    """A small organization of its own (the tests switch its faults on and off)."""
    return Emulator(EmulatorConfig(n_leads=40, n_users=4), clock=FakeClock(UI_NOW))


async def test_every_fault_kind_is_retried_while_keys_still_work(
    fault_emulator: Emulator,
) -> None:
    gate = Gate()
    app = make_app(client=gated_client(fault_emulator, gate))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.explorer.table
        first_page = [table.event_id_at(i) for i in range(table.row_count)]
        assert first_page
        for kind in ("html502", "503", "drop", "slow", "truncated", "content_type"):
            gate.close()
            fault_emulator.config.fault_kinds = (kind,)
            fault_emulator.config.fault_rate = 1.0
            waits = len(gate.waits)
            await pilot.press("r")  # reload: the first request meets the fault
            await wait_until(pilot, lambda w=waits: len(gate.waits) > w, f"a retry after {kind}")
            # The request is now waiting to be retried; the app says so …
            await wait_until(pilot, lambda: "retrying in" in app.explorer.status.info.activity,
                             "the status bar's retry notice")
            activity = app.explorer.status.info.activity
            assert "retrying in 3.0 s" in activity, activity
            summary = app.explorer.status.status_lines()[0].plain
            assert "retrying in 3.0 s" in summary
            # … and still answers keys (the table is empty while reloading: use the form).
            await pilot.press("f")
            await pilot.press("escape")
            await pilot.pause()
            assert app.focused is app.explorer.table, kind
            # The fault clears; the retry succeeds and the same events come back.
            fault_emulator.config.fault_rate = 0.0
            gate.open()
            await settle(pilot)
            assert app.explorer.status.info.activity == ""
            assert app.explorer.status.info.error == ""
            assert [app.explorer.table.event_id_at(i) for i in range(len(first_page))] == first_page
            assert app.is_running


async def test_the_cursor_moves_while_the_next_page_is_being_retried(
    fault_emulator: Emulator,
) -> None:
    gate = Gate()
    app = make_app(client=gated_client(fault_emulator, gate))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows = app.explorer.table.row_count
        fault_emulator.config.fault_kinds = ("slow",)
        fault_emulator.config.fault_rate = 1.0
        await pilot.press("end")  # near the end: the next page is requested and times out
        await wait_until(pilot, lambda: bool(gate.waits), "a retry of the next page")
        assert "timeout: retrying in" in app.explorer.status.info.activity
        cursor = app.explorer.table.cursor_index
        assert cursor is not None
        for _ in range(5):
            await pilot.press("up")
        await pilot.pause()
        assert app.explorer.table.cursor_index == cursor - 5  # keys work during the retry
        assert app.explorer.feed.loading
        fault_emulator.config.fault_rate = 0.0
        gate.open()
        await settle(pilot)
        assert app.explorer.table.row_count > rows
        assert app.explorer.table.cursor_index == cursor - 5


async def test_a_429_storm_waits_the_decimal_reset_of_a_semicolon_header() -> None:
    clock = FakeClock(UI_NOW)
    emulator = Emulator(
        EmulatorConfig(n_leads=40, n_users=4, rate_limit=2, rate_window=1.0,
                       rate_header_style="semicolon"),
        clock=clock,
    )
    clock.advance(0.25)  # 0.75 s left in the window: a decimal reset

    gate = Gate()
    app = make_app(client=gated_client(emulator, gate))
    async with app.run_test(size=SIZE) as pilot:
        # The first page and the first detail use the window's 2 requests; the third
        # meets 429 and waits exactly what the header says.
        await wait_until(pilot, lambda: bool(gate.waits), "a 429 wait")
        assert gate.waits[0] == pytest.approx(0.75)
        assert "rate limited (429): retrying in 0.8 s" in app.explorer.status.info.activity
        await pilot.press("down")  # still answering
        clock.advance(0.75)  # the window is over
        gate.open()
        await settle(pilot)
        assert app.explorer.status.info.activity == ""
        assert app.explorer.status.info.error == ""
        assert app.explorer.table.row_count > 0
        assert app.explorer.detail.event is not None
        # The page requests tell (name look-ups meet the frozen window too, quietly).
        statuses = [r.status for r in emulator.request_log if r.path == "/api/v1/event/"]
        assert 429 in statuses and statuses[-1] == 200


async def test_a_401_in_the_middle_of_a_session_brings_back_the_login_screen(
    fault_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # the app remembers filters
    def no_session(_: str = "") -> Session:
        raise AssertionError("not used here")

    account = Account(
        profile="work",
        base_url=DEMO_BASE_URL,
        store=CredentialStore(service="close-tui-test-never-used"),
        make_client=lambda key: gated_client(fault_emulator, Gate()),
        switch=no_session,
        open_demo=no_session,
    )
    gate = Gate()
    gate.open()
    app = make_app(client=gated_client(fault_emulator, gate), account=account)
    key = fault_emulator.admin_key
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not isinstance(app.screen, LoginScreen)
        fault_emulator.admin_key = "api_revoked.key"  # the key is revoked server-side
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert "401" in (app.screen.reason or "")
        screen = app.export_screenshot()
        assert key not in screen and key[-8:] not in screen
        assert app.is_running
