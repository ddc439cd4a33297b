"""Invalid command lines: exit 2 and one clear line on stderr, never a traceback.

Hypothesis builds command lines that are wrong in one known way (an unknown flag, a
value that is not a number, a date nobody can read, a choice that does not exist, a
combination of filters the API refuses, a missing value), buried among valid options,
and runs them in-process through ``close_tui.cli.main``. No key is set and no keyring
is reachable, so a command line that wrongly passes validation ends with exit 3 (no
credentials) instead of 2: the test catches it, and nothing touches a network.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from close_tui import cli

EXIT_USAGE = 2


@pytest.fixture(autouse=True)
def no_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("home")
    for name in ("CLOSE_API_KEY", "CLOSE_ACCESS_TOKEN", "CLOSE_BASE_URL", "CLOSE_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse exits; so may --help
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_clear_line(code: int, err: str, argv: list[str]) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == EXIT_USAGE, (argv, code, err)
    assert len(lines) == 1, (argv, err)
    assert "Traceback" not in err and "Error:" not in err.split(":", 1)[0]
    assert lines[0].startswith("close-tui"), lines[0]
    assert "\x1b" not in err  # argv text is echoed: escapes would reach the terminal


# A text that is no number, no date and no flag (argparse reads "-x" as a flag). No
# control characters: those have a test of their own below.
junk = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"],
                           blacklist_characters="\x85\u202e"),
    min_size=1, max_size=12,
).filter(lambda s: not s.startswith("-") and not s.strip().lstrip("+").isdigit())
bad_date = st.sampled_from(
    ["yesterday-ish", "2026-13-01", "2026-02-30", "31/12/2026", "10 parsecs", "2h3x",
     "T12:00", "99999-01-01", "-3d", "∞", "2026-11-01T25:00", "[bold]", "\x1b[2J"]
)
valid_extra = st.sampled_from(
    [[], ["--format", "jsonl"], ["--max", "5"], ["--timeout", "3"], ["--retries", "0"],
     ["--no-progress"], ["--format", "csv"]]
)


def _one_error() -> st.SearchStrategy[list[str]]:
    return st.one_of(
        st.builds(lambda j: ["events", "--max", j], junk),
        st.builds(lambda j: ["events", "--max", j], st.sampled_from(["0", "-1", "1.5", "1e3"])),
        st.builds(lambda j: ["events", "--timeout", j], st.sampled_from(["0", "-2", "nan?", "x"])),
        st.builds(lambda j: ["events", "--retries", j], st.sampled_from(["-1", "many", "2.5"])),
        st.builds(lambda j: ["events", "--format", j], junk),
        st.builds(lambda d: ["events", "--since", d], bad_date),
        st.builds(lambda d: ["events", "--until", d], bad_date),
        st.builds(lambda f: ["events", f], st.sampled_from(
            ["--lead", "--frobnicate", "--since", "--max"])),  # unknown, or no value
        st.builds(lambda j: ["events", "--" + j.replace(" ", "")], st.text(
            alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=3, max_size=10).filter(
            lambda s: not any(f.startswith("--" + s) for f in _EVENT_FLAGS))),
        st.sampled_from([
            ["events", "--request-id", "req_1", "--lead-id", "lead_1"],
            ["events", "--action", "created"],
            ["events", "--object-id", "acti_1", "--lead-id", "lead_1"],
            ["events", "--request-id", "req_1", "--user-id", "user_1"],
            ["events", "--object-type", "lead", "--object-id", "lead_1", "--lead-id", "lead_1"],
            ["nonsense-command"],
            ["event"],  # no id
            ["--since", "2h"],  # a filter without the events command
        ]),
    )


_EVENT_FLAGS = [
    "--lead-id", "--user-id", "--request-id", "--object-type", "--object-id", "--action",
    "--since", "--until", "--max", "--format", "--output", "--parallel", "--max-rate",
    "--state", "--no-progress", "--timeout", "--retries", "--base-url", "--profile",
    "--demo", "--help",
]


#: Flags for random command lines: not --demo (a valid demo export would run), not --help.
_RANDOM_FLAGS = [flag for flag in _EVENT_FLAGS if flag not in ("--demo", "--help")]


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(error=_one_error(), before=valid_extra, after=valid_extra)
def test_invalid_command_lines_exit_2_with_one_clear_line(
    error: list[str], before: list[str], after: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    command, rest = error[:1], error[1:]
    argv = [*command, *before, *rest, *after] if command == ["events"] else error
    code, out, err = run(argv, capsys)
    assert_one_clear_line(code, err, argv)
    assert out == ""


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.one_of(junk, st.sampled_from(_RANDOM_FLAGS)), max_size=6))
def test_random_command_lines_never_trace_back(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Anything at all after ``events``: a clean exit of 2 (usage) or 3 (no key)."""
    code, _, err = run(["events", *argv], capsys)
    assert code in (EXIT_USAGE, 3), (argv, code, err)
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1, err


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--lead-id", "user_abc"), ("--user-id", "lead_abc"), ("--request-id", "ev_abc"),
     ("--lead-id", "lead_\x1b[2J"), ("--lead-id", ""), ("--user-id", " ")],
)
def test_an_id_with_the_wrong_prefix_is_a_usage_error(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["events", flag, value], capsys)
    assert_one_clear_line(code, err, ["events", flag, value])


@pytest.mark.parametrize("junk_arg", ["\x1b]52;c;SE9TVElMRQ==\x07", "a\rb", "\u202eexe"])
def test_control_characters_in_bad_arguments_are_made_visible(
    junk_arg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["events", junk_arg], capsys)
    assert_one_clear_line(code, err, ["events", junk_arg])
    assert "\u202e" not in err and "\r" not in err


def test_unsupported_combination_names_what_would_work(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(["events", "--action", "created"], capsys)
    assert_one_clear_line(code, err, [])
    assert "object_type" in err or "object_id" in err


def test_plain_http_to_a_remote_host_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLOSE_API_KEY", "api_fuzz.secret-value-0123456789")
    code, _, err = run(["events", "--base-url", "http://example.com/api/v1"], capsys)
    assert_one_clear_line(code, err, [])
    assert "http" in err and "secret-value" not in err
