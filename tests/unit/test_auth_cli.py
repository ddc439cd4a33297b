"""``close-tui auth login|status|logout`` against an in-memory keyring and a mock API.

The HTTP side is the real ``CloseClient`` over ``httpx.MockTransport``, so what is tested
is what runs: Basic auth with the key, ``/me/``, the client's typed errors.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

import httpx
import keyring
import keyring.core
import pytest
from keyring.errors import KeyringLocked, NoKeyringError
from keyring_backends import BrokenKeyring, MemoryKeyring

from close_tui import auth_cli
from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.config import Profile, load_config, save_config
from close_tui.core.credentials import KEYRING_SERVICE

KEY = "api_5bTzQh1sKxWvYp3Lm9Ra.4fGd8Jc2NnXe6Uo07xQz"
OTHER_KEY = "api_2kPwq8ZrTt5Yb1Mx0Jhe.9sLc3Vf6Dd4Gn7Ua1AbCd"
TOKEN = "oauth_tok_8f7e6d5c4b3a2910ZZyy"
BASE_URL = "http://127.0.0.1:9/api/v1"

ME = {
    "id": "user_abc",
    "first_name": "Jane",
    "last_name": "Doe",
    "email": "jane@acme.test",
    "organizations": [{"id": "orga_1", "name": "Acme \x1b[31mInc"}],
}

MeFetcher = Callable[[str, Mapping[str, str]], Coroutine[Any, Any, Mapping[str, Any]]]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    for name in ("CLOSE_API_KEY", "CLOSE_ACCESS_TOKEN", "CLOSE_BASE_URL", "PYTHON_KEYRING_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(autouse=True)
def restore_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core._keyring_backend)


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


def mock_api(
    *, valid: str = KEY, down: bool = False, calls: list[httpx.Request] | None = None
) -> MeFetcher:
    """A ``/me/`` fetcher over the real client, answering 200 for ``valid`` only."""

    def handle(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(request)
        if down:
            raise httpx.ConnectError("Connection refused", request=request)
        auth = request.headers.get("authorization", "")
        accepted = {
            "Basic " + base64.b64encode(f"{valid}:".encode()).decode(),
            f"Bearer {valid}",
        }
        if request.url.path == "/api/v1/me/" and auth in accepted:
            return httpx.Response(200, json=ME)
        return httpx.Response(401, json={"error": "Invalid API key"})

    async def no_sleep(seconds: float) -> None:
        return None

    async def fetch(base_url: str, credentials: Mapping[str, str]) -> Mapping[str, Any]:
        async with CloseClient(
            base_url,
            api_key=credentials.get("api_key"),
            access_token=credentials.get("access_token"),
            transport=httpx.MockTransport(handle),
            sleep=no_sleep,
            retry=RetryPolicy(max_attempts=2),
        ) as client:
            return await client.me()

    return fetch


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="close-tui")
    auth_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["auth", *argv])


def run(
    *argv: str,
    stdin: str = "",
    env: Mapping[str, str] | None = None,
    api: MeFetcher | None = None,
) -> int:
    return auth_cli.run(
        parse(*argv),
        env=env or {},
        me_fetcher=api or mock_api(),
        stdin=io.StringIO(stdin),
    )


def files_containing(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def assert_clean(out: str, err: str, *secrets: str) -> None:
    """No secret in full and no traceback in anything the command printed."""
    for secret in secrets:
        assert secret not in out and secret not in err
    assert "Traceback" not in out + err


# --------------------------------------------------------------------------- login


def test_login_checks_the_key_then_stores_it(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    calls: list[httpx.Request] = []
    code = run("login", "--base-url", BASE_URL, stdin=KEY + "\n", api=mock_api(calls=calls))
    out, err = capsys.readouterr()

    assert code == 0
    assert memory_keyring.entries == {(KEYRING_SERVICE, "default"): KEY}
    assert [str(c.url) for c in calls] == [f"{BASE_URL}/me/"]
    assert "Jane Doe <jane@acme.test>" in out
    assert "organization Acme \u241b[31mInc." in out  # ESC shown, never executed
    assert "\x1b" not in out
    assert "api_…7xQz" in out
    assert_clean(out, err, KEY)

    prof = load_config().profile("default")
    assert prof.base_url == BASE_URL
    assert prof.organization_name == "Acme \x1b[31mInc"  # as sent; sanitised on display
    assert prof.user_name == "Jane Doe"
    assert files_containing(isolated_home, KEY) == []


def test_login_to_a_named_profile(memory_keyring: MemoryKeyring) -> None:
    assert run("login", "--profile", "work", stdin=KEY) == 0
    assert memory_keyring.entries == {(KEYRING_SERVICE, "work"): KEY}
    assert "work" in load_config().profiles


def test_login_without_base_url_flag_records_none(memory_keyring: MemoryKeyring) -> None:
    assert run("login", stdin=KEY, env={"CLOSE_BASE_URL": BASE_URL}) == 0
    assert load_config().profile().base_url is None


def test_login_uses_getpass_on_a_terminal(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return KEY

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    code = auth_cli.run(
        parse("login"), env={}, me_fetcher=mock_api(), stdin=Terminal("must not be read")
    )
    assert code == 0
    assert prompts and "hidden" in prompts[0]
    assert memory_keyring.entries[(KEYRING_SERVICE, "default")] == KEY


def test_a_refused_key_is_not_stored(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    code = run("login", stdin=OTHER_KEY + "\n", api=mock_api(valid=KEY))
    out, err = capsys.readouterr()
    assert code == 3
    assert memory_keyring.entries == {}
    assert "refused" in err and "NOT stored" in err
    assert_clean(out, err, OTHER_KEY)
    assert files_containing(isolated_home, OTHER_KEY) == []


def test_a_refused_key_leaves_the_previous_one_in_place(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, "default")] = KEY
    assert run("login", stdin=OTHER_KEY, api=mock_api(valid=KEY)) == 3
    assert memory_keyring.entries[(KEYRING_SERVICE, "default")] == KEY


def test_login_when_the_api_is_unreachable_stores_nothing(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("login", stdin=KEY, api=mock_api(down=True)) == 1
    out, err = capsys.readouterr()
    assert memory_keyring.entries == {}
    assert "NOT stored" in err
    assert_clean(out, err, KEY)


@pytest.mark.parametrize("typed", ["", "\n", "   \n", "api_abc def\n", "api_abc\x1bdef\n"])
def test_login_rejects_empty_or_malformed_input(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str], typed: str
) -> None:
    calls: list[httpx.Request] = []
    assert run("login", stdin=typed, api=mock_api(calls=calls)) == 2
    _, err = capsys.readouterr()
    assert memory_keyring.entries == {}
    assert calls == []
    assert "Nothing was stored" in err
    assert "def" not in err  # the input is never echoed


def test_login_refuses_plain_http_off_loopback(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[httpx.Request] = []
    code = run(
        "login", "--base-url", "http://example.test/api/v1", stdin=KEY, api=mock_api(calls=calls)
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert calls == []
    assert memory_keyring.entries == {}
    assert_clean(out, err, KEY)


def test_login_notes_that_an_env_key_still_wins(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("login", stdin=KEY, env={"CLOSE_API_KEY": OTHER_KEY}) == 0
    out, err = capsys.readouterr()
    assert "CLOSE_API_KEY is set" in err
    assert_clean(out, err, KEY, OTHER_KEY)


@pytest.mark.parametrize(
    "error",
    [
        NoKeyringError("No recommended backend was available."),
        KeyringLocked("Failed to unlock the collection!"),
        RuntimeError("org.freedesktop.DBus.Error.NoServer: no D-Bus session"),
    ],
)
def test_login_with_an_unusable_keyring_says_what_to_do(
    capsys: pytest.CaptureFixture[str], error: Exception
) -> None:
    keyring.set_keyring(BrokenKeyring(error))
    calls: list[httpx.Request] = []
    code = run("login", stdin=KEY, api=mock_api(calls=calls))
    out, err = capsys.readouterr()
    assert code == 3
    assert calls == []  # the keyring is checked before the key is asked for
    assert "gnome-keyring" in err and "CLOSE_API_KEY" in err
    assert_clean(out, err, KEY)


def test_login_when_storing_fails_after_the_check(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    keyring.set_keyring(BrokenKeyring(KeyringLocked("Failed to unlock"), reads_work=True))
    code = run("login", stdin=KEY)
    out, err = capsys.readouterr()
    assert code == 3
    assert "locked" in err
    assert_clean(out, err, KEY)
    assert files_containing(isolated_home, KEY) == []


def test_login_with_a_broken_config_file_exits_2(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    path = isolated_home / ".config" / "close-tui" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text("{oops")
    assert run("login", stdin=KEY) == 2
    out, err = capsys.readouterr()
    assert str(path) in err
    assert memory_keyring.entries == {}
    assert_clean(out, err, KEY)


# --------------------------------------------------------------------------- status


def test_status_without_any_key_exits_3(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("status") == 3
    out, err = capsys.readouterr()
    assert "Profile:" in out and "default" in out
    assert "auth login" in err
    assert_clean(out, err)


def test_status_from_the_keyring(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, "default")] = KEY
    assert run("status", "--base-url", BASE_URL) == 0
    out, err = capsys.readouterr()
    assert "OS keyring" in out
    assert "api_…7xQz" in out
    assert "Jane Doe <jane@acme.test>" in out
    assert "Organization:  Acme" in out
    assert_clean(out, err, KEY)


def test_status_from_the_environment(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, "default")] = OTHER_KEY
    assert run("status", env={"CLOSE_API_KEY": KEY, "CLOSE_BASE_URL": BASE_URL}) == 0
    out, err = capsys.readouterr()
    assert "environment variable CLOSE_API_KEY" in out
    assert "api_…7xQz" in out
    assert f"Base URL:      {BASE_URL}" in out
    assert_clean(out, err, KEY, OTHER_KEY)


def test_status_with_profile_ignores_env_with_a_notice(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, "work")] = KEY
    code = run("status", "--profile", "work", env={"CLOSE_API_KEY": OTHER_KEY}, api=mock_api())
    out, err = capsys.readouterr()
    assert code == 0
    assert "api_…7xQz" in out and "api_…AbCd" not in out
    assert "ignored" in err and "--profile work" in err
    assert_clean(out, err, KEY, OTHER_KEY)


def test_status_with_an_access_token(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("status", env={"CLOSE_ACCESS_TOKEN": TOKEN}, api=mock_api(valid=TOKEN))
    out, err = capsys.readouterr()
    assert code == 0
    assert "CLOSE_ACCESS_TOKEN" in out
    assert "…ZZyy" in out
    assert_clean(out, err, TOKEN)


def test_status_offline_still_shows_local_facts(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, "default")] = KEY
    cfg = load_config()
    cfg.profiles["default"] = Profile(organization_name="Acme", base_url=BASE_URL)
    save_config(cfg)
    assert run("status", api=mock_api(down=True)) == 1
    out, err = capsys.readouterr()
    assert "api_…7xQz" in out
    assert "could not reach the API" in out
    assert "Acme (as of the last login)" in out
    assert BASE_URL in out
    assert_clean(out, err, KEY)


def test_status_with_a_refused_key_exits_3(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, "default")] = OTHER_KEY
    assert run("status", api=mock_api(valid=KEY)) == 3
    out, err = capsys.readouterr()
    assert "refused" in err
    assert_clean(out, err, OTHER_KEY)


def test_status_with_an_unusable_keyring_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    keyring.set_keyring(BrokenKeyring(NoKeyringError("No recommended backend was available.")))
    assert run("status") == 3
    out, err = capsys.readouterr()
    assert "No OS keyring is available" in err
    assert "CLOSE_API_KEY" in err
    assert_clean(out, err)


# --------------------------------------------------------------------------- logout


def test_logout_removes_the_key_and_the_identity(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("login", "--base-url", BASE_URL, stdin=KEY) == 0
    capsys.readouterr()
    assert run("logout") == 0
    out, err = capsys.readouterr()
    assert memory_keyring.entries == {}
    assert "Removed" in out
    prof = load_config().profile()
    assert (prof.organization_name, prof.user_name, prof.base_url) == (None, None, BASE_URL)
    assert_clean(out, err, KEY)


def test_logout_with_nothing_stored_says_so_and_succeeds(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, "default")] = KEY
    assert run("logout", "--profile", "work") == 0
    out, _ = capsys.readouterr()
    assert "nothing to remove" in out
    assert memory_keyring.entries == {(KEYRING_SERVICE, "default"): KEY}


def test_logout_warns_that_env_credentials_remain(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("logout", env={"CLOSE_API_KEY": KEY}) == 0
    out, err = capsys.readouterr()
    assert "CLOSE_API_KEY is still set" in err
    assert_clean(out, err, KEY)


def test_logout_with_an_unusable_keyring_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    keyring.set_keyring(BrokenKeyring(KeyringLocked("Failed to unlock the collection!")))
    assert run("logout") == 3
    out, err = capsys.readouterr()
    assert "locked" in err
    assert_clean(out, err)


# --------------------------------------------------------------------------- wiring


def test_no_option_takes_the_key() -> None:
    parser = argparse.ArgumentParser(prog="close-tui")
    auth = auth_cli.add_parser(parser.add_subparsers(dest="command"))
    options: set[str] = set()
    for action in auth._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                options |= {o for a in sub._actions for o in a.option_strings}
    assert options == {"-h", "--help", "--profile", "--base-url"}


def test_auth_options_do_not_clobber_the_main_parsers_globals() -> None:
    parser = argparse.ArgumentParser(prog="close-tui")
    parser.add_argument("--profile")
    auth_cli.add_parser(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["--profile", "work", "auth", "status"]).profile == "work"
    assert parser.parse_args(["auth", "status", "--profile", "x"]).profile == "x"


def test_parents_hook_gets_the_auth_parser_for_global_options() -> None:
    def global_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--profile", default=argparse.SUPPRESS)
        p.add_argument("--demo", action="store_true", default=argparse.SUPPRESS)

    parser = argparse.ArgumentParser(prog="close-tui")
    auth_cli.add_parser(parser.add_subparsers(dest="command"), parents_hook=global_options)
    assert parser.parse_args(["auth", "--profile", "w", "status"]).profile == "w"
    assert parser.parse_args(["auth", "--profile", "w", "status", "--profile", "v"]).profile == "v"
    assert "profile" not in parser.parse_args(["auth", "status"])


def test_demo_flag_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("status")
    args.demo = True
    assert auth_cli.run(args, env={}, me_fetcher=mock_api(), stdin=io.StringIO()) == 2
    assert "--demo" in capsys.readouterr().err


def test_main_runs_standalone(
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert auth_cli.main(["logout", "--profile", "p"]) == 0
    assert "nothing to remove" in capsys.readouterr().out
    with pytest.raises(SystemExit) as caught:
        auth_cli.main([])
    assert caught.value.code == 2


def test_the_config_file_never_holds_the_key(
    memory_keyring: MemoryKeyring, isolated_home: Path
) -> None:
    assert run("login", "--profile", "a", "--base-url", BASE_URL, stdin=KEY) == 0
    assert run("status", "--profile", "a") == 0
    text = (isolated_home / ".config" / "close-tui" / "config.json").read_text()
    assert KEY not in text
    assert json.loads(text)["profiles"]["a"]["base_url"] == BASE_URL


# --------------------------------------------------------------------------- broken config


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"{not json"], ids=["bytes", "json"])
def test_logout_with_a_broken_config_keeps_the_key_and_says_which_file(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str], raw: bytes
) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, "default")] = KEY
    from close_tui.core.config import config_path

    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    assert run("logout") == 2
    out, err = capsys.readouterr()
    # It used to remove the key and then crash on the config.
    assert memory_keyring.entries == {(KEYRING_SERVICE, "default"): KEY}
    assert str(path) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert_clean(out, err, KEY)


@pytest.mark.parametrize("action", ["status", "login"])
def test_status_and_login_with_invalid_bytes_in_the_config_say_which_file(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    from close_tui.core.config import config_path

    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xc3\x28 not utf-8")
    assert run(action, stdin=KEY, env={"CLOSE_API_KEY": KEY}) == 2
    out, err = capsys.readouterr()
    assert str(path) in err and "not UTF-8" in err
    assert_clean(out, err, KEY)


def test_an_unwritable_config_folder_is_one_line_not_a_traceback(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from close_tui.core import config

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(config.config_path()))

    monkeypatch.setattr(auth_cli, "save_config", refuse)
    assert run("login", "--base-url", BASE_URL, stdin=KEY) == 1
    out, err = capsys.readouterr()
    assert "Cannot write" in err and "Permission denied" in err
    assert_clean(out, err, KEY)
