"""Local files that go bad, met by the real `close-tui` process: stdout on a full disk,
a config file with invalid bytes. One line, the right exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "close_tui"]


def run(args: list[str], home: Path, *, stdout: int | None = None,
        extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSE_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", **(extra_env or {}))
    return subprocess.run([*CLI, *args], env=env, text=True, timeout=120,
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [["events", "--max", "5"], ["events", "--max", "5", "--format", "table"], ["event", "FIRST"]],
    ids=["events", "events table (with names)", "event"],
)
def test_stdout_on_a_full_disk_is_one_line(tmp_path: Path, args: list[str]) -> None:
    if args[-1] == "FIRST":
        first = run(["--demo", "events", "--max", "1", "--format", "jsonl"], tmp_path)
        args = ["event", first.stdout.split('"id":"')[1].split('"')[0]]
    with open("/dev/full", "w") as full:
        out = run(["--demo", *args], tmp_path, stdout=full.fileno())
    assert out.returncode == 1
    assert out.stderr == "close-tui: cannot write standard output: No space left on device\n"


@pytest.mark.parametrize(
    "args", [["events", "--max", "1"], ["auth", "status"], ["auth", "logout"]],
    ids=["events", "auth status", "auth logout"],
)
def test_a_config_with_invalid_bytes_is_one_line_naming_it(tmp_path: Path, args: list[str]) -> None:
    config = tmp_path / "config" / "close-tui" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_bytes(b"\xff\xfe\x00garbage")
    out = run(args, tmp_path, extra_env={"CLOSE_API_KEY": "api_x.y"})
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and str(config) in lines[0] and "not UTF-8" in lines[0]


def test_an_empty_config_file_is_no_problem(tmp_path: Path) -> None:
    config = tmp_path / "config" / "close-tui" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_bytes(b"")
    out = run(["--demo", "events", "--max", "2", "--format", "jsonl"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 2
