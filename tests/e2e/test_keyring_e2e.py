"""``close-tui auth`` against a real Secret Service (gnome-keyring) and the loopback emulator.

Everything runs in throwaway places: a private D-Bus session (``dbus-run-session``), a
gnome-keyring whose ``login`` collection is created and unlocked with a throwaway
password, and a throwaway HOME / XDG_DATA_HOME / XDG_CONFIG_HOME / XDG_RUNTIME_DIR. The
user's own keyring and config are never touched.

Outside CI the test skips (with the reason) when gnome-keyring, dbus-run-session or
secret-tool is missing; under ``CI=true`` a missing tool is a failure, because a skipped
keyring test would otherwise pass silently forever. ``.ci/system-deps.sh`` installs them.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "close_tui"]
TOOLS = ("gnome-keyring-daemon", "dbus-run-session", "secret-tool")
KEYRING_PASSWORD = "throwaway-e2e-password"
STARTUP_TIMEOUT = 30.0
STEP_TIMEOUT = 60.0

# Inside the private bus: create + unlock the login collection with the throwaway password
# (gnome-keyring creates the collection on first unlock), wait until the Secret Service
# owns its bus name, report the bus address, then stay alive until pytest closes stdin.
SESSION_SCRIPT = r"""
set -u
printf %s "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
    || { echo "error=gnome-keyring-daemon --unlock failed"; exit 97; }
for _ in $(seq 100); do
    if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
        | grep -q 'boolean true'; then
        echo "bus=$DBUS_SESSION_BUS_ADDRESS"
        read -r _ || true
        exit 0
    fi
    sleep 0.05
done
echo "error=org.freedesktop.secrets never appeared on the session bus"
exit 98
"""


def _missing_or_fail(reason: str) -> None:
    """Skip with ``reason`` on a developer machine; fail under CI, where it must run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"keyring e2e cannot run under CI: {reason} (run .ci/system-deps.sh)")
    pytest.skip(reason)


class Background:
    """A process we started in its own session: stdout drained by a thread into a queue
    (so it can never fill the pipe and stall the process), stderr into an anonymous
    temporary file (kept for diagnostics, outside the directories searched for the key).
    """

    def __init__(self, argv: list[str], env: dict[str, str], *, keep_stdin: bool = False):
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if keep_stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.pump = threading.Thread(target=self._drain, daemon=True)
        self.pump.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")  # end of output

    def diagnostics(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-2000:]

    def wait_for(self, wanted: set[str], timeout: float) -> dict[str, str]:
        """``key=value`` lines until every key in ``wanted`` was seen (``error=`` fails)."""
        found: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while not wanted <= found.keys():
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                missing = sorted(wanted - found.keys())
                raise AssertionError(
                    f"timed out waiting for {missing}: {self.diagnostics()}"
                ) from None
            if not line:
                rc = self.proc.wait()
                raise AssertionError(f"process ended early (rc={rc}): {self.diagnostics()}")
            name, sep, value = line.strip().partition("=")
            if sep:
                if name == "error":
                    raise AssertionError(f"{value}: {self.diagnostics()}")
                found[name] = value
        return found

    def stop(self) -> None:
        """Let it end (closing stdin ends the session script), then make sure: the whole
        process group, since gnome-keyring-daemon daemonises into it."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.pump.join(timeout=10)
        if not self.pump.is_alive() and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


@pytest.fixture
def throwaway_env(tmp_path: Path) -> dict[str, str]:
    """A minimal environment with no credentials and only throwaway directories."""
    home = tmp_path / "home"
    runtime = tmp_path / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    runtime.chmod(0o700)  # mkdir's mode is filtered by the umask
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_RUNTIME_DIR=str(runtime),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


@contextmanager
def secret_service(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A private D-Bus session with an unlocked throwaway gnome-keyring; yields the
    environment (with ``DBUS_SESSION_BUS_ADDRESS``) for commands that should use it."""
    session = Background(
        ["dbus-run-session", "--", "bash", "-c", SESSION_SCRIPT],
        {**env, "KEYRING_PASSWORD": KEYRING_PASSWORD},
        keep_stdin=True,
    )
    try:
        info = session.wait_for({"bus"}, STARTUP_TIMEOUT)
        yield {**env, "DBUS_SESSION_BUS_ADDRESS": info["bus"]}
    finally:
        session.stop()


@contextmanager
def emulator_server(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The emulator over loopback HTTP; yields its ``base_url``, ``admin_key``, ...."""
    server = Background([sys.executable, "-m", "close_tui.emulator.server", "--port", "0"], env)
    try:
        info = server.wait_for({"base_url", "admin_key"}, STARTUP_TIMEOUT)
        assert info["base_url"].startswith("http://127.0.0.1:")
        yield info
    finally:
        server.stop()


def close_tui(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )


def secret_tool_lookup(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["secret-tool", "lookup", "service", "close-tui", "username", "default"],
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )


def files_containing(root: Path, secret: str) -> list[Path]:
    needle = secret.encode()
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and needle in p.read_bytes()
    ]


def assert_quiet_about(secret: str, *results: subprocess.CompletedProcess[str]) -> None:
    for result in results:
        assert secret not in result.stdout and secret not in result.stderr
        assert "Traceback" not in result.stderr


def _require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        _missing_or_fail(f"missing {', '.join(missing)}")
    try:
        import close_tui.emulator.server  # noqa: F401
    except ImportError as exc:
        _missing_or_fail(f"the emulator server is not importable: {exc}")


def test_login_events_logout_through_a_real_secret_service(
    throwaway_env: dict[str, str], tmp_path: Path
) -> None:
    _require_tools()
    with secret_service(throwaway_env) as env, emulator_server(throwaway_env) as server:
        key = server["admin_key"]
        base_url = server["base_url"]
        assert "CLOSE_API_KEY" not in env and "PYTHON_KEYRING_BACKEND" not in env

        # Nothing stored yet: status says so (exit 3), and the keyring itself works.
        before = close_tui(env, "auth", "status")
        assert before.returncode == 3, before.stderr
        assert "could not be used" not in before.stderr

        # A key the API refuses is not stored.
        refused = close_tui(
            env, "auth", "login", "--base-url", base_url, stdin="api_wrong.key0000000000\n"
        )
        assert refused.returncode == 3, refused.stderr
        assert secret_tool_lookup(env).stdout == ""

        # The real key: checked with /me/, stored in the Secret Service under
        # service=close-tui username=default, the base URL recorded in the profile.
        login = close_tui(env, "auth", "login", "--base-url", base_url, stdin=key + "\n")
        assert login.returncode == 0, login.stderr
        assert "Key accepted" in login.stdout
        stored = secret_tool_lookup(env)
        assert stored.returncode == 0, stored.stderr
        assert stored.stdout.strip() == key

        status = close_tui(env, "auth", "status")
        assert status.returncode == 0, status.stderr
        assert "OS keyring" in status.stdout
        assert f"…{key[-4:]}" in status.stdout

        # The key comes from the keyring (no CLOSE_API_KEY), the URL from the profile.
        events = close_tui(env, "events", "--max", "5", "--format", "jsonl")
        assert events.returncode == 0, events.stderr
        lines = events.stdout.splitlines()
        assert len(lines) == 5
        for line in lines:
            assert json.loads(line)["id"].startswith("ev_")

        # While stored: the keyring file is encrypted and the config holds no key.
        assert files_containing(tmp_path, key) == []
        config = json.loads((Path(env["XDG_CONFIG_HOME"]) / "close-tui/config.json").read_text())
        assert config["profiles"]["default"]["base_url"] == base_url

        logout = close_tui(env, "auth", "logout")
        assert logout.returncode == 0, logout.stderr
        assert "Removed" in logout.stdout
        assert secret_tool_lookup(env).stdout == ""

        after = close_tui(env, "auth", "status")
        assert after.returncode == 3

        assert_quiet_about(key, before, refused, login, status, events, logout, after)

    assert files_containing(tmp_path, key) == []


def test_a_locked_collection_is_reported_with_the_remedy(throwaway_env: dict[str, str]) -> None:
    """A real locked Secret Service collection: no prompter can unlock it headless."""
    for tool in ("gnome-keyring-daemon", "dbus-run-session"):
        if shutil.which(tool) is None:
            _missing_or_fail(f"missing {tool}")
    lock = (
        "import secretstorage\n"
        "collection = secretstorage.get_default_collection(secretstorage.dbus_init())\n"
        "collection.lock()\n"
        "assert collection.is_locked()\n"
    )
    with secret_service(throwaway_env) as env:
        subprocess.run([sys.executable, "-c", lock], env=env, check=True, timeout=STEP_TIMEOUT)
        for args, stdin in ((("auth", "status"), ""), (("auth", "logout"), "")):
            result = close_tui(env, *args, stdin=stdin)
            assert result.returncode == 3, result.stderr
            assert "locked" in result.stderr and "CLOSE_API_KEY" in result.stderr
            assert "Traceback" not in result.stderr


def test_without_a_secret_service_the_cli_names_the_remedy(
    throwaway_env: dict[str, str],
) -> None:
    """No D-Bus session at all: keyring falls back to its failing backend."""
    if not sys.platform.startswith("linux"):
        pytest.skip("Secret Service is the Linux keyring; other platforms have their own")
    env = {**throwaway_env, "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus"}
    for args, stdin in ((("auth", "status"), ""), (("auth", "login"), "api_x.y\n")):
        result = close_tui(env, *args, stdin=stdin)
        assert result.returncode == 3, result.stderr
        assert "gnome-keyring" in result.stderr and "CLOSE_API_KEY" in result.stderr
        assert "Traceback" not in result.stderr
