"""`close-tui events -o FILE` as a subprocess, over loopback, against a faulty server.

The emulator runs in this process (on the system clock, so its rate windows move) and
the CLI in a subprocess: what a cron job would run, checked against the emulator's truth.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from close_tui.core import jsonnum
from close_tui.core.export import CSV_COLUMNS
from close_tui.emulator import Emulator, EmulatorConfig, hostile
from close_tui.emulator.server import RunningServer, serve

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "close_tui"]


@pytest.fixture(scope="module")
def faulty_server() -> Iterator[RunningServer]:
    """A small organization behind a server failing 15 % of requests (real time: each
    fault costs a backoff or a timeout, so the organization is kept small)."""
    emulator = Emulator(EmulatorConfig(n_leads=10, n_users=4, fault_rate=0.15))
    with serve(emulator) as running:
        yield running


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    emulator = Emulator(EmulatorConfig(n_leads=30, n_users=6))
    with serve(emulator) as running:
        yield running


def run(server: RunningServer, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSE_")}
    env.update(
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        CLOSE_API_KEY=server.emulator.admin_key,
        CLOSE_BASE_URL=server.base_url,
    )
    return subprocess.run(
        [*CLI, *args, "--retries", "12", "--timeout", "1"],
        env=env, capture_output=True, text=True, timeout=120,
    )


def _truth(server: RunningServer) -> list[dict[str, Any]]:
    return server.emulator.expected({})


@pytest.mark.parametrize("extra", [[], ["--parallel", "4"]], ids=["sequential", "parallel"])
def test_jsonl_export_equals_the_truth_despite_faults(
    faulty_server: RunningServer, tmp_path: Path, extra: list[str]
) -> None:
    target = tmp_path / "events.jsonl"
    out = run(faulty_server, ["events", "-o", str(target), "--format", "jsonl", *extra], tmp_path)
    assert out.returncode == 0, out.stderr
    got = [json.loads(line) for line in target.read_text().splitlines()]
    assert got == _truth(faulty_server)
    lines = out.stderr.splitlines()
    assert "snapshot date_updated <=" in lines[0]
    assert f"{len(got)} events in" in lines[-1]
    assert "\r" not in out.stderr  # no progress bar when stderr is not a terminal
    assert out.stdout == ""


def test_csv_export_has_the_documented_columns_and_the_api_values(
    server: RunningServer, tmp_path: Path
) -> None:
    target = tmp_path / "events.csv"
    out = run(server, ["events", "-o", str(target), "--format", "csv", "--parallel", "3"],
              tmp_path)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(), newline="")))
    truth = _truth(server)
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [r["id"] for r in rows] == [e["id"] for e in truth]
    for row, event in zip(rows, truth, strict=True):
        assert row["date_updated"] == event["date_updated"]
        assert json.loads(row["data"]) == event["data"]
        assert row["changed_fields"] == ";".join(event["changed_fields"])


def test_state_runs_write_only_new_events(server: RunningServer, tmp_path: Path) -> None:
    state = tmp_path / "archive.state.json"
    first, second = tmp_path / "day1.jsonl", tmp_path / "day2.jsonl"
    out = run(server, ["events", "--state", str(state), "-o", str(first)], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "state saved" in out.stderr
    saved = json.loads(state.read_text())
    truth = _truth(server)
    assert saved["watermark"] == truth[0]["date_updated"]
    assert len(first.read_text().splitlines()) == len(truth)
    # Nothing happened since: the next run overlaps five minutes and writes nothing again.
    out = run(server, ["events", "--state", str(state), "-o", str(second)], tmp_path)
    assert out.returncode == 0, out.stderr
    assert second.read_text() == ""
    assert ">= " in out.stderr.splitlines()[0]  # started from the watermark
    # --max would leave a gap in an archive.
    refused = run(server, ["events", "--state", str(state), "--max", "3"], tmp_path)
    assert refused.returncode == 2 and "--max" in refused.stderr


def test_readme_documents_the_csv_columns() -> None:
    readme = Path(__file__).resolve().parents[2] / "README.md"
    text = readme.read_text()
    section = text.split("#### CSV columns", 1)[1].split("\n#", 1)[0]
    listed = section.split("`", 2)[1]
    assert [c.strip() for c in listed.replace("\n", " ").split(",")] == list(CSV_COLUMNS)


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[RunningServer]:
    emulator = Emulator(EmulatorConfig(n_leads=10, n_users=4, hostile=True))
    with serve(emulator) as running:
        yield running


def _strict(text: str) -> Any:
    """RFC 8259 only (no NaN/Infinity), every number exact."""

    def refuse(name: str) -> Any:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse, parse_float=Decimal, parse_int=Decimal)


@pytest.mark.parametrize("extra", [[], ["--parallel", "3"]], ids=["sequential", "parallel"])
def test_numbers_no_float_holds_are_exported_as_valid_exact_json(
    hostile_server: RunningServer, tmp_path: Path, extra: list[str]
) -> None:
    # 1e400, 1e-400 and a 5,000-digit integer: Python's json would write Infinity and 0.0
    # and refuse the integer; the next tool reading the export must get the same numbers.
    target = tmp_path / "hostile.jsonl"
    lead = ["--lead-id", hostile.HOSTILE_LEAD_ID]
    out = run(hostile_server, ["events", *lead, "-o", str(target), *extra], tmp_path)
    assert out.returncode == 0, out.stderr
    lines = target.read_text(encoding="utf-8").splitlines()
    truth = hostile_server.emulator.expected({"lead_id": hostile.HOSTILE_LEAD_ID})
    assert [_strict(line) for line in lines] == [_strict(jsonnum.dumps(e)) for e in truth]
    [odd] = [_strict(line) for line in lines if hostile.HOSTILE_OBJECT_ID in line]
    assert odd["data"]["huge_float"] == Decimal("1e400")
    assert odd["data"]["tiny_float"] == Decimal("1e-400")
    assert odd["data"]["long_int"] == Decimal("9" * 5000)
    assert odd["data"]["huge_int"] == 10**400

    shown = run(hostile_server, ["event", odd["id"]], tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert _strict(shown.stdout) == odd
