"""Fixtures of the UI tests; the helpers themselves live in ui_support.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ui_support import UI_NOW, make_app

from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.ui.app import CloseTuiApp


@pytest.fixture(scope="session")
def ui_emulator() -> Emulator:
    """The default organization, frozen at UI_NOW; shared (tests only read from it)."""
    return Emulator(EmulatorConfig(), clock=FakeClock(UI_NOW))


@pytest.fixture
def app_factory(ui_emulator: Emulator) -> Callable[..., CloseTuiApp]:
    def factory(**kw: Any) -> CloseTuiApp:
        kw.setdefault("emulator", ui_emulator)
        return make_app(**kw)

    return factory


