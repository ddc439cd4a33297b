"""A headless export through a faulty API loses nothing and invents nothing.

``close-tui events`` (a subprocess, real loopback HTTP) against the emulator injecting
faults into 15% of its answers (HTML 502, 503, dropped connections, answers slower than
the timeout, truncated JSON, wrong content type) must print exactly the events the
emulator says match the filter, in order, once each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.emulator.server import RunningServer, serve

pytestmark = pytest.mark.e2e

FAULTY = EmulatorConfig(n_leads=25, n_users=4, fault_rate=0.15)


@pytest.fixture(scope="module")
def faulty_server() -> Iterator[RunningServer]:
    from datetime import UTC, datetime

    emulator = Emulator(FAULTY, clock=FakeClock(datetime(2026, 11, 20, 12, tzinfo=UTC)))
    with serve(emulator) as running:
        yield running


def run_events(server: RunningServer, tmp_path: Path, *args: str) -> list[dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSE_")}
    env.update(
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        CLOSE_API_KEY=server.emulator.admin_key,
        CLOSE_BASE_URL=server.base_url,
    )
    done = subprocess.run(
        # A short timeout: a "slow" fault answers after 30 s, the client gives up at 1 s.
        [sys.executable, "-m", "close_tui", "events", "--format", "jsonl",
         "--timeout", "1", "--retries", "8", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_an_export_under_15_percent_faults_equals_the_truth(
    faulty_server: RunningServer, tmp_path: Path
) -> None:
    emulator = faulty_server.emulator
    before = len(emulator.request_log)
    got = run_events(faulty_server, tmp_path)
    truth = emulator.expected({})
    assert len(truth) > 500  # many pages, so many faults
    assert [e["id"] for e in got] == [e["id"] for e in truth]
    assert got == truth
    faults = [r.fault for r in emulator.request_log[before:] if r.fault]
    assert faults, "no fault was injected: the test proved nothing"
    assert len(set(faults)) >= 3, faults
