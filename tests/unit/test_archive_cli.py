"""``close-tui archive sync|status|export`` and ``close-tui events --archive`` in-process,
on a small emulated organization (``make_client`` patched to reach it)."""

from __future__ import annotations

import csv
import io
import json
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from close_tui import cli
from close_tui.core import jsonnum
from close_tui.core.archive.lock import sync_lock
from close_tui.core.archive.query import ArchiveFilter
from close_tui.core.archive.store import ArchiveStore
from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.export import CSV_COLUMNS
from close_tui.emulator import Emulator, FakeClock
from tests.unit.archive_support import reference, stored, truth

MakeEmulator = Callable[..., tuple[Emulator, FakeClock]]


@pytest.fixture
def world(
    make_emulator: MakeEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Emulator:
    """A small organization the CLI reaches instead of the real API; archives go to a
    throwaway data directory."""
    em, _ = make_emulator(n_leads=10, n_users=4)
    use(monkeypatch, em)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return em


def use(monkeypatch: pytest.MonkeyPatch, em: Emulator, key: str | None = None) -> None:
    def make_client(args: Any) -> CloseClient:
        return CloseClient(
            "https://emulator.test/api/v1",
            api_key=key or em.admin_key,
            transport=em.transport(),
            retry=RetryPolicy(max_attempts=2, base_delay=0.0),
        )

    monkeypatch.setattr(cli, "make_client", make_client)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_sync_then_any_combination_in_every_format(
    world: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "archive", "sync", "--no-progress")
    assert code == 0, err
    assert "synced" in err and "new" in err
    assert "events for search" in err  # the pause after fetching is explained
    assert stored(archive_file(tmp_path)) == truth(world)
    events = world.events()
    user = next(e["user_id"] for e in events if e["action"] == "deleted" and e["user_id"])
    # Two combinations the API refuses: an action alone, a user with an action.
    for argv, flt in (
        (["--action", "deleted"], ArchiveFilter(action="deleted")),
        (["--user-id", user, "--action", "deleted"], ArchiveFilter(user_id=user,
                                                                   action="deleted")),
    ):
        code, out, err = run(capsys, "events", "--archive", *argv, "--format", "jsonl")
        assert code == 0, err
        ids = [json.loads(line)["id"] for line in out.splitlines()]
        assert ids == reference(events, flt) and ids
        code, out, _ = run(capsys, "events", "--archive", *argv, "--format", "json")
        assert [e["id"] for e in json.loads(out)] == ids
        code, out, _ = run(capsys, "events", "--archive", *argv, "--format", "csv")
        rows = list(csv.reader(io.StringIO(out)))
        assert tuple(rows[0]) == CSV_COLUMNS and [r[0] for r in rows[1:]] == ids
        code, out, _ = run(capsys, "events", "--archive", *argv, "--format", "table")
        assert out.splitlines()[0].startswith("TIME") and len(out.splitlines()) == len(ids) + 1
    code, out, _ = run(capsys, "events", "--archive", "--action", "updated", "--max", "3")
    assert len(out.splitlines()) == 3


def test_since_until_and_search_over_the_archive(
    world: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "archive", "sync", "--no-progress")[0] == 0
    events = world.events()
    code, out, err = run(
        capsys, "events", "--archive", "--since", "2026-11-01T00:00Z",
        "--until", "2026-11-03T00:00Z", "--format", "jsonl",
    )
    assert code == 0, err
    ids = [json.loads(line)["id"] for line in out.splitlines()]
    assert ids and all(
        "2026-11-01" <= jsonnum.loads(line)["date_updated"] < "2026-11-03"
        for line in out.splitlines()
    )
    for search in ("questionnaire", '"call back"'):
        code, out, err = run(capsys, "events", "--archive", "--search", search,
                             "--format", "jsonl")
        assert code == 0, err
        found = [json.loads(line)["id"] for line in out.splitlines()]
        with ArchiveStore(archive_file(tmp_path), readonly=True) as store:
            names = store.names()  # users and leads learned by the sync
        assert found == reference(events, ArchiveFilter(search=search), names) and found


def archive_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "close-tui" / "archive" / "default.sqlite3"


def test_usage_errors_are_one_line(world: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "events", "--search", "acme", "--lead-id", "lead_x")
    assert code == 2 and "--search needs --archive" in one_line(err)
    code, _, err = run(capsys, "events", "--archive", "--parallel", "2")
    assert code == 2 and "--parallel has no meaning with --archive" in one_line(err)
    code, _, err = run(capsys, "events", "--archive", "--user-id", "lead_wrong")
    assert code == 2 and "--user-id" in one_line(err)
    code, _, err = run(capsys, "events", "--archive", "--search", "***")
    assert code == 2 and "nothing to search for" in one_line(err)


def test_no_archive_yet_is_one_line_and_exit_4(
    world: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for argv in (["events", "--archive", "--action", "deleted"], ["archive", "status"],
                 ["archive", "export", "--parquet", str(tmp_path / "pq")]):
        code, _, err = run(capsys, *argv)
        assert code == 4 and "run `close-tui archive sync` first" in one_line(err), argv
    assert not (tmp_path / "data" / "close-tui" / "archive" / "default.sqlite3").exists()


def test_status_says_what_is_stored(
    world: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "mine.sqlite3")
    assert run(capsys, "archive", "sync", "--db", db, "--no-progress")[0] == 0
    code, out, err = run(capsys, "archive", "status", "--db", db)
    assert code == 0, err
    org = world.organization
    assert f"{org['name']} ({org['id']})" in out
    assert f"events:         {len(truth(world)):,}, date_updated " in out
    for label in ("size on disk:", "bytes per event", "last sync:", "covered:", "gaps:"):
        assert label in out
    code, out, _ = run(capsys, "archive", "status", "--db", db, "--json")
    body = json.loads(out)
    assert body["events"] == len(truth(world)) and body["gaps"] == []
    assert body["organization_id"] == org["id"] and body["last_sync"]["requests"] > 10


def test_another_organization_and_a_running_sync_are_refused(
    world: Emulator,
    make_emulator: MakeEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    db = tmp_path / "a.sqlite3"
    assert run(capsys, "archive", "sync", "--db", str(db), "--no-progress")[0] == 0
    other, _ = make_emulator(seed=8, n_leads=5, n_users=3)
    use(monkeypatch, other)
    code, _, err = run(capsys, "archive", "sync", "--db", str(db), "--no-progress")
    assert code == 2
    line = [x for x in err.splitlines() if "refusing" in x]
    assert len(line) == 1 and world.organization["id"] in line[0]
    assert "Traceback" not in err
    use(monkeypatch, world)
    with sync_lock(db):
        code, _, err = run(capsys, "archive", "sync", "--db", str(db), "--no-progress")
    assert code == 1 and "another archive sync is running" in err and "Traceback" not in err


def test_parquet_export_reads_back_equal(
    world: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    db = str(tmp_path / "a.sqlite3")
    assert run(capsys, "archive", "sync", "--db", db, "--no-progress")[0] == 0
    out_dir = tmp_path / "parquet"
    code, _, err = run(capsys, "archive", "export", "--db", db, "--parquet", str(out_dir))
    assert code == 0, err
    files = sorted(out_dir.glob("date=*/events.parquet"))
    days = [p.parent.name for p in files]
    assert len(days) >= 28 and f"in {len(days):,} daily files" in err
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}  # CRM data
    assert {stat.S_IMODE(p.parent.stat().st_mode) for p in files} == {0o700}
    table = pq.read_table(out_dir, partitioning="hive")  # as DuckDB/Spark would see it
    rows = table.to_pylist()
    expected = {i: jsonnum.loads(t) for i, t in truth(world).items()}
    assert sorted(r["id"] for r in rows) == sorted(expected)
    for row in rows[:300]:
        event = expected[row["id"]]
        assert str(row["date"]) == event["date_updated"][:10]
        assert row["date_updated"].strftime("%Y-%m-%dT%H:%M:%S.%f") == event["date_updated"]
        assert jsonnum.loads(row["data"]) == event["data"]
        assert jsonnum.loads(row["previous_data"]) == event["previous_data"]
        assert row["changed_fields"] == event["changed_fields"]
        assert row["extra"] is None


def test_parquet_keeps_missing_null_and_empty_payloads_apart(
    world: Emulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    states = set()
    for key in ("admin", "member"):  # the member key sees no payload after an hour
        use(monkeypatch, world, key={"admin": world.admin_key, "member": world.member_key}[key])
        db = str(tmp_path / f"{key}.sqlite3")
        assert run(capsys, "archive", "sync", "--db", db, "--no-progress")[0] == 0
        out_dir = tmp_path / f"parquet-{key}"
        assert run(capsys, "archive", "export", "--db", db, "--parquet", str(out_dir))[0] == 0
        rows = {r["id"]: r for r in pq.read_table(out_dir, partitioning="hive").to_pylist()}
        for event_id, text in truth(world, admin=key == "admin").items():
            event, row = jsonnum.loads(text), rows[event_id]
            if "data" not in event:
                assert row["data"] is None and row["previous_data"] is None
                states.add("missing")
            elif event["data"] is None:
                assert row["data"] == "null"
                states.add("null")
            elif event["previous_data"] == {}:
                assert row["previous_data"] == "{}"
                states.add("empty")
    assert states == {"missing", "null", "empty"}


def test_parquet_without_pyarrow_is_one_line(
    world: Emulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "a.sqlite3")
    assert run(capsys, "archive", "sync", "--db", db, "--no-progress")[0] == 0
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    code, _, err = run(capsys, "archive", "export", "--db", db, "--parquet", str(tmp_path / "x"))
    assert code == 1
    assert "pip install 'close-tui[parquet]'" in one_line(err)
