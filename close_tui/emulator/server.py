"""The emulator over real loopback HTTP (``close-tui demo-server``).

Stdlib only: a ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive. Nagle's
algorithm is disabled on every connection, otherwise small answers stall ~40 ms on
delayed ACKs. The emulator itself is thread-safe (one lock around each answer);
latency and slow answers sleep *outside* that lock, and those sleeps end at once when
the server closes.
"""

from __future__ import annotations

import argparse
import ipaddress
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType

import httpx

from close_tui.emulator.api import Emulator, EmulatorConfig
from close_tui.heap import freeze_long_lived


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    emulator: Emulator
    stopping: threading.Event


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server
    arrived: float = 0.0

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the request log lives in ``Emulator.request_log``."""

    def parse_request(self) -> bool:
        # Stamped when the request line has arrived, so the emulated latency includes
        # the time spent parsing it instead of adding to it.
        self.arrived = time.monotonic()
        return super().parse_request()

    def _serve(self) -> None:
        server = self.server
        emulator = server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = [(k, v) for k, v in self.headers.items() if k.lower() != "host"]
        request = httpx.Request(
            self.command,
            "http://127.0.0.1" + self.path,
            headers=headers,
            content=body,
        )
        latency = emulator.config.latency_ms / 1000 - (time.monotonic() - self.arrived)
        if latency > 0 and server.stopping.wait(latency):
            self.close_connection = True
            return
        answer = emulator.answer(request)
        if answer.fault == "drop":
            self.close_connection = True
            return
        if answer.fault == "slow":
            # Longer than any sane client timeout; cut short when the server closes.
            server.stopping.wait(emulator.config.slow_seconds)
            self.close_connection = True
            return
        self.send_response_only(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)
        self.wfile.flush()

    do_GET = _serve
    do_HEAD = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_PATCH = _serve


class RunningServer:
    """A server running on a background thread; ``close()`` (or ``with``) stops it."""

    def __init__(self, server: _Server, emulator: Emulator) -> None:
        self._server = server
        self.emulator = emulator
        raw_host, port = server.server_address[:2]
        host = raw_host.decode() if isinstance(raw_host, bytes) else str(raw_host)
        shown = f"[{host}]" if ":" in host else host
        self.host = host
        self.port = int(port)
        self.base_url = f"http://{shown}:{port}/api/v1"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="close-emulator",
            daemon=True,
        )
        self._thread.start()
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunningServer({self.base_url})"


def _check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"refusing to listen on {host!r}: only loopback addresses are allowed")


def serve(emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve ``emulator`` on loopback in a background thread (port 0 = pick a free one)."""
    _check_loopback(host)
    server_cls: type[_Server] = _Server6 if ":" in host else _Server
    server = server_cls((host, port), _Handler)
    server.emulator = emulator
    server.stopping = threading.Event()
    return RunningServer(server, emulator)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="close-tui demo-server",
        description="Serve the Close event API emulator on loopback (fake data, fake keys).",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8765,
        help="TCP port to listen on; 0 picks a free one (default: 8765)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to bind (only loopback is allowed)"
    )
    parser.add_argument("--seed", type=int, default=7, help="dataset seed (default: 7)")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="added latency per request, in milliseconds"
    )
    parser.add_argument(
        "--rate",
        type=int,
        default=None,
        help="requests allowed per window per key (default: no 429s)",
    )
    parser.add_argument(
        "--rate-window", type=float, default=1.0, help="rate-limit window in seconds (default: 1)"
    )
    parser.add_argument(
        "--rate-groups", action="store_true",
        help="limits per endpoint group (event log; POST /data/search/; other requests), "
        "as Close documents; default: one budget per key",
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="probability of an injected fault per request (0..1)",
    )
    parser.add_argument(
        "--live", action="store_true", help="new, late and consolidated events keep arriving"
    )
    parser.add_argument(
        "--semicolon-ratelimit",
        action="store_true",
        help="send 'limit=L; remaining=R; reset=S' instead of the comma form",
    )
    parser.add_argument(
        "--hostile",
        action="store_true",
        help="mix in records made to break terminals: markup, escape sequences, huge data",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _check_loopback(args.host)
    except ValueError as exc:
        print(f"demo-server: {exc}", file=sys.stderr)
        return 2
    config = EmulatorConfig(
        seed=args.seed,
        latency_ms=args.latency_ms,
        rate_limit=args.rate,
        rate_window=args.rate_window,
        rate_groups=args.rate_groups,
        fault_rate=args.fault_rate,
        live=args.live,
        rate_header_style="semicolon" if args.semicolon_ratelimit else "comma",
        hostile=args.hostile,
    )
    emulator = Emulator(config)
    freeze_long_lived()  # the organization is served until the process ends
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        running = serve(emulator, args.host, args.port)
    except OSError as exc:
        print(f"demo-server: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        # These are the emulator's own fake keys: printing them is the point.
        print(f"base_url={running.base_url}", flush=True)
        print(f"admin_key={emulator.admin_key}", flush=True)
        print(f"member_key={emulator.member_key}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        running.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
