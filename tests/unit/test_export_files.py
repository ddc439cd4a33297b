"""Local files of an export: ``-o FILE`` (core.output), the ``--state`` file, and the
CLI's one line for each problem with them.

The CLI cases run ``close_tui.cli.main`` in-process on the demo organization (no server)
and check the exit code, the one stderr line naming the file, and that nothing was
requested when the problem could be seen before the first request.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from close_tui import cli
from close_tui.core.errors import LocalFileError
from close_tui.core.exporter import (
    StateMismatch,
    check_state_writable,
    load_state,
    new_state,
    save_state,
)
from close_tui.core.filters import EventFilter
from close_tui.core.output import OutputFile

# ---------------------------------------------------------------------------- OutputFile


def test_the_file_is_replaced_only_on_commit(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    output = OutputFile(str(target))
    output.stream.write('{"a":1}\n')
    output.stream.flush()
    assert target.read_text() == "old\n"  # the new text is beside it, not in it
    output.commit()
    assert target.read_text() == '{"a":1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_a_committed_file_gets_ordinary_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        output = OutputFile(str(tmp_path / "out.csv"))
        output.stream.write("id\n")
        output.commit()
    finally:
        os.umask(umask)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o644


def test_a_partial_json_export_is_a_closed_array(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("[1]\n")
    output = OutputFile(str(target))
    output.stream.write('[\n{"id":"a"}')
    output.stream.write(',\n{"id":"b"}')
    assert output.keep_partial("\n]\n", "[]\n") == f"{target}.partial"
    assert json.loads(Path(f"{target}.partial").read_text()) == [{"id": "a"}, {"id": "b"}]
    assert target.read_text() == "[1]\n"


def test_a_partial_with_nothing_in_it_is_still_valid_json(tmp_path: Path) -> None:
    output = OutputFile(str(tmp_path / "out.json"))
    partial = output.keep_partial("\n]\n", "[]\n")
    assert partial is not None and json.loads(Path(partial).read_text()) == []


def test_a_write_cut_short_by_a_full_disk_is_trimmed_to_whole_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = OutputFile(str(tmp_path / "out.jsonl"))
    stream = output.stream
    for i in range(3):
        stream.write(json.dumps({"n": i}) + "\n")
    stream.flush()  # three whole lines on disk
    real_write = os.write
    calls = {"n": 0}

    def half_then_full(fd: int, data: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data)[:7])  # half a record made it
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    stream.write(json.dumps({"n": 3, "pad": "x" * 100}) + "\n")
    with pytest.raises(OSError):
        stream.flush()
    monkeypatch.setattr(os, "write", real_write)
    partial = output.keep_partial()
    assert partial is not None
    lines = Path(partial).read_text().splitlines()
    assert [json.loads(line)["n"] for line in lines] == [0, 1, 2]


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: (p / "folder").mkdir() or p / "folder", "it is a folder"),
        (lambda p: p / "missing" / "x.jsonl", "does not exist"),
    ],
    ids=["a folder", "a missing folder"],
)
def test_a_target_that_cannot_be_written_is_refused_up_front(
    tmp_path: Path, make: Any, says: str
) -> None:
    target = make(tmp_path)
    with pytest.raises(LocalFileError) as caught:
        OutputFile(str(target))
    assert str(target) in str(caught.value) and says in str(caught.value)


def test_a_device_is_written_in_place_never_renamed_over(tmp_path: Path) -> None:
    output = OutputFile(os.devnull)
    assert output.direct and output.temporary_path is None
    output.stream.write("anything\n")
    output.commit()
    assert Path(os.devnull).is_char_device()


# ---------------------------------------------------------------------------- state


FLT = EventFilter(object_type="lead", action="created")


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_in_a_state_file_give_a_state_or_one_mismatch(raw: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.json"
        path.write_bytes(raw)
        try:
            load_state(path, FLT)
        except StateMismatch as exc:
            assert str(path) in str(exc)
            assert "\n" not in str(exc)


@pytest.mark.parametrize(
    ("raw", "says"),
    [(b"\xff\xfe", "not UTF-8"), (b"{", "not valid JSON"), (b"[" * 50_000, "not valid JSON")],
)
def test_a_broken_state_file_names_itself(tmp_path: Path, raw: bytes, says: str) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(raw)
    with pytest.raises(StateMismatch) as caught:
        load_state(path, FLT)
    assert str(path) in str(caught.value) and says in str(caught.value)


def test_a_state_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    save_state(path, new_state(FLT))
    assert load_state(path, FLT) == new_state(FLT)


def test_the_state_folder_is_probed_by_creating_a_file(tmp_path: Path) -> None:
    check_state_writable(tmp_path / "state.json")
    assert list(tmp_path.iterdir()) == []  # the probe is gone
    with pytest.raises(StateMismatch, match="does not exist"):
        check_state_writable(tmp_path / "nope" / "state.json")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(StateMismatch, match="is a folder"):
        check_state_writable(tmp_path / "dir.json")


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs sysfs")
def test_a_folder_that_refuses_new_files_is_found_even_as_root() -> None:
    # Permission bits do not stop root; sysfs does. os.access would say "writable".
    with pytest.raises(StateMismatch, match="cannot save the state"):
        check_state_writable("/sys/close-tui-state.json")


# ---------------------------------------------------------------------------- the CLI


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    code = cli.main(["--demo", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err.splitlines()


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / "config"))


@pytest.mark.parametrize(
    ("target", "says"),
    [("{tmp}", "it is a folder"), ("{tmp}/missing/x.jsonl", "does not exist")],
)
def test_cli_output_problems_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, target: str, says: str
) -> None:
    path = target.format(tmp=tmp_path)
    code, _, err = run_cli(capsys, "events", "--max", "3", "-o", path)
    assert code == 2
    assert len(err) == 1 and path in err[0] and says in err[0]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_cli_output_to_a_full_device_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_cli(capsys, "events", "--max", "60", "-o", "/dev/full")
    assert code == 1
    assert err[-1] == "close-tui: cannot write /dev/full: No space left on device"


def test_cli_state_problems_stop_before_the_first_request(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "missing" / "state.json"
    code, _, err = run_cli(capsys, "events", "--since", "1h", "--state", str(state))
    assert code == 2
    assert len(err) == 1 and str(state) in err[0]


def test_cli_success_replaces_the_file_and_leaves_nothing_beside_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    code, _, err = run_cli(capsys, "events", "--max", "7", "-o", str(target), "--format", "json")
    assert code == 0, err
    assert len(json.loads(target.read_text())) == 7
    assert [p.name for p in tmp_path.iterdir() if p.name != "home"] == ["out.json"]


def test_cli_table_with_no_match_prints_the_header_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_cli(
        capsys, "events", "--object-type", "lead", "--action", "merged",
        "--since", "2001-01-01", "--until", "2001-01-02", "--format", "table",
    )
    assert code == 0 and err == []
    lines = out.splitlines()
    assert lines[0].startswith("TIME") and "ACTION" in lines[0]
    assert lines[1:] == ["no events match"]
