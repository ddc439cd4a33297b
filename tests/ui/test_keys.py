"""The one key table: every widget's bindings come from it, ids are unique and remappable,
and the README's remapping example is one the app accepts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from textual.binding import Binding

from close_tui.ui.app import CloseTuiApp
from close_tui.ui.explorer import ExplorerScreen
from close_tui.ui.keys import KEYMAP, SPECS_BY_ID, check_keymap, display_keys
from close_tui.ui.screens.export import ExportScreen
from close_tui.ui.screens.help import HelpScreen
from close_tui.ui.screens.login import LoginScreen
from close_tui.ui.screens.save_view import NameScreen
from close_tui.ui.widgets.event_detail import EventDetail
from close_tui.ui.widgets.event_table import EventTable
from close_tui.ui.widgets.explorer_table import ExplorerTable
from close_tui.ui.widgets.filter_form import FieldInput, FilterForm
from close_tui.ui.widgets.json_view import JsonLines, JsonSearch
from close_tui.ui.widgets.local_filter import PredicateInput

README = Path(__file__).resolve().parents[2] / "README.md"
WIDGETS = (CloseTuiApp, ExplorerScreen, EventTable, ExplorerTable, EventDetail, JsonLines,
           JsonSearch, FilterForm, FieldInput, PredicateInput, ExportScreen, NameScreen,
           HelpScreen, LoginScreen)


def test_ids_are_unique_and_read_area_dot_command() -> None:
    ids = [spec.id for spec in KEYMAP]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", binding_id) for binding_id in ids), ids


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: w.__name__)
def test_every_binding_of_every_widget_comes_from_the_table(widget: type) -> None:
    for binding in widget.BINDINGS:
        assert isinstance(binding, Binding)
        assert binding.id in SPECS_BY_ID, (widget.__name__, binding)
        spec = SPECS_BY_ID[binding.id]
        assert (binding.key, binding.action) == (spec.keys, spec.action)


def test_a_keymap_from_the_config_is_checked() -> None:
    usable, problems = check_keymap({"explorer.pivot_lead": " ctrl+l , L ",
                                     "nope.nothing": "x", "table.follow": 3})
    assert usable == {"explorer.pivot_lead": "ctrl+l,L"}
    assert problems == ["keymap: no key binding has the id 'nope.nothing'",
                        "keymap: the keys of 'table.follow' must be a non-empty string"]


def test_the_readme_example_is_accepted() -> None:
    text = README.read_text()
    section = text[text.index("#### Remapping keys"):]
    example = json.loads(re.search(r"```json\n(.*?)\n```", section, re.S).group(1))  # type: ignore[union-attr]
    usable, problems = check_keymap(example["settings"]["bindings"])
    assert usable and problems == []


def test_the_launcher_reads_the_keymap_from_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from close_tui.core import config
    from close_tui.ui.launch import user_keymap

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert user_keymap() == ({}, ())
    cfg = config.load_config()
    cfg.settings.bindings = {"explorer.pivot_lead": "ctrl+l"}
    config.save_config(cfg)
    assert user_keymap() == ({"explorer.pivot_lead": "ctrl+l"}, ())
    config.config_path().write_bytes(b"\xff\xfe{ not json")
    keymap, notices = user_keymap()
    assert keymap == {}  # a damaged file is no reason not to start, but it is said
    (notice,) = notices
    assert notice.startswith("Settings not used: ") and str(config.config_path()) in notice
    assert "\n" not in notice


async def test_a_config_that_cannot_be_read_is_said_on_screen_naming_the_file(
    tmp_path: Path,
) -> None:
    from ui_support import SIZE, UI_NOW, make_app, record_notifications, settle

    from close_tui.emulator import Emulator, EmulatorConfig, FakeClock

    emulator = Emulator(EmulatorConfig(n_leads=10, n_users=3), clock=FakeClock(UI_NOW))
    notice = f"Settings not used: {tmp_path / 'config.json'} is not UTF-8"
    app = make_app(emulator, notices=[notice])
    said = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert notice in said
        assert app.explorer.table.row_count > 0  # and the log is shown all the same


def test_keys_are_written_as_people_read_them() -> None:
    assert display_keys("question_mark,f1") == "? / F1"
    assert display_keys("backspace,alt+left") == "Backspace / Alt+←"
