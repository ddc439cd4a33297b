"""`close-tui archive sync` and `events --archive` as subprocesses over loopback HTTP:
what a cron job and a person at a shell would run, checked against the emulator's truth."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from close_tui.core.archive.lock import sync_lock
from close_tui.core.archive.query import ArchiveFilter
from close_tui.emulator import Emulator, EmulatorConfig
from close_tui.emulator.server import RunningServer, serve
from tests.unit.archive_support import reference, stored, truth

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "close_tui"]


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve(Emulator(EmulatorConfig(n_leads=12, n_users=4))) as running:
        yield running


def run(server: RunningServer, args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSE_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        CLOSE_API_KEY=server.emulator.admin_key,
        CLOSE_BASE_URL=server.base_url,
    )
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=300)


def test_sync_over_loopback_then_list_offline(server: RunningServer, tmp_path: Path) -> None:
    done = run(server, ["archive", "sync"], tmp_path)
    assert done.returncode == 0, done.stderr
    db = tmp_path / "data" / "close-tui" / "archive" / "default.sqlite3"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stored(db) == truth(server.emulator)
    events = server.emulator.events()
    user = next(e["user_id"] for e in events if e["action"] == "updated" and e["user_id"])
    listing = run(
        server,
        ["events", "--archive", "--user-id", user, "--action", "updated", "--format", "jsonl"],
        tmp_path,
    )
    assert listing.returncode == 0, listing.stderr
    ids = [json.loads(line)["id"] for line in listing.stdout.splitlines()]
    assert ids and ids == reference(events, ArchiveFilter(user_id=user, action="updated"))
    status = run(server, ["archive", "status"], tmp_path)
    assert status.returncode == 0 and "gaps:           none" in status.stdout
    key = server.emulator.admin_key
    for output in (done, listing, status):
        assert key not in output.stdout + output.stderr
        assert key.split(".")[1] not in output.stdout + output.stderr


def test_a_sync_while_another_process_syncs_is_refused(
    server: RunningServer, tmp_path: Path
) -> None:
    db = tmp_path / "a.sqlite3"
    with sync_lock(db):  # this process is "the other sync"
        refused = run(server, ["archive", "sync", "--db", str(db)], tmp_path)
    assert refused.returncode == 1
    lines = [x for x in refused.stderr.splitlines() if "another archive sync" in x]
    assert len(lines) == 1 and f"(process {os.getpid()})" in lines[0]
    assert "Traceback" not in refused.stderr
