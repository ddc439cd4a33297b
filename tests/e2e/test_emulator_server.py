"""The emulator over real loopback HTTP, and `python -m close_tui.emulator.server`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.emulator.server import RunningServer, main, serve

pytestmark = pytest.mark.e2e


def test_loopback_server_answers(loopback_emulator: RunningServer) -> None:
    em = loopback_emulator.emulator
    assert loopback_emulator.base_url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=loopback_emulator.base_url, auth=(em.admin_key, "")) as client:
        lead = next(iter(em.leads))
        got: list[dict[str, Any]] = []
        cursor = ""
        while True:
            response = client.get(
                "/event/", params={"lead_id": lead, "_cursor": cursor, "_limit": "10"}
            )
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            assert response.headers["ratelimit"].startswith("limit=")
            assert response.headers["date"].endswith("GMT")
            got += response.json()["data"]
            cursor = response.json()["cursor_next"] or ""
            if not cursor:
                break
        assert got == em.expected({"lead_id": lead})
        one = client.get(f"/event/{got[0]['id']}/")
        assert one.json() == got[0]
        assert client.get("/event/ev_0000000000000000000000/").status_code == 404
        assert client.get("/event/", params={"action": "created"}).status_code == 400
        assert client.get("/me/").json()["organizations"][0]["id"] == em.organization["id"]
    with httpx.Client(base_url=loopback_emulator.base_url) as anonymous:
        denied = anonymous.get("/me/")
        assert denied.status_code == 401 and "error" in denied.json()
    with httpx.Client(
        base_url=loopback_emulator.base_url,
        headers={"Authorization": f"Bearer {em.member_key}"},
    ) as bearer:
        assert bearer.get("/me/").status_code == 200


def test_keep_alive_reuses_one_connection(loopback_emulator: RunningServer) -> None:
    em = loopback_emulator.emulator
    with httpx.Client(base_url=loopback_emulator.base_url, auth=(em.admin_key, "")) as client:
        for _ in range(5):
            response = client.get("/me/")
            assert response.http_version == "HTTP/1.1"
            assert response.headers.get("connection", "keep-alive").lower() != "close"
        pool = client._transport._pool  # type: ignore[attr-defined]
        assert len(pool.connections) == 1


def test_network_faults_over_http() -> None:
    clock = FakeClock()
    drop = Emulator(EmulatorConfig(n_leads=10, fault_rate=1.0, fault_kinds=("drop",)), clock=clock)
    with (
        serve(drop) as running,
        httpx.Client(base_url=running.base_url) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.get("/me/", auth=(drop.admin_key, ""))
    slow = Emulator(
        EmulatorConfig(n_leads=10, fault_rate=1.0, fault_kinds=("slow",), slow_seconds=30.0),
        clock=clock,
    )
    started = time.monotonic()
    with (
        serve(slow) as running,
        httpx.Client(base_url=running.base_url, timeout=0.2) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.get("/me/", auth=(slow.admin_key, ""))
    # Closing the server cut the 30 s sleep short.
    assert time.monotonic() - started < 10


def test_only_loopback() -> None:
    em = Emulator(EmulatorConfig(n_leads=5), clock=FakeClock())
    with pytest.raises(ValueError):
        serve(em, host="0.0.0.0")
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2


def test_module_entry_point_prints_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "close_tui.emulator.server", "--port", "0", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        info = {}
        for _ in range(3):
            key, _, value = proc.stdout.readline().strip().partition("=")
            info[key] = value
        assert set(info) == {"base_url", "admin_key", "member_key"}
        assert info["base_url"].startswith("http://127.0.0.1:")
        with httpx.Client(base_url=info["base_url"], auth=(info["admin_key"], "")) as client:
            response = client.get("/event/", params={"_limit": "2"})
            assert response.status_code == 200
            assert len(response.json()["data"]) == 2
        with httpx.Client(base_url=info["base_url"], auth=(info["member_key"], "")) as client:
            assert client.get("/me/").status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
