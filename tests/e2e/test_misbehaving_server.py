"""`close-tui` against a server that misbehaves on purpose, over real loopback HTTP.

Each case runs the CLI as a subprocess against one prefix of
``close_tui.emulator.misbehaving`` and asserts the bounds the issue asks for: requests
the server received, wall seconds, the subprocess's peak RSS, the exit code, exactly one
clean line on stderr (no traceback), and no part of the credential anywhere in stdout or
stderr.

Peak RSS is the child's own ``VmHWM`` (``/proc/self/status``), written by a two-line
wrapper at exit. Not ``ru_maxrss``: Linux carries the pre-``exec`` high-water mark over,
and a child forked from a 200 MB pytest would report 200 MB whatever it did.

The time and memory bounds are correctness bounds, far above what the runs take (the
failure they catch is "loops until killed" or "grows to gigabytes"), not benchmarks.
Set ``CLOSE_TUI_MISBEHAVE_REPORT=path`` to append what each case measured to a file.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from close_tui.core.sanitize import PARTIAL_LEAK
from close_tui.emulator.misbehaving import MisbehavingServer, serve

pytestmark = pytest.mark.e2e

KEY = "api_4xSECRETKEYxx.SECRETPARTdo-not-leak-0123456789"
BASIC = base64.b64encode(f"{KEY}:".encode()).decode()
CLI = [sys.executable, "-m", "close_tui"]
#: ``python -m close_tui`` that also writes its peak RSS (kB) to $HWM_FILE at exit.
MEASURED_CLI = [
    sys.executable, "-c",
    "import atexit, os, runpy, sys\n"
    "def hwm():\n"
    "    status = open('/proc/self/status').read()\n"
    "    kb = [l.split()[1] for l in status.splitlines() if l.startswith('VmHWM:')][0]\n"
    "    open(os.environ['HWM_FILE'], 'w').write(kb)\n"
    "atexit.register(hwm)\n"
    "sys.argv[0] = 'close-tui'\n"
    "runpy.run_module('close_tui', run_name='__main__', alter_sys=True)\n",
]


@dataclass
class Run:
    case: str
    returncode: int
    stdout: str
    stderr: str
    requests: int
    seconds: float
    peak_rss_mb: float

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()


@pytest.fixture(scope="module")
def server() -> Iterator[MisbehavingServer]:
    with serve() as running:
        yield running


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSE_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        CLOSE_API_KEY=KEY,
    )
    return env


def run_cli(
    server: MisbehavingServer, case: str, args: list[str], home: Path, *, timeout: float = 90
) -> Run:
    """Run the CLI to its end; measure wall time and the child's own peak RSS."""
    server.reset()
    hwm_file = home / "hwm.kb"
    env = {**environment(home), "HWM_FILE": str(hwm_file)}
    started = time.monotonic()
    try:
        done = subprocess.run(
            [*MEASURED_CLI, *args, "--base-url", server.base_url(case)],
            env=env, capture_output=True, stdin=subprocess.DEVNULL, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{case}: still running after {timeout} s") from None
    seconds = time.monotonic() - started
    result = Run(
        case=case,
        returncode=done.returncode,
        stdout=done.stdout.decode("utf-8", "replace"),
        stderr=done.stderr.decode("utf-8", "replace"),
        requests=server.requests(case),
        seconds=seconds,
        peak_rss_mb=int(hwm_file.read_text()) / 1024,
    )
    report = os.environ.get("CLOSE_TUI_MISBEHAVE_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as handle:
            measured = {k: v for k, v in asdict(result).items() if k not in ("stdout", "stderr")}
            handle.write(json.dumps({**measured, "args": args, "stderr": result.lines}) + "\n")
    return result


def assert_no_credential(*texts: str) -> None:
    for text in texts:
        for secret in (KEY, BASIC):
            for i in range(len(secret) - PARTIAL_LEAK + 1):
                assert secret[i : i + PARTIAL_LEAK] not in text, f"leaked: {secret[i:i + 8]}…"


def assert_one_clean_line(run: Run) -> None:
    assert len(run.lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert run.lines[0].startswith("close-tui: ")
    assert_no_credential(run.stdout, run.stderr)


# (case, extra args, exit code, max requests, words in the line)
LOOPING = [
    ("repeat", [], 1, 4, "cursor_next already used"),
    ("cycle", [], 1, 5, "cursor_next already used"),
    ("empty", [], 1, 23, "no new event"),
    ("replay", [], 1, 23, "no new event"),
    ("nocursor", [], 1, 1, "no 'cursor_next' field"),
    ("hasmore", [], 1, 1, "has_more: true"),
    ("deep", [], 1, 1, "nested too deeply"),
    ("endless", [], 1, 1, "passed 64 MB"),
    ("drip", ["--timeout", "2", "--retries", "1"], 1, 2, "no complete answer within 2 s"),
    ("echo", [], 2, 1, "bad request 400"),
    ("echo429", ["--retries", "1"], 1, 2, "rate limited 429"),
]


@pytest.mark.parametrize(
    ("case", "extra", "code", "max_requests", "words"), LOOPING, ids=[c[0] for c in LOOPING]
)
def test_a_misbehaving_server_gets_one_clear_line_within_bounds(
    server: MisbehavingServer, tmp_path: Path,
    case: str, extra: list[str], code: int, max_requests: int, words: str,
) -> None:
    run = run_cli(server, case, ["events", "--format", "jsonl", *extra], tmp_path)
    assert run.returncode == code, run.stderr
    assert_one_clean_line(run)
    assert words in run.lines[0]
    assert 1 <= run.requests <= max_requests
    assert run.seconds < 15, run.seconds  # loops ran until killed; drips never ended
    # Endless bodies grew to 2.1 GB; the cap is 64 MB plus the interpreter (~60 MB).
    assert 0 < run.peak_rss_mb < 250, run.peak_rss_mb


def test_a_smaller_cap_is_a_smaller_footprint(server: MisbehavingServer, tmp_path: Path) -> None:
    run = run_cli(server, "endless", ["events", "--max-response-mb", "2"], tmp_path)
    assert run.returncode == 1
    assert_one_clean_line(run)
    assert "passed 2 MB" in run.lines[0]
    assert 0 < run.peak_rss_mb < 120, run.peak_rss_mb


def test_credentials_echoed_in_event_data_never_reach_the_output(
    server: MisbehavingServer, tmp_path: Path
) -> None:
    run = run_cli(server, "echodata", ["events", "--format", "jsonl"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(events) == 2
    assert events[0]["data"]["headers"]["Authorization"] == "Basic ***"
    assert_no_credential(run.stdout)

    one = run_cli(server, "echodata", ["event", "ev_0000000000000000000001"], tmp_path)
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["data"]["headers"]["Authorization"] == "Basic ***"
    assert_no_credential(one.stdout, one.stderr)


def test_an_event_whose_payloads_are_hidden_says_so_in_one_line(
    server: MisbehavingServer, tmp_path: Path
) -> None:
    run = run_cli(server, "hidden", ["event", "ev_0000000000000000000001"], tmp_path)
    assert run.returncode == 0
    assert "data" not in json.loads(run.stdout)
    assert_one_clean_line(run)
    assert "data and previous_data are not included" in run.lines[0]
    assert "younger than one hour" in run.lines[0]


# ---------------------------------------------------------------------------- -o FILE


def test_a_failure_mid_export_keeps_the_old_file_and_a_partial(
    server: MisbehavingServer, tmp_path: Path
) -> None:
    target = tmp_path / "events.jsonl"
    target.write_text("the last good export\n")
    run = run_cli(server, "fail", ["events", "-o", str(target)], tmp_path)
    assert run.returncode == 3, run.stderr  # the 401 after three pages
    assert target.read_text() == "the last good export\n"
    partial = Path(f"{target}.partial")
    lines = partial.read_text().splitlines()
    assert len(lines) == 150 and all(json.loads(line)["id"] for line in lines)
    assert len(run.lines) == 2  # "exporting … snapshot", then the one line of the failure
    assert "key revoked" in run.lines[1]
    assert f"150 events kept in {partial}; {target} left as it was" in run.lines[1]
    assert "Traceback" not in run.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_failure_before_any_event_leaves_the_file_alone(
    server: MisbehavingServer, tmp_path: Path
) -> None:
    target = tmp_path / "events.json"
    target.write_text("[]\n")
    run = run_cli(server, "nocursor", ["events", "-o", str(target), "--format", "json"], tmp_path)
    assert run.returncode == 1
    assert target.read_text() == "[]\n"
    assert not Path(f"{target}.partial").exists()
    assert f"nothing fetched; {target} left as it was" in run.lines[-1]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "hwm.kb") == ["events.json"]


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_ctrl_c_prints_one_line_keeps_a_closed_partial_and_exits_130(
    server: MisbehavingServer, tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / f"events.{fmt}"
    target.write_text("old\n")
    server.reset()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            [*CLI, "events", "-o", str(target), "--format", fmt,
             "--base-url", server.base_url("slow")],
            env=environment(tmp_path), stdout=subprocess.DEVNULL, stderr=err,
        )
        try:
            for _ in range(600):  # until a few pages have been written (0.1 s each)
                if server.requests("slow") >= 5:
                    break
                time.sleep(0.05)
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=30)
        finally:
            process.kill()
        err.seek(0)
        lines = err.read().decode().splitlines()
    assert code == 130
    assert "Traceback" not in "\n".join(lines)
    assert len(lines) == 2 and lines[1].startswith("close-tui: interrupted: ")
    assert "nothing more was fetched" in lines[1]
    assert target.read_text() == "old\n"
    partial = Path(f"{target}.partial")
    text = partial.read_text()
    count = int(lines[1].split("interrupted: ")[1].split(" events")[0])
    assert count >= 50
    if fmt == "json":
        assert len(json.loads(text)) == count  # a closed array
    elif fmt == "jsonl":
        assert [json.loads(line)["id"] for line in text.splitlines()][-1]
        assert text.endswith("\n") and len(text.splitlines()) == count
    else:
        assert len(text.splitlines()) == count + 1  # the header
    assert f"{count} events kept in {partial}" in lines[1]


def test_state_in_a_folder_that_takes_no_file_is_refused_before_any_request(
    server: MisbehavingServer, tmp_path: Path
) -> None:
    if os.geteuid() == 0:
        folder = Path("/sys")  # root ignores permission bits; sysfs refuses new files
    else:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
    state = folder / "close-tui-state.json"
    run = run_cli(server, "slow", ["events", "--state", str(state), "--since", "1h"], tmp_path)
    assert run.returncode == 2
    assert run.requests == 0
    assert_one_clean_line(run)
    assert str(state) in run.lines[0]


def test_state_in_a_missing_folder_is_refused_before_any_request(
    server: MisbehavingServer, tmp_path: Path
) -> None:
    state = tmp_path / "no such folder" / "state.json"
    run = run_cli(server, "slow", ["events", "--state", str(state)], tmp_path)
    assert run.returncode == 2
    assert run.requests == 0
    assert_one_clean_line(run)
    assert "does not exist" in run.lines[0]
