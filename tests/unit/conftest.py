"""Emulator fixtures for unit tests: one shared default organization per session.

The default dataset takes ~0.5 s to build, so it is built once; tests that change the
emulator's state (clock, rate windows, live mode, config) build their own small one
with :func:`make_emulator`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from close_tui.emulator import Emulator, EmulatorConfig, FakeClock

#: The instant every emulator test treats as "now" unless it moves its own clock.
EMULATOR_NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)

Call = Callable[..., httpx.Response]


@pytest.fixture(scope="session")
def emulator_clock() -> FakeClock:
    """The shared emulator's clock. Never advance it: build your own emulator instead."""
    return FakeClock(EMULATOR_NOW)


@pytest.fixture(scope="session")
def default_emulator(emulator_clock: FakeClock) -> Emulator:
    """The default organization (seed 7, 240 leads), shared by the whole session."""
    return Emulator(EmulatorConfig(), clock=emulator_clock)


@pytest.fixture
def make_emulator() -> Callable[..., tuple[Emulator, FakeClock]]:
    """Build a small emulator with its own FakeClock: ``em, clock = make_emulator(live=True)``."""

    def make(**overrides: Any) -> tuple[Emulator, FakeClock]:
        clock = FakeClock(EMULATOR_NOW)
        settings: dict[str, Any] = {"n_leads": 30, "n_users": 6}
        settings.update(overrides)
        return Emulator(EmulatorConfig(**settings), clock=clock), clock

    return make


def call_emulator(
    emulator: Emulator,
    path: str,
    params: Mapping[str, str] | None = None,
    *,
    key: str | None = "admin",
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """One in-process request. ``key`` is "admin", "member", None, or a literal key."""
    all_headers = dict(headers or {})
    if key is not None:
        secret = {"admin": emulator.admin_key, "member": emulator.member_key}.get(key, key)
        all_headers.setdefault("Authorization", httpx.BasicAuth(secret, "")._auth_header)
    url = httpx.URL("http://emulator.test/api/v1" + path, params=dict(params or {}))
    return emulator.handle(httpx.Request(method, url, headers=all_headers))


@pytest.fixture
def call() -> Call:
    """``call(emulator, "/event/", {"lead_id": ...}, key="member")`` -> httpx.Response."""
    return call_emulator
