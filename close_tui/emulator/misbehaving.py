"""A Close-like server that misbehaves on purpose, over loopback, one URL prefix per way.

The emulator (``api.py``) is faithful; this one is not. Each case lives under its own
prefix, ``http://127.0.0.1:PORT/<case>/api/v1``, so a test points ``--base-url`` at the
misbehaviour it wants and counts the requests that case received:

=============  ==========================================================================
``repeat``     every page answers the same ``cursor_next`` (and the same events)
``cycle``      two cursors taking turns, each page with new events
``empty``      empty pages, each with a fresh cursor, forever
``replay``     the same events again and again under fresh cursors
``endless``    a ``200`` whose body never ends (1 MB chunks until the client hangs up)
``drip``       a ``200`` whose body arrives one byte per second
``deep``       a page whose ``data`` is nested 100,000 arrays deep
``echo``       ``400`` whose error message echoes the request's headers (the key at the
               300-character cut that used to leak it)
``echo429``    ``429`` (``Retry-After: 0``) echoing the headers the same way
``echodata``   ordinary pages (and ``/event/{id}/``) whose events carry the request's
               headers in ``data``
``nocursor``   a page with no ``cursor_next`` key at all
``hasmore``    ``"has_more": true`` and ``"cursor_next": null``
``hidden``     ``/event/{id}/`` without ``data``/``previous_data`` (non-admin, > 1 hour)
``slow``       an endless, well-formed log, one page every 0.1 s (for interrupt tests)
``fail``       three good pages, then ``401``
=============  ==========================================================================

No case sends a ``RateLimit`` header, so the client's pace for silent servers applies.
Stdlib only (no Textual); it never touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

CASES: Final = (
    "repeat", "cycle", "empty", "replay", "endless", "drip", "deep", "echo", "echo429",
    "echodata", "nocursor", "hasmore", "hidden", "slow", "fail",
)
#: The instant the fake events are dated from (newest first, one second apart).
T0: Final = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
_ENDLESS_CHUNK: Final = b" " * (1024 * 1024)
#: However long a client keeps reading, the server stops an endless answer here.
_ENDLESS_LIMIT: Final = 4 * 1024 * 1024 * 1024


def fake_event(n: int, **extra: Any) -> dict[str, Any]:
    """Event number ``n`` (higher is older), in the API's shape."""
    when = (T0 - timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return {
        "id": f"ev_{n:022d}",
        "date_created": when,
        "date_updated": when,
        "organization_id": "orga_misbehaving",
        "user_id": None,
        "request_id": f"req_{n:022d}",
        "api_key_id": None,
        "object_type": "lead",
        "object_id": f"lead_{n}",
        "lead_id": f"lead_{n}",
        "action": "updated",
        "changed_fields": ["name"],
        "meta": {"request_method": "PUT", "request_path": f"/api/v1/lead/lead_{n}/"},
        "data": {"id": f"lead_{n}", "name": f"Lead {n}"},
        "previous_data": {"name": f"Old {n}"},
        **extra,
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    stopping: threading.Event
    counts: Counter[str]
    lock: threading.Lock


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    # ------------------------------------------------------------------ plumbing

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Date", self.date_time_string())
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _headers_text(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.headers.items())

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        case, _, rest = parts.path.lstrip("/").partition("/")
        with self.server.lock:
            self.server.counts[case] += 1
            count = self.server.counts[case]
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if case not in CASES or not rest.startswith("api/v1/"):
            self._send_json(404, {"error": "unknown case"})
            return
        endpoint = rest[len("api/v1/"):]
        if endpoint == "me/":
            self._send_json(200, {"id": "user_x", "first_name": "Mis", "last_name": "Behaving",
                                  "organizations": [{"id": "orga_misbehaving", "name": "M"}]})
            return
        handler = getattr(self, f"_case_{case}")
        handler(endpoint, query, count)

    # ------------------------------------------------------------------ cases

    def _page(self, numbers: list[int], cursor: str | None, **extra: Any) -> None:
        body = {"data": [fake_event(n) for n in numbers], "cursor_next": cursor,
                "cursor_previous": None, **extra}
        self._send_json(200, body)

    def _case_repeat(self, endpoint: str, query: dict[str, str], count: int) -> None:
        self._page([1, 2, 3], "SAME")

    def _case_cycle(self, endpoint: str, query: dict[str, str], count: int) -> None:
        base = 3 * count
        self._page([base, base + 1, base + 2], "B" if query.get("_cursor") == "A" else "A")

    def _case_empty(self, endpoint: str, query: dict[str, str], count: int) -> None:
        self._page([], f"empty-{count}")

    def _case_replay(self, endpoint: str, query: dict[str, str], count: int) -> None:
        self._page([1, 2, 3], f"fresh-{count}")

    def _case_endless(self, endpoint: str, query: dict[str, str], count: int) -> None:
        self.send_response_only(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")  # the body ends when the connection does
        self.end_headers()
        self.close_connection = True
        sent = 0
        try:
            self.wfile.write(b'{"data": [], "pad": "')
            while sent < _ENDLESS_LIMIT and not self.server.stopping.is_set():
                self.wfile.write(_ENDLESS_CHUNK)
                sent += len(_ENDLESS_CHUNK)
        except OSError:
            return  # the client hung up: the point of the exercise

    def _case_drip(self, endpoint: str, query: dict[str, str], count: int) -> None:
        body = json.dumps({"data": [], "cursor_next": None}).encode()
        body += b" " * 10_000
        self.send_response_only(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.close_connection = True
        try:
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                if self.server.stopping.wait(1.0):
                    return
        except OSError:
            return

    def _case_deep(self, endpoint: str, query: dict[str, str], count: int) -> None:
        depth = 100_000
        data = b'{"data": [' + b"[" * depth + b"]" * depth + b'], "cursor_next": null}'
        self.send_response_only(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _echo_message(self) -> str:
        # Padded so the Authorization header's value straddles the 300-character clip
        # (it starts at 275 and is 70-odd characters long), then every header again.
        auth = self.headers.get("Authorization", "")
        return "x" * 270 + "auth=" + auth + " | you sent: " + self._headers_text()

    def _case_echo(self, endpoint: str, query: dict[str, str], count: int) -> None:
        self._send_json(400, {"error": self._echo_message()})

    def _case_echo429(self, endpoint: str, query: dict[str, str], count: int) -> None:
        self._send_json(429, {"error": self._echo_message()}, {"Retry-After": "0"})

    def _case_echodata(self, endpoint: str, query: dict[str, str], count: int) -> None:
        echoed = {"headers": dict(self.headers.items()), "line": self._headers_text()}
        if endpoint.startswith("event/") and endpoint != "event/":
            self._send_json(200, fake_event(1, data=echoed))
            return
        body = {"data": [fake_event(n, data=echoed) for n in (1, 2)], "cursor_next": None}
        self._send_json(200, body)

    def _case_nocursor(self, endpoint: str, query: dict[str, str], count: int) -> None:
        self._send_json(200, {"data": [fake_event(count)]})

    def _case_hasmore(self, endpoint: str, query: dict[str, str], count: int) -> None:
        self._page([count], None, has_more=True)

    def _case_hidden(self, endpoint: str, query: dict[str, str], count: int) -> None:
        event = fake_event(1)
        del event["data"], event["previous_data"]
        self._send_json(200, event)

    def _case_slow(self, endpoint: str, query: dict[str, str], count: int) -> None:
        if self.server.stopping.wait(0.1):
            return
        cursor = query.get("_cursor") or ""
        start = int(cursor) if cursor.isdigit() else 1
        limit = int(query.get("_limit") or 50)
        self._page(list(range(start, start + limit)), str(start + limit))

    def _case_fail(self, endpoint: str, query: dict[str, str], count: int) -> None:
        cursor = query.get("_cursor") or ""
        page = int(cursor) if cursor.isdigit() else 0
        if page >= 3:
            self._send_json(401, {"error": "key revoked"})
            return
        limit = int(query.get("_limit") or 50)
        self._page(list(range(1 + page * limit, 1 + (page + 1) * limit)), str(page + 1))


class MisbehavingServer:
    """A running server: :meth:`base_url` of a case, :meth:`requests` it received."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self.port: int = server.server_address[1]

    def base_url(self, case: str) -> str:
        if case not in CASES:
            raise ValueError(f"unknown case {case!r}")
        return f"http://127.0.0.1:{self.port}/{case}/api/v1"

    def requests(self, case: str) -> int:
        with self._server.lock:
            return self._server.counts[case]

    def reset(self) -> None:
        with self._server.lock:
            self._server.counts.clear()


@contextmanager
def serve() -> Iterator[MisbehavingServer]:
    """Serve every case on a free loopback port until the block ends."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.stopping = threading.Event()
    server.counts = Counter()
    server.lock = threading.Lock()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="misbehaving-server", daemon=True)
    thread.start()
    try:
        yield MisbehavingServer(server)
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        time.sleep(0)  # let handler threads see the stop
