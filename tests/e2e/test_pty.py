"""The app on a real pseudo-terminal: no escape sequence from event data reaches it.

Pilot tests see Textual's model of the screen; this one sees the bytes a terminal
would receive. The app runs on the hostile emulator (``emulator/hostile.py``), whose
escape sequences each carry a marker found nowhere else (``SE9TVElMRQ``, ``ZZ1``,
``PWNED-TITLE``, ``evil.example``). Textual writes escape sequences of its own all the
time, so the test forbids only the *raw* forms that carry a marker, and requires their
*visible* forms (``␛]52;c;SE9TVElMRQ``): the data was shown, not executed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from close_tui.emulator import hostile

pytestmark = pytest.mark.e2e

COLUMNS, LINES = 160, 50
#: The whole run may take this long (the app starts in ~1.5 s; a slow CI box is slower).
DEADLINE = 60.0

# The app on the hostile organization with a frozen clock, as `close-tui --demo --hostile`
# runs it, but pinned (time zone, now) so the screen is the same on every machine.
LAUNCHER = """
from datetime import UTC, datetime
from close_tui.core.client import CloseClient
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.session import DEMO_BASE_URL
from close_tui.ui.app import CloseTuiApp

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
emulator = Emulator(EmulatorConfig(hostile=True), clock=FakeClock(NOW))
client = CloseClient(DEMO_BASE_URL, api_key=emulator.admin_key, transport=emulator.transport())
CloseTuiApp(
    client, organization=str(emulator.organization["name"]), now=lambda: NOW,
    local_tz=UTC, detail_debounce=0.0,
).run()
"""

KEYS = {"down": b"\x1b[B", "enter": b"\r", "escape": b"\x1b", "ctrl+q": b"\x11"}

# Textual's own control sequences: CSI (with private parameters), OSC, DCS/APC, 2-byte ESC.
_ESCAPES = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    rb"|\x1b[P_^][^\x1b]*\x1b\\"
    rb"|\x1b[()][0-9A-Za-z]"
    rb"|\x1b[=>78cDEHM]"
)


def visible_text(raw: bytes) -> str:
    """What the bytes put on screen, as text: every escape sequence removed."""
    return _ESCAPES.sub(b"", raw).decode("utf-8", "replace")


class Terminal:
    """The parent side of a pty with the app on the child side."""

    def __init__(self, tmp_path: Path) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("CLOSE_", "TEXTUAL")) and key != "NO_COLOR"
        }
        env.update(
            TERM="xterm-256color",
            COLORTERM="truecolor",
            COLUMNS=str(COLUMNS),
            LINES=str(LINES),
            HOME=str(tmp_path),
            XDG_CONFIG_HOME=str(tmp_path / "config"),
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,  # its own session: the pty becomes its terminal
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.raw = bytearray()
        self.started = time.monotonic()

    def read(self, timeout: float) -> bool:
        """Read what is there within ``timeout``; False once the child closed the pty."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the child is gone
            return False
        if not chunk:
            return False
        self.raw += chunk
        return True

    def wait_for(self, text: str, since: int = 0) -> int:
        """Read until ``text`` is on screen in the output after byte ``since``."""
        while time.monotonic() - self.started < DEADLINE:
            if text in visible_text(bytes(self.raw[since:])):
                return len(self.raw)
            if not self.read(0.2):
                break
        tail = visible_text(bytes(self.raw[-3000:]))
        raise AssertionError(f"{text!r} never appeared; the screen ended with:\n{tail}")

    def drain(self, seconds: float) -> None:
        """Keep reading for ``seconds`` (only to keep two keys apart, never to wait for
        the app: that is :meth:`wait_for`)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and self.read(max(0.0, end - time.monotonic())):
            pass

    def press(self, *keys: str) -> int:
        mark = len(self.raw)
        for key in keys:
            os.write(self.master, KEYS.get(key, key.encode()))
            self.read(0.05)
        return mark

    def wait_exit(self, timeout: float) -> int | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.read(0.1)
            code = self.proc.poll()
            if code is not None:
                while self.read(0.05):  # drain what was written before the exit
                    if not select.select([self.master], [], [], 0)[0]:
                        break
                return code
        return None

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        os.close(self.master)


def test_no_escape_sequence_from_event_data_reaches_the_terminal(tmp_path: Path) -> None:
    term = Terminal(tmp_path)
    try:
        # The first page is on screen (status bar: "100 rows" or "50 rows").
        term.wait_for("more available")
        term.wait_for("Hostile [b]Org[/b]")
        # The unknown, markup-named object type is the third row: open it.
        mark = term.press("down", "down", "enter")
        term.wait_for("custom_object.[bold]Evil[/]␛[2J", since=mark)
        term.press("t")  # times: UTC -> relative
        mark = term.press("down", "down", "down", "down", "enter")  # the hostile lead
        term.wait_for("display_name", since=mark)
        term.press("d")  # hide the detail pane …
        mark = term.press("d")  # … and show it again
        term.wait_for("display_name", since=mark)
        mark = term.press("?")
        term.wait_for("Keys", since=mark)
        term.press("escape")
        # A lone ESC followed at once by "q" reads as alt+q: let the ESC stand alone.
        term.drain(0.5)
        term.press("q")
        code = term.wait_exit(15)
        assert code == 0, f"the app did not quit cleanly (exit {code})"
    finally:
        term.close()

    raw = bytes(term.raw)
    text = raw.decode("utf-8", "replace")
    # Nothing the data carried reached the terminal as an escape sequence …
    for forbidden in hostile.FORBIDDEN_RAW:
        assert forbidden not in text, f"raw {forbidden!r} from event data reached the terminal"
    assert "\u202e" not in text and "\u200b" not in text
    # … no BEL at all (Textual rings none here; the data's BELs carry no marker in
    # some places), and no C1 control (Textual writes 7-bit sequences only).
    assert "\x07" not in _ESCAPES.sub(b"", raw).decode("utf-8", "replace")
    assert not re.search("[\x80-\x9f]", text)
    # … while the visible forms were drawn, so the data was shown, not dropped.
    shown = visible_text(raw)
    for visible_form in ("␛]52;c;SE9TVElMRQ", "␛]0;PWNED-TITLE␇", "ZZ6<U+009B>2J",
                         "custom_object.[bold]Evil[/]␛[2J", "[@click=app.quit]quit[/]"):
        assert visible_form in shown, f"{visible_form!r} was never shown"
