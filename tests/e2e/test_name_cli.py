"""`close-tui events --lead NAME / --user NAME` and names in `--format table`, end to
end: the CLI in a subprocess against the emulator served over loopback HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.emulator.server import RunningServer, serve
from tests.e2e.conftest import E2E_NOW

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "close_tui"]


def run(args: list[str], tmp_path: Path, server: RunningServer) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CLOSE_") and k != "PYTHON_KEYRING_BACKEND"}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               CLOSE_API_KEY=server.emulator.admin_key, CLOSE_BASE_URL=server.base_url)
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def no_search() -> Iterator[RunningServer]:
    """A server whose key may not search (403 on POST /data/search/)."""
    emulator = Emulator(EmulatorConfig(n_leads=30, n_users=6, endpoints_off={"search": 403}),
                        clock=FakeClock(E2E_NOW))
    with serve(emulator) as running:
        yield running


def unique_and_shared_names(emulator: Emulator) -> tuple[str, str, str]:
    """A lead name held by one lead only, its id, and a first word several leads share."""
    names = Counter(lead["display_name"] for lead in emulator.leads.values())
    heads = Counter(name.split()[0] for name in names)
    lead_id, name = next(
        (lid, lead["display_name"]) for lid, lead in emulator.leads.items()
        if names[lead["display_name"]] == 1 and heads[lead["display_name"].split()[0]] > 1
    )
    return name, lead_id, name.split()[0]


def test_lead_by_name_lists_exactly_that_leads_events(
    loopback_emulator: RunningServer, tmp_path: Path
) -> None:
    name, lead_id, _ = unique_and_shared_names(loopback_emulator.emulator)
    out = run(["events", "--lead", name, "--format", "jsonl"], tmp_path, loopback_emulator)
    assert out.returncode == 0, out.stderr
    got = [json.loads(line) for line in out.stdout.splitlines()]
    expected = loopback_emulator.emulator.expected({"lead_id": lead_id})
    assert [e["id"] for e in got] == [e["id"] for e in expected]
    assert got == expected  # JSONL stays the raw API objects: no names added


def test_part_of_a_name_with_several_matches_lists_the_candidates_and_exits_2(
    loopback_emulator: RunningServer, tmp_path: Path
) -> None:
    _, _, head = unique_and_shared_names(loopback_emulator.emulator)
    out = run(["events", "--lead", head.lower()], tmp_path, loopback_emulator)
    assert out.returncode == 2
    assert out.stdout == ""
    sharing = [lid for lid, lead in loopback_emulator.emulator.leads.items()
               if lead["display_name"].split()[0] == head]
    assert len(sharing) > 1
    lines = out.stderr.splitlines()
    assert lines[0].startswith("close-tui: error: --lead ")
    assert "give a longer name or --lead-id" in lines[0]
    assert "␊" not in out.stderr  # one candidate a line, not folded into one
    for lead_id in sharing[:10]:
        (line,) = [line for line in lines[1:] if line.endswith(lead_id)]
        name = loopback_emulator.emulator.leads[lead_id]["display_name"]
        assert line.startswith(f"  {name}")


def test_no_match_exits_4_with_one_line(loopback_emulator: RunningServer, tmp_path: Path) -> None:
    out = run(["events", "--lead", "Zzyzx Qwerty"], tmp_path, loopback_emulator)
    assert out.returncode == 4
    assert out.stderr.strip() == "close-tui: no lead matches 'Zzyzx Qwerty'"
    out = run(["events", "--user", "Nobody Atall"], tmp_path, loopback_emulator)
    assert out.returncode == 4


def test_a_deactivated_user_is_found_by_name(
    loopback_emulator: RunningServer, tmp_path: Path
) -> None:
    sim = loopback_emulator.emulator.sim
    left = sim.left_user
    assert left is not None
    out = run(["events", "--user", sim.user_names[left], "--max", "20", "--format", "jsonl"],
              tmp_path, loopback_emulator)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert events and all(e["user_id"] == left for e in events)


def test_table_names_leads_users_and_fields(
    loopback_emulator: RunningServer, tmp_path: Path
) -> None:
    name, _, _ = unique_and_shared_names(loopback_emulator.emulator)
    out = run(["events", "--lead", name, "--format", "table", "--max", "8"], tmp_path,
              loopback_emulator)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("TIME") and len(lines) == 9
    assert "lead_" not in out.stdout  # the LEAD column shows the name
    assert all(name[:13] in line for line in lines[1:])
    users = set(loopback_emulator.emulator.sim.user_names.values())
    assert all(any(u[:13] in line for u in users) or " system " in line for line in lines[1:])
    assert "\x1b" not in out.stdout


def test_flags_that_contradict_each_other_are_a_usage_error(
    loopback_emulator: RunningServer, tmp_path: Path
) -> None:
    lead_id = next(iter(loopback_emulator.emulator.leads))
    out = run(["events", "--lead", "Acme", "--lead-id", lead_id], tmp_path, loopback_emulator)
    assert out.returncode == 2
    assert "give --lead or --lead-id, not both" in out.stderr


def test_a_key_that_may_not_search_says_so(no_search: RunningServer, tmp_path: Path) -> None:
    out = run(["events", "--lead", "Acme"], tmp_path, no_search)
    assert out.returncode == 4
    assert "cannot search leads by name" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert [r.path for r in no_search.emulator.request_log].count("/api/v1/data/search/") == 1
