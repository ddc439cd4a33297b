"""Make README's picture of a restore plan (``screenshots/restore-plan.svg``).

    python screenshots/restore_screenshot.py          # write the SVG
    python screenshots/restore_screenshot.py --run    # open the modal to try it by hand

The demo organization with a frozen clock; the plan of its lead deleted through an API
key (every rule of a restore shows: contacts inside the lead, a retired status, a user
who left, SMS that would be sent, what cannot come back). ``--run`` lets you press
Restore: it writes to the in-memory emulator only, with a journal in a temporary folder.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Static

from close_tui.core.client import CloseClient
from close_tui.core.restore.job import RestoreJob
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.emulator.deletions import cases_of
from close_tui.session import DEMO_BASE_URL
from close_tui.ui.screens.restore import RestoreScreen

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SIZE = (120, 70)  # tall: the whole plan, down to its warnings


class RestoreDemo(App[None]):
    TITLE = "close-tui"

    def __init__(self, job: RestoreJob) -> None:
        super().__init__()
        self.job = job

    def compose(self) -> ComposeResult:
        yield Static("")

    def on_mount(self) -> None:
        self.push_screen(RestoreScreen(self.job), callback=lambda _: self.exit())


def make_job(journal_dir: Path) -> RestoreJob:
    emulator = Emulator(EmulatorConfig(), clock=FakeClock(NOW))
    client = CloseClient(DEMO_BASE_URL, api_key=emulator.admin_key,
                         transport=emulator.transport())
    lead = cases_of(emulator.sim).api_key_lead_id
    return RestoreJob(client, lead_id=lead, journal_path=journal_dir / f"{lead}.json")


async def shoot(path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = RestoreDemo(make_job(Path(tmp)))
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(20):
                await app.workers.wait_for_complete()
                await pilot.pause()
                if isinstance(app.screen, RestoreScreen) and app.screen.state == "plan":
                    break
            await pilot.pause(0.2)
            app.save_screenshot(str(path))
    print(f"wrote {path.relative_to(HERE.parent)}")


def main() -> None:
    if "--run" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            RestoreDemo(make_job(Path(tmp))).run()
        return
    asyncio.run(shoot(HERE / "restore-plan.svg"))


if __name__ == "__main__":
    main()
