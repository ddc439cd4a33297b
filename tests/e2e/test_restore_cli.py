"""``close-tui restore`` end to end: subprocesses over loopback HTTP.

Most tests serve a fresh emulator in this process (so its request log proves what was
sent); one kills a real ``close-tui restore --apply`` with SIGKILL half-way against a
``close-tui demo-server`` process and checks, through the API alone, that the rerun
created every object exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.emulator.deletions import cases_of
from close_tui.emulator.server import RunningServer, serve
from close_tui.emulator.writes import writes_of

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "close_tui"]
NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[RunningServer]:
    emulator = Emulator(EmulatorConfig(n_leads=40, n_users=6), clock=FakeClock(NOW))
    with serve(emulator) as running:
        yield running


def env_for(tmp_path: Path, key: str | None, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CLOSE_") and k != "PYTHON_KEYRING_BACKEND"}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), CLOSE_BASE_URL=base_url,
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    if key is not None:
        env["CLOSE_API_KEY"] = key
    return env


def restore(
    server: RunningServer, tmp_path: Path, *args: str, key: str = "admin"
) -> subprocess.CompletedProcess[str]:
    em = server.emulator
    secret = {"admin": em.admin_key, "member": em.member_key}.get(key, key)
    return subprocess.run([*CLI, "restore", *args], env=env_for(tmp_path, secret, server.base_url),
                          capture_output=True, text=True, timeout=120)


def non_get(em: Emulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in em.request_log if r.method != "GET"]


def test_a_dry_run_prints_the_plan_and_sends_no_write(
    server: RunningServer, tmp_path: Path
) -> None:
    em = server.emulator
    lead = cases_of(em.sim).api_key_lead_id
    out = restore(server, tmp_path, "--lead", lead)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Restore plan: lead" in text and "Will be re-created: 1 lead, 3 contacts" in text
    assert "emails cannot be re-created" in text and "comes back as a draft" in text
    assert "Dry run: nothing was written" in text
    as_json = restore(server, tmp_path, "--lead", lead, "--format", "json")
    body = json.loads(as_json.stdout)
    assert body["can_apply"] and body["counts"]["SMS"] == 3
    assert body["journal"]["exists"] is False
    assert non_get(em) == []
    assert not (tmp_path / "data").exists()  # a dry run writes no journal either


def test_apply_then_rerun_says_it_is_complete(server: RunningServer, tmp_path: Path) -> None:
    em = server.emulator
    event = next(e for e in em.events() if e["object_type"] == "lead"
                 and e["action"] == "deleted" and "bulk_action_id" in e["meta"])
    out = restore(server, tmp_path, event["id"], "--apply")
    assert out.returncode == 0, out.stderr
    new_lead = writes_of(em).created[0].id
    assert f"Lead: {new_lead}  https://app.close.com/lead/{new_lead}/" in out.stdout
    assert "[1/" in out.stderr and "created lead" in out.stderr
    journal = tmp_path / "data" / "close-tui" / "restore" / f"{event['lead_id']}.json"
    assert json.loads(journal.read_text())["completed_at"]
    posts = len(non_get(em))
    again = restore(server, tmp_path, event["id"], "--apply")
    assert again.returncode == 0 and "already completed" in again.stdout
    assert len(non_get(em)) == posts
    shown = restore(server, tmp_path, event["id"])
    assert "this restore was completed" in shown.stdout


def test_journal_option_and_json_result(server: RunningServer, tmp_path: Path) -> None:
    em = server.emulator
    lead = cases_of(em.sim).user_lead_id
    journal = tmp_path / "mine.json"
    out = restore(server, tmp_path, "--lead", lead, "--apply", "--journal", str(journal),
                  "--format", "json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["completed"] and body["journal"] == str(journal) and body["failures"] == []
    assert body["new_lead_url"].endswith(f"/lead/{body['new_lead_id']}/")
    assert json.loads(journal.read_text())["new_lead_id"] == body["new_lead_id"]
    assert writes_of(em).sent_sms == []


def test_a_merged_lead_needs_explicit_consent(server: RunningServer, tmp_path: Path) -> None:
    em = server.emulator
    event = next(e for e in em.events() if e["object_type"] == "lead"
                 and e["action"] == "deleted" and "merge_source_lead_id" in e["meta"])
    dest = event["meta"]["merge_destination_lead_id"]
    plan = restore(server, tmp_path, event["id"])
    assert plan.returncode == 0 and dest in plan.stdout and "not restored by default" in plan.stdout
    refused = restore(server, tmp_path, event["id"], "--apply")
    assert refused.returncode == 1 and "--restore-merged" in refused.stderr
    assert non_get(em) == []
    forced = restore(server, tmp_path, event["id"], "--apply", "--restore-merged")
    assert forced.returncode == 0, forced.stderr
    assert len(non_get(em)) == 1  # the lead alone: its children live on in the destination


def test_a_member_key_learns_why_it_cannot_restore(server: RunningServer, tmp_path: Path) -> None:
    em = server.emulator
    lead = cases_of(em.sim).api_key_lead_id
    plan = restore(server, tmp_path, "--lead", lead, key="member")
    assert plan.returncode == 0
    assert "Nothing can be restored" in plan.stdout and "one hour" in plan.stdout
    applied = restore(server, tmp_path, "--lead", lead, "--apply", key="member")
    assert applied.returncode == 1 and "one hour" in applied.stderr
    assert non_get(em) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "give a deletion event id"),
        (["ev_x", "--lead", "lead_x"], 2, "not both"),
        (["lead_abc"], 2, "must be an event id"),
        (["--lead", "ev_abc"], 2, "must be a lead id"),
        (["ev_" + "0" * 22], 4, "not found"),
        (["--lead", "lead_" + "0" * 43], 4, "no deletion of lead"),
    ],
)
def test_exit_codes(
    server: RunningServer, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    out = restore(server, tmp_path, *args)
    assert out.returncode == code, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_not_a_deletion_a_living_lead_and_a_wrong_key(
    server: RunningServer, tmp_path: Path
) -> None:
    em = server.emulator
    created = next(e for e in em.events() if e["action"] == "created")
    out = restore(server, tmp_path, created["id"])
    assert out.returncode == 2 and "not a deletion" in out.stderr
    out = restore(server, tmp_path, "--lead", sorted(em.leads)[0])
    assert out.returncode == 2 and "nothing to restore" in out.stderr
    out = restore(server, tmp_path, created["id"], key="api_wrong.key")
    assert out.returncode == 3 and "api_wrong" not in out.stderr


# --------------------------------------------------------------------------- a real kill


@pytest.fixture
def demo_server() -> Iterator[dict[str, str]]:
    """``close-tui demo-server`` in its own process, slow enough to kill a run half-way."""
    proc = subprocess.Popen([*CLI, "demo-server", "--port", "0", "--latency-ms", "120"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    info: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        while len(info) < 3:
            line = proc.stdout.readline()
            assert line, "demo-server ended early"
            key, _, value = line.strip().partition("=")
            info[key] = value
        yield info
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def api_events(info: dict[str, str], params: dict[str, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = ""
    with httpx.Client(auth=(info["admin_key"], ""), timeout=30) as http:
        for _ in range(100):
            body = http.get(info["base_url"] + "/event/",
                            params={**params, "_cursor": cursor}).json()
            found.extend(body["data"])
            cursor = body["cursor_next"] or ""
            if not cursor:
                break
    return found


def test_sigkill_half_way_then_rerun_creates_every_object_exactly_once(
    demo_server: dict[str, str], tmp_path: Path
) -> None:
    deleted = api_events(demo_server, {"object_type": "lead", "action": "deleted"})
    lead = next(e for e in deleted if e["api_key_id"] and not e["meta"].get("bulk_action_id"))
    env = env_for(tmp_path, demo_server["admin_key"], demo_server["base_url"])
    journal = tmp_path / "journal.json"
    args = [*CLI, "restore", "--lead", lead["lead_id"], "--journal", str(journal)]
    plan = json.loads(subprocess.run([*args, "--format", "json"], env=env, capture_output=True,
                                     text=True, timeout=120, check=True).stdout)
    proc = subprocess.Popen([*args, "--apply"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if len(json.loads(journal.read_text())["created"]) >= 5:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        assert proc.poll() is None, "the restore finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    half = json.loads(journal.read_text())
    assert half["completed_at"] is None and len(half["created"]) < len(plan["items"])
    rerun = subprocess.run([*args, "--apply"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    done = json.loads(journal.read_text())
    assert done["completed_at"] and set(done["created"]) == {i["old_id"] for i in plan["items"]}
    new_lead = done["new_lead_id"]
    # Through the API only: one `created` event per planned object, no more.
    created = [e for e in api_events(demo_server, {"lead_id": new_lead})
               if e["action"] == "created"]
    assert len(created) == len(plan["items"])
    assert Counter(e["object_id"] for e in created).most_common(1)[0][1] == 1
    assert {e["object_id"] for e in created} == {c["new_id"] for c in done["created"].values()}
    by_type = Counter(e["object_type"] for e in created)
    assert by_type == Counter(i["object_type"] for i in plan["items"])
    sms = [e["data"]["status"] for e in created if e["object_type"] == "activity.sms"]
    assert "outbox" not in sms and "scheduled" not in sms
