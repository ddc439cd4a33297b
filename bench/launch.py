"""Launch to first row visible, against the loopback emulator, on a real pseudo-terminal.

    python bench/launch.py [--runs 5]

Starts `close-tui demo-server` on 127.0.0.1, then runs `close-tui` (key from
CLOSE_API_KEY, base URL from CLOSE_BASE_URL, exactly as a user would) on a pty of
120×40 and measures wall time from spawning the process until the newest event's time
appears on the terminal. Import time of the app module is measured separately
(`python -c "import close_tui.ui.app"` minus a bare interpreter start). Prints one table.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import urllib.request
from base64 import b64encode
from datetime import UTC, datetime

CLI = [sys.executable, "-m", "close_tui"]


def start_server() -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen([*CLI, "demo-server", "--port", "0"], stdout=subprocess.PIPE,
                            text=True)
    info: dict[str, str] = {}
    assert proc.stdout is not None
    while len(info) < 3:
        key, _, value = proc.stdout.readline().strip().partition("=")
        info[key] = value
    return proc, info


def newest_time_text(info: dict[str, str]) -> str:
    """The first row's time as the table shows it (local time, 'Nov 26 14:30:00')."""
    auth = b64encode(f"{info['admin_key']}:".encode()).decode()
    req = urllib.request.Request(info["base_url"] + "/event/?_limit=1",
                                 headers={"Authorization": f"Basic {auth}"})
    with urllib.request.urlopen(req, timeout=10) as answer:  # loopback only
        event = json.load(answer)["data"][0]
    when = datetime.fromisoformat(event["date_updated"]).replace(tzinfo=UTC).astimezone()
    return when.strftime("%b %d %H:%M:%S")


def time_to_first_row(info: dict[str, str], needle: str, home: str) -> float:
    env = {**os.environ, "CLOSE_API_KEY": info["admin_key"], "CLOSE_BASE_URL": info["base_url"],
           "HOME": home, "XDG_CONFIG_HOME": os.path.join(home, "config"), "TERM": "xterm-256color",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # child: the app, as a user starts it
        os.execvpe(CLI[0], CLI, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    seen = b""
    elapsed = float("nan")
    deadline = start + 30
    try:
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
                # Textual may write a line in pieces with escapes between: strip them.
                plain = _strip_escapes(seen)
                if needle in plain:
                    elapsed = time.perf_counter() - start
                    break
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(fd)
    return elapsed


def _strip_escapes(raw: bytes) -> str:
    import re

    text = raw.decode("utf-8", "replace")
    return re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]", "", text)


def import_time() -> float:
    def run(code: str) -> float:
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            best = min(best, time.perf_counter() - t)
        return best

    return run("import close_tui.ui.app") - run("pass")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    server, info = start_server()
    try:
        needle = newest_time_text(info)
        with tempfile.TemporaryDirectory() as home:
            times = [time_to_first_row(info, needle, home) for _ in range(args.runs)]
    finally:
        server.terminate()
        server.wait()
    imports = import_time()
    print("| measure | median | min | max | runs |")
    print("|---|---|---|---|---|")
    print(f"| launch → first row visible (pty, loopback) | {statistics.median(times):.2f} s "
          f"| {min(times):.2f} s | {max(times):.2f} s | {len(times)} |")
    print(f"| of which: importing close_tui.ui.app | {imports:.2f} s | | | best of 3 |")


if __name__ == "__main__":
    main()
