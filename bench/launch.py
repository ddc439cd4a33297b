"""Launch to first row visible, against the loopback emulator, on a real pseudo-terminal.

    python bench/launch.py [--runs 5]

Starts `close-tui demo-server` on 127.0.0.1, then runs `close-tui` (key from
CLOSE_API_KEY, base URL from CLOSE_BASE_URL, exactly as a user would) on a pty of
120×40 and measures wall time from spawning the process until the newest event's time
appears on the terminal, written by the table's own formatter (``core.rows.format_time``:
``Dec  1 09:05:00``, a space-padded day), compared with runs of spaces collapsed.
Import time of the app module is measured separately (`python -c "import
close_tui.ui.app"` minus a bare interpreter start). Prints one table.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import re
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

from close_tui.core.dates import parse_api_datetime
from close_tui.core.rows import format_time

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
    """The first row's time as the table shows it (local time, 'Dec  1 14:30:00'), made
    by the table's own formatter so the two can never disagree (a day before the 10th
    is space-padded: 'Dec  1', where strftime's '%d' wrote 'Dec 01' and never matched)."""
    auth = b64encode(f"{info['admin_key']}:".encode()).decode()
    req = urllib.request.Request(info["base_url"] + "/event/?_limit=1",
                                 headers={"Authorization": f"Basic {auth}"})
    with urllib.request.urlopen(req, timeout=10) as answer:  # loopback only
        event = json.load(answer)["data"][0]
    return format_time(parse_api_datetime(event["date_updated"]).timestamp(), "local")


def squeeze(text: str) -> str:
    """Runs of spaces as one: a terminal stream may pad or move the cursor differently."""
    return re.sub(r" +", " ", text)


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
    needle = squeeze(needle)
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
                plain = squeeze(_strip_escapes(seen))
                if needle in plain:
                    elapsed = time.perf_counter() - start
                    break
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(fd)
    return elapsed


def _strip_escapes(raw: bytes) -> str:
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
    missed = [t for t in times if t != t]  # NaN: the row never showed within 30 s
    if missed:
        print(f"first row ({needle!r}) not seen in {len(missed)} of {len(times)} runs")
        raise SystemExit(1)
    print("| measure | median | min | max | runs |")
    print("|---|---|---|---|---|")
    print(f"| launch → first row visible (pty, loopback) | {statistics.median(times):.2f} s "
          f"| {min(times):.2f} s | {max(times):.2f} s | {len(times)} |")
    print(f"| of which: importing close_tui.ui.app | {imports:.2f} s | | | best of 3 |")


if __name__ == "__main__":
    main()
