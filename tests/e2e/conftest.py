"""End-to-end fixtures: the emulator served over real loopback HTTP, in-process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.emulator.server import RunningServer, serve

E2E_NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def loopback_emulator() -> Iterator[RunningServer]:
    """The default organization on ``http://127.0.0.1:<free port>/api/v1`` (shared; its
    clock is frozen, so read-only tests only)."""
    emulator = Emulator(EmulatorConfig(), clock=FakeClock(E2E_NOW))
    with serve(emulator) as running:
        yield running
