"""The headless CLI end to end: subprocesses against `close-tui demo-server` on loopback."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "close_tui"]


@pytest.fixture(scope="module")
def server() -> Iterator[dict[str, str]]:
    proc = subprocess.Popen(
        [*CLI, "demo-server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    info: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        while len(info) < 3:
            line = proc.stdout.readline()
            assert line, f"demo-server ended early: {proc.stderr.read() if proc.stderr else ''}"
            key, _, value = line.strip().partition("=")
            info[key] = value
        assert info["base_url"].startswith("http://127.0.0.1:")
        yield info
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run(
    args: list[str], tmp_path: Path, key: str | None = None, base_url: str | None = None,
    **kw: object,
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("CLOSE_") and k not in ("PYTHON_KEYRING_BACKEND",)
    }
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               # never touch a real keyring from these tests
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    if key is not None:
        env["CLOSE_API_KEY"] = key
    if base_url is not None:
        env["CLOSE_BASE_URL"] = base_url
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True,
                          timeout=60, **kw)  # type: ignore[call-overload]


def test_events_jsonl_are_the_api_objects(server: dict[str, str], tmp_path: Path) -> None:
    out = run(["events", "--max", "7", "--format", "jsonl"], tmp_path,
              server["admin_key"], server["base_url"])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 7
    events = [json.loads(line) for line in lines]
    assert all(e["id"].startswith("ev_") for e in events)
    stamps = [e["date_updated"] for e in events]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    one = run(["event", events[3]["id"]], tmp_path, server["admin_key"], server["base_url"])
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout) == events[3]


def test_filters_reach_the_server(server: dict[str, str], tmp_path: Path) -> None:
    first = json.loads(run(["events", "--max", "1"], tmp_path, server["admin_key"],
                           server["base_url"]).stdout)
    out = run(["events", "--request-id", first["request_id"], "--format", "jsonl"], tmp_path,
              server["admin_key"], server["base_url"])
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert events and all(e["request_id"] == first["request_id"] for e in events)
    assert first["id"] in {e["id"] for e in events}


def test_piped_default_is_jsonl_and_csv_has_documented_columns(
    server: dict[str, str], tmp_path: Path
) -> None:
    out = run(["events", "--max", "3", "--format", "csv"], tmp_path, server["admin_key"],
              server["base_url"])
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0][:4] == ["id", "date_updated", "date_created", "action"]
    assert len(rows) == 4
    target = tmp_path / "out.jsonl"
    out = run(["events", "--max", "4", "-o", str(target)], tmp_path, server["admin_key"],
              server["base_url"])
    assert out.returncode == 0 and out.stdout == ""
    assert len(target.read_text().splitlines()) == 4


def test_table_format(server: dict[str, str], tmp_path: Path) -> None:
    out = run(["events", "--max", "5", "--format", "table"], tmp_path, server["admin_key"],
              server["base_url"])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("TIME") and len(lines) == 6
    assert "\x1b" not in out.stdout


def test_closed_pipe_ends_quietly(server: dict[str, str], tmp_path: Path) -> None:
    env_cmd = " ".join(f"'{c}'" for c in CLI)
    out = subprocess.run(
        f"{env_cmd} events --max 2000 | head -n 2",
        shell=True, capture_output=True, text=True, timeout=60,
        env={**os.environ, "HOME": str(tmp_path), "CLOSE_API_KEY": server["admin_key"],
             "CLOSE_BASE_URL": server["base_url"],
             "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
    )
    assert len(out.stdout.splitlines()) == 2
    assert out.stderr == ""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["events", "--action", "deleted"], "add object_type"),
        (["events", "--request-id", "req_x", "--lead-id", "lead_x"], "nearest supported"),
        (["events", "--since", "yesterday-ish"], "cannot read"),
        (["events", "--max", "0"], "--max"),
        (["events", "--format", "xml"], "--format"),
        (["events", "--no-such-flag"], "unrecognized"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    server: dict[str, str], tmp_path: Path, args: list[str], needle: str
) -> None:
    out = run(args, tmp_path, server["admin_key"], server["base_url"])
    assert out.returncode == 2
    assert needle in out.stderr
    assert "Traceback" not in out.stderr
    assert len([ln for ln in out.stderr.splitlines() if "error" in ln]) == 1


def test_wrong_key_exits_3_without_echoing_it(server: dict[str, str], tmp_path: Path) -> None:
    bogus = "api_0000000000000000000000.NotARealKeyAtAll99999"
    out = run(["events", "--max", "1"], tmp_path, bogus, server["base_url"])
    assert out.returncode == 3
    assert bogus not in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


def test_no_key_exits_3(server: dict[str, str], tmp_path: Path) -> None:
    out = run(["events", "--max", "1"], tmp_path, None, server["base_url"])
    assert out.returncode == 3
    assert "auth login" in out.stderr or "CLOSE_API_KEY" in out.stderr


def test_unknown_event_exits_4(server: dict[str, str], tmp_path: Path) -> None:
    out = run(["event", "ev_0000000000000000000000"], tmp_path, server["admin_key"],
              server["base_url"])
    assert out.returncode == 4, out.stderr


def test_dead_network_exits_1(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens there now: connection refused, one retry, then exit 1.
    out = run(["events", "--max", "1", "--retries", "1"], tmp_path, "api_x.y",
              f"http://127.0.0.1:{port}/api/v1")
    assert out.returncode == 1
    assert "Traceback" not in out.stderr


def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path) -> None:
    out = run(["events", "--max", "1"], tmp_path, "api_x.y", "http://example.com/api/v1")
    assert out.returncode == 2
    assert "http" in out.stderr


def test_demo_needs_no_key_or_network(tmp_path: Path) -> None:
    out = run(["--demo", "events", "--max", "3"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 3


@pytest.mark.parametrize("sub", [[], ["events"], ["event"], ["auth"], ["demo-server"]])
def test_every_command_has_help(sub: list[str], tmp_path: Path) -> None:
    out = run([*sub, "--help"], tmp_path)
    assert out.returncode == 0
    assert "usage:" in out.stdout
