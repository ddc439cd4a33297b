"""``close-tui --archive``: the explorer on a local archive synced from the emulator.

The archive is built once (a small organization synced into a file at UI_NOW); each test
opens the app on it with a client whose transport refuses every request and counts it,
so "the archive view sends nothing" is asserted, not assumed. What the app shows is
compared with the emulator's truth filtered by the tests' own naive reference
(``tests/unit/archive_support.reference``), which knows nothing of indexes or paging.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input
from ui_support import SIZE, UI_NOW, record_notifications, settle

from close_tui import archive_cli, cli
from close_tui.core import jsonnum
from close_tui.core.archive.offline import RefusingTransport, offline_client
from close_tui.core.archive.query import ArchiveFilter
from close_tui.core.archive.store import ArchiveStore
from close_tui.core.archive.sync import SyncOptions, sync_archive
from close_tui.core.filters import EventFilter
from close_tui.emulator import Emulator, EmulatorConfig, FakeClock
from close_tui.ui.app import CloseTuiApp
from close_tui.ui.explorer import ExplorerScreen
from close_tui.ui.launch import archive_app, launch_archive
from tests.unit.archive_support import VirtualTime, client_for, reference

Json = dict[str, Any]


class Archived:
    """The emulator, the archive file it was synced into, and its names."""

    def __init__(self, em: Emulator, path: Path) -> None:
        self.em = em
        self.path = path
        with ArchiveStore(path, readonly=True) as store:
            self.names = store.names()
        self.events: list[Json] = em.expected({})

    def truth(self, flt: EventFilter) -> list[str]:
        return reference(self.events, flt, self.names)


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Archived:
    clock = FakeClock(UI_NOW)
    em = Emulator(EmulatorConfig(n_leads=12, n_users=4), clock=clock)
    path = tmp_path_factory.mktemp("archive") / "demo.sqlite3"

    async def sync() -> None:
        vt = VirtualTime(clock)
        async with client_for(em, vt) as client:
            await sync_archive(client, path, options=SyncOptions(batch_size=500),
                               monotonic=vt.monotonic, sleep=vt.sleep, clock=clock)

    asyncio.run(sync())
    return Archived(em, path)


def make_archive_app(path: Path, transport: RefusingTransport) -> CloseTuiApp:
    return archive_app(path, client=offline_client(transport), now=lambda: UI_NOW,
                       local_tz=UTC, detail_debounce=0.0, keymap={}, notices=())


def explorer(app: CloseTuiApp) -> ExplorerScreen:
    screen = app.explorer
    assert screen.reads_archive
    return screen


async def load_all(pilot: Pilot[Any], screen: ExplorerScreen) -> list[str]:
    """Page the view to its end (bounded) and return the ids the table shows."""
    for _ in range(200):
        if screen.feed.phase != "more":
            break
        screen.load_more()
        await settle(pilot)
    assert screen.feed.phase in ("end", "empty"), screen.feed.phase
    table = screen.table
    return [table.event_id_at(i) for i in range(table.row_count)]


async def apply_in_form(pilot: Pilot[Any], screen: ExplorerScreen, **texts: str) -> None:
    """Type the field texts into the form and press Enter in its last field."""
    await pilot.press("f")
    form = screen.form
    form.clear()
    last = ""
    for name, text in texts.items():
        form.field_input(name).value = text
        last = name
    await pilot.pause()
    form.field_input(last).focus()
    await pilot.press("enter")
    await settle(pilot)


def deleted_by_a_user(archived: Archived) -> str:
    counts: dict[str, int] = {}
    for e in archived.events:
        if e["action"] == "deleted" and e.get("user_id"):
            counts[e["user_id"]] = counts.get(e["user_id"], 0) + 1
    return max(counts, key=lambda u: counts[u])


# ------------------------------------------------------------------------ filters


async def test_combinations_the_api_refuses_give_the_truth(archived: Archived) -> None:
    transport = RefusingTransport()
    app = make_archive_app(archived.path, transport)
    user = deleted_by_a_user(archived)
    leads = [e["lead_id"] for e in archived.events if e["action"] == "updated" and e["lead_id"]]
    lead = max(set(leads), key=leads.count)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = explorer(app)
        assert "archive (any combination)" in screen.form.state.hint
        shown = await load_all(pilot, screen)
        assert shown == archived.truth(EventFilter()) and len(shown) > 500
        for texts, flt in (
            ({"action": "deleted"}, EventFilter(action="deleted")),
            ({"user_id": user, "action": "deleted"}, EventFilter(user_id=user, action="deleted")),
            ({"lead_id": lead, "action": "updated", "since": "2026-11-10"},
             EventFilter(lead_id=lead, action="updated",
                         date_updated__gte=datetime(2026, 11, 10, tzinfo=UTC))),
        ):
            assert not flt.is_supported  # each one is refused by the API
            await apply_in_form(pilot, screen, **texts)
            assert screen.current_filter == flt
            shown = await load_all(pilot, screen)
            assert shown == archived.truth(flt) and shown, texts
            assert all(ev_action(archived, i) == flt.action for i in shown)
        assert transport.refused == 0


def ev_action(archived: Archived, event_id: str) -> str:
    return next(e["action"] for e in archived.events if e["id"] == event_id)


async def test_a_search_in_the_form_equals_the_reference(archived: Archived) -> None:
    transport = RefusingTransport()
    app = make_archive_app(archived.path, transport)
    lead_name = next(n for i, n in sorted(archived.names.items()) if i.startswith("lead_"))
    word = lead_name.split()[0]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await apply_in_form(pilot, screen, search=word, action="updated")
        flt = screen.current_filter
        assert isinstance(flt, ArchiveFilter)
        assert (flt.search, flt.action) == (word, "updated")
        shown = await load_all(pilot, screen)
        assert shown == archived.truth(ArchiveFilter(search=word, action="updated")) and shown
        assert "search=" in screen.status.info.query  # the status line says what is shown
        entry = screen.history.current
        assert entry is not None and entry.crumb.kind == "filter"  # never a plain "lead"
        assert word in entry.crumb.value
        # The words that match nothing are an empty view, said as such.
        await apply_in_form(pilot, screen, search="zzzqqqnothing")
        assert await load_all(pilot, screen) == []
        assert transport.refused == 0


async def test_a_saved_view_keeps_a_refused_combination_and_its_search(
    archived: Archived,
) -> None:
    transport = RefusingTransport()
    app = make_archive_app(archived.path, transport)
    user = deleted_by_a_user(archived)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await apply_in_form(pilot, screen, user_id=user, action="deleted", search="deleted")
        saved = screen.current_filter
        screen.save_view("their deletions")
        await apply_in_form(pilot, screen, action="updated")
        screen.open_view("their deletions")
        await settle(pilot)
        assert screen.current_filter == saved
        assert isinstance(saved, ArchiveFilter) and saved.search == "deleted"
        assert screen.form.values()["search"] == "deleted"  # the form shows it back
        assert await load_all(pilot, screen) == archived.truth(saved)
        assert transport.refused == 0


# ------------------------------------------------------------------------ detail, pivots


async def test_detail_and_a_pivot_come_from_the_archive(archived: Archived) -> None:
    transport = RefusingTransport()
    app = make_archive_app(archived.path, transport)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = explorer(app)
        by_id = {e["id"]: e for e in archived.events}
        index = next(i for i in range(screen.table.row_count)
                     if by_id[screen.table.event_id_at(i)].get("user_id"))
        screen.table.move_cursor(index)
        first = screen.table.event_id_at(index)
        await pilot.press("enter")
        await settle(pilot)
        shown = screen.detail.event
        assert shown is not None and shown.id == first
        truth = archived.em.event(first)
        assert truth is not None
        assert jsonnum.loads(jsonnum.dumps(shown.to_api())) == jsonnum.loads(
            jsonnum.dumps(truth))
        screen.set_focus(screen.table)
        await pilot.press("U")  # this user's events: a new view on the same archive
        await settle(pilot)
        assert shown.user_id and screen.current_filter == EventFilter(user_id=shown.user_id)
        assert await load_all(pilot, screen) == archived.truth(screen.current_filter)
        # The user is named from the archive's stored names (no look-up was sent).
        assert shown.user_id in archived.names
        entry = screen.history.current
        assert entry is not None
        assert screen.crumb_label(entry.crumb) == f"user {archived.names[shown.user_id]}"
        assert transport.refused == 0


# ------------------------------------------------------------------------ API-only actions


async def test_follow_and_restore_say_one_line_and_send_nothing(archived: Archived) -> None:
    transport = RefusingTransport()
    app = make_archive_app(archived.path, transport)
    deleted = next(e["id"] for e in archived.events if e["action"] == "deleted")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = explorer(app)
        said = record_notifications(app)
        await pilot.press("F")
        await settle(pilot)
        assert not screen.follow.active
        await apply_in_form(pilot, screen, action="deleted")
        index = screen.table.index_of(deleted)
        assert index is not None
        screen.table.move_cursor(index)
        screen.set_focus(screen.table)
        await pilot.press("u")
        await settle(pilot)
        assert app.screen is screen  # no restore plan opened
        assert len(said) == 2, said
        assert said[0].startswith("Live follow needs the API; this view is the archive")
        assert said[1].startswith("Restore writes through the API; this view is the archive")
        assert all("\n" not in line for line in said)
        assert transport.refused == 0


async def test_export_writes_the_archive_view(archived: Archived, tmp_path: Path) -> None:
    transport = RefusingTransport()
    app = make_archive_app(archived.path, transport)
    user = deleted_by_a_user(archived)
    target = tmp_path / "deleted.jsonl"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await apply_in_form(pilot, screen, user_id=user, action="deleted")
        await pilot.press("e")
        await settle(pilot)
        dialog = app.screen
        dialog.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert dialog.finished, dialog.progress_text  # type: ignore[attr-defined]
        assert "from the archive" in dialog.progress_text  # type: ignore[attr-defined]
    written = [jsonnum.loads(line)["id"] for line in target.read_text().splitlines()]
    assert written == archived.truth(EventFilter(user_id=user, action="deleted")) and written
    assert transport.refused == 0


# ------------------------------------------------------------------------ the command line


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_a_missing_or_damaged_archive_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.sqlite3"
    assert cli.main(["--archive", "--db", str(missing)]) == 4
    assert one_line(capsys.readouterr().err) == (
        f"close-tui: no archive at {missing}: run `close-tui archive sync` first "
        "(or give --db PATH)")
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"not a database, whatever its name says" * 40)
    assert cli.main(["--archive", "--db", str(damaged)]) == 1
    assert "is not a readable close-tui archive" in one_line(capsys.readouterr().err)
    assert cli.main(["--db", str(damaged)]) == 2
    assert "--db needs --archive" in one_line(capsys.readouterr().err)
    assert cli.main(["--archive", "events", "--max", "1"]) == 2
    assert "give them after it" in one_line(capsys.readouterr().err)


def test_the_profile_archive_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert cli.main(["--archive", "--profile", "work"]) == 4
    expected = tmp_path / "close-tui" / "archive" / "work.sqlite3"
    assert f"no archive at {expected}:" in one_line(capsys.readouterr().err)


def test_demo_archive_is_synced_once_then_opened(
    archived: Archived, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[Path] = []

    def fake_sync(args: Any, path: Path) -> None:  # the real one takes ~20 s
        synced.append(path)
        shutil.copy(archived.path, path)

    monkeypatch.setattr(archive_cli, "sync_demo_archive", fake_sync)
    path = tmp_path / "demo.sqlite3"
    args = cli.build_parser().parse_args(["--demo", "--archive", "--db", str(path)])
    assert launch_archive(args, run=False) == 0
    assert launch_archive(args, run=False) == 0
    assert synced == [path]


# ------------------------------------------------------------------------ picture


def test_snapshot_explorer_on_the_archive(snap_compare: Any, archived: Archived) -> None:
    app = make_archive_app(archived.path, RefusingTransport())

    async def run_before(pilot: Pilot[Any]) -> None:
        for field in pilot.app.query(Input):
            field.cursor_blink = False
        await settle(pilot)
        screen = explorer(pilot.app)  # type: ignore[arg-type]
        await apply_in_form(pilot, screen, user_id=deleted_by_a_user(archived),
                            action="deleted")
        screen.set_focus(screen.table)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
