"""The API key stays secret: not on screen, in logs, errors, crash reports, files, argv,
or in a request to another origin; and it never travels over plain http to a remote host.

Each test puts a distinctive key where it could leak and searches the output for it
(and for its Basic-auth form, which is just as good as the key to whoever reads it).
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from close_tui.core import errors
from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.errors import InsecureURL
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.emulator.server import serve

KEY = "api_SeCrEtKeY0123456789abcd.ZYXWVUTSRQPONMLKJIHGfedcba9876"
BASIC = base64.b64encode(f"{KEY}:".encode()).decode()
TAIL = KEY.split(".", 1)[1]


def leaked(text: str) -> bool:
    return KEY in text or BASIC in text or TAIL in text


async def no_sleep(_: float) -> None:
    return None


# --------------------------------------------------------------------------- errors, logs


async def test_errors_and_logs_never_carry_the_key(caplog: pytest.LogCaptureFixture) -> None:
    """A server that echoes the credentials back in every error body: the client's
    errors are scrubbed, and no library logs the key at DEBUG."""

    def echo(request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        status = {"/api/v1/me/": 401, "/api/v1/event/x/": 404}.get(request.url.path, 503)
        body = {"error": f"bad credentials {auth} for key {KEY}", "errors": [BASIC]}
        return httpx.Response(status, json=body)

    client = CloseClient(
        "https://close.example/api/v1", api_key=KEY, transport=httpx.MockTransport(echo),
        retry=RetryPolicy(max_attempts=2, base_delay=0, jitter=0), sleep=no_sleep,
    )
    caplog.set_level(logging.DEBUG)
    messages = [repr(client), str(client)]
    for call in (client.me(), client.get_event("x"), client.get_json("user/")):
        with pytest.raises(errors.CloseError) as caught:
            await call
        messages += [str(caught.value), repr(caught.value)]
    await client.aclose()
    for message in messages:
        assert not leaked(message), message
    assert not leaked(caplog.text)
    assert "***" in messages[2]  # the echoed key was there, and was scrubbed


async def test_a_network_error_message_does_not_carry_the_key() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused while sending {request.headers['authorization']}")

    client = CloseClient(
        "https://close.example/api/v1", api_key=KEY, transport=httpx.MockTransport(fail),
        retry=RetryPolicy(max_attempts=1), sleep=no_sleep,
    )
    with pytest.raises(errors.NetworkError) as caught:
        await client.me()
    assert not leaked(str(caught.value))


# --------------------------------------------------------------------------- transport


@pytest.mark.parametrize(
    "url",
    ["http://example.com/api/v1", "http://127.0.0.1.evil.example/api/v1",
     "http://localhost.evil.example/api/v1", "http://10.0.0.1/api/v1",
     "http://[::ffff:8.8.8.8]/api/v1", f"https://{KEY}@close.example/api/v1",
     "ftp://127.0.0.1/api/v1"],
)
def test_plain_http_to_a_remote_host_and_urls_with_credentials_are_refused(url: str) -> None:
    with pytest.raises(InsecureURL) as caught:
        CloseClient(url, api_key=KEY)
    assert not leaked(str(caught.value))


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765/api/v1", "http://localhost/api/v1", "http://[::1]:1/api/v1",
            "https://close.example/api/v1"],
)
def test_https_anywhere_and_http_to_loopback_are_allowed(url: str) -> None:
    CloseClient(url, api_key=KEY)


class _Recorder(BaseHTTPRequestHandler):
    """Redirects ``/go/<host>/<port>/<path>`` to ``http://<host>:<port>/<path>``;
    answers anything else with ``{}``, remembering the Authorization header it got."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str | None]]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        if self.path.startswith("/go/"):
            self.send_response(302)
            host, port, rest = self.path[len("/go/"):].split("/", 2)
            self.send_header("Location", f"http://{host}:{port}/{rest}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


Seen = list[tuple[str, str | None]]


@pytest.fixture
def two_servers() -> Iterator[tuple[str, str, Seen, Seen]]:
    """Two loopback servers on different ports: different origins."""
    servers = []
    logs: list[Seen] = []
    for _ in range(2):
        handler: type[_Recorder] = type("Handler", (_Recorder,), {"seen": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        logs.append(handler.seen)
    a, b = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    try:
        yield a, b, logs[0], logs[1]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


async def test_a_redirect_to_another_origin_never_carries_the_key(
    two_servers: tuple[str, str, Seen, Seen],
) -> None:
    a, b, seen_a, seen_b = two_servers
    port_a, port_b = a.rsplit(":", 1)[1], b.rsplit(":", 1)[1]
    async with CloseClient(a + "/api/v1", api_key=KEY, retry=RetryPolicy(max_attempts=1)) as c:
        # Same origin: the key goes along (a base URL fixed by a redirect still works).
        await c.get_json(f"/../../go/127.0.0.1/{port_a}/api/v1/same/")
        # Another port of the same host, and another host name of the same machine.
        await c.get_json(f"/../../go/127.0.0.1/{port_b}/api/v1/other-port/")
        await c.get_json(f"/../../go/localhost/{port_b}/api/v1/other-host/")
    by_path = dict(seen_a + seen_b)
    assert by_path["/api/v1/same/"] == f"Basic {BASIC}"
    assert by_path["/api/v1/other-port/"] is None
    assert by_path["/api/v1/other-host/"] is None
    assert all(path.startswith("/api/v1/") for path, _ in seen_b)  # B really was asked


# --------------------------------------------------------------------------- processes


def test_the_cli_never_puts_the_key_in_argv_files_or_output(tmp_path: Path) -> None:
    """``close-tui events`` with the key in CLOSE_API_KEY: its argv (and any child's)
    read from /proc while it runs, what it prints and what it writes keep no key."""
    emulator = Emulator(EmulatorConfig(n_leads=20, n_users=4, latency_ms=30),
                        clock=FakeClock(__import__("datetime").datetime(2026, 11, 20, 12,
                                        tzinfo=__import__("datetime").UTC)))
    emulator.admin_key = KEY  # our distinctive key is the one the server accepts
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSE_")}
    with serve(emulator) as running:
        env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
                   XDG_DATA_HOME=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"),
                   PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
                   CLOSE_API_KEY=KEY, CLOSE_BASE_URL=running.base_url)
        out_file = tmp_path / "out.jsonl"
        proc = subprocess.Popen(
            [sys.executable, "-m", "close_tui", "events", "--max", "400", "-o", str(out_file)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        cmdlines: list[bytes] = []
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            cmdlines += _cmdlines(proc.pid)
            time.sleep(0.02)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert cmdlines, "the process was never seen running"
    for cmdline in cmdlines:
        assert not leaked(cmdline.decode("utf-8", "replace"))
    assert not leaked(out.decode()) and not leaked(err.decode())
    assert out_file.read_text().count("\n") == 400
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert not leaked(path.read_text(errors="replace")), path


def _cmdlines(pid: int) -> list[bytes]:
    """The argv of ``pid`` and of all its descendants (empty once it has ended)."""
    found: list[bytes] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            found.append(Path(f"/proc/{current}/cmdline").read_bytes())
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


# --------------------------------------------------------------------------- the app


async def test_the_key_is_not_on_screen_during_and_after_sign_in(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    from close_tui.ui.screens.login import LoginScreen

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))

    class Store:
        def set(self, profile: str, key: str) -> None:
            raise __import__("close_tui.core.credentials", fromlist=["x"]).KeyringUnavailable(
                "no keyring here")

    async def refuse(key: str) -> dict[str, object]:
        raise errors.AuthError(f"authentication failed 401 for {'***'}", status=401)

    from textual.app import App

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(LoginScreen(profile="work", base_url="https://close.example/api/v1",
                                         check=refuse, store=Store()))  # type: ignore[arg-type]

    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(*KEY)  # typed into the masked field
        await pilot.pause()
        assert not leaked(app.export_screenshot())
        await pilot.press("enter")  # refused: the message names the masked key only
        await pilot.pause()
        await pilot.pause()
        shot = app.export_screenshot()
        assert not leaked(shot)
        assert "refused" in shot


async def test_a_crash_report_does_not_show_local_variables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Textual's stock crash report prints every frame's locals: a key in a local would
    be on the terminal. The app's report omits them (the control shows the stock one
    would have printed it)."""
    from textual.app import App

    from close_tui.ui.app import CloseTuiApp

    def crash_with_the_key_in_a_local() -> None:
        api_key = KEY  # noqa: F841 - a local the stock report would print
        raise RuntimeError("boom")

    class Crashing(CloseTuiApp):
        CSS_PATH = str(Path(sys.modules[CloseTuiApp.__module__].__file__ or "").parent
                       / str(CloseTuiApp.CSS_PATH))

        def on_mount(self) -> None:
            crash_with_the_key_in_a_local()

    class StockCrashing(App[None]):
        def on_mount(self) -> None:
            crash_with_the_key_in_a_local()

    reports = {}
    for name, app in (("ours", Crashing(None)), ("stock", StockCrashing())):
        capsys.readouterr()
        with pytest.raises(RuntimeError):
            async with app.run_test():
                pass
        out, err = capsys.readouterr()  # Textual prints the report on its error console
        reports[name] = out + err
    assert "boom" in reports["ours"] and "crash_with_the_key_in_a_local" in reports["ours"]
    assert not leaked(reports["ours"])
    assert leaked(reports["stock"]), "control: the stock report shows locals"
