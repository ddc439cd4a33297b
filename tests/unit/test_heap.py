"""close_tui.heap: the long-lived heap leaves the collector's reach; launch uses it."""

from __future__ import annotations

import argparse
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from close_tui import heap
from close_tui.ui import launch


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # other tests' garbage must stay collectable


def test_objects_alive_at_freeze_are_skipped_by_later_collections(unfrozen: None) -> None:
    long_lived = [{"n": i} for i in range(1000)]
    before = gc.get_freeze_count()
    heap.freeze_long_lived()
    assert gc.get_freeze_count() >= before + len(long_lived)
    tracked = {id(o) for o in gc.get_objects()}  # generations 0-2, not the frozen ones
    assert id(long_lived) not in tracked and id(long_lived[0]) not in tracked
    made_later = [{"n": 1}]
    assert id(made_later) in {id(o) for o in gc.get_objects()}


@pytest.mark.parametrize("demo", [True, False])
def test_launch_freezes_once_the_app_exists_and_before_it_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo: bool
) -> None:
    order: list[str] = []
    from close_tui.ui import app as app_module

    def fake_run(self: Any) -> None:
        order.append("run")

    monkeypatch.setattr(app_module.CloseTuiApp, "run", fake_run)
    monkeypatch.setattr(launch, "freeze_long_lived", lambda: order.append("freeze"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("CLOSE_API_KEY", "demo-key-not-used")
    monkeypatch.setenv("CLOSE_BASE_URL", "http://127.0.0.1:9/api/v1")
    args = argparse.Namespace(demo=demo, live=False, hostile=False, profile=None,
                              base_url=None)
    assert launch.launch(args) == 0
    assert order == ["freeze", "run"]
