"""The command palette's entries (ctrl+p), by where the palette was opened.

The explorer's commands exist only on the explorer screen: on the login screen there is
no session to refresh or follow (they used to be offered there and crashed the app).
Profile entries never read a secret: opening the palette must not block on the keyring,
and a masked key tells the user nothing the organization name does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from close_tui.core.filters import EventFilter
from close_tui.core.sanitize import visible

if TYPE_CHECKING:
    from close_tui.ui.app import CloseTuiApp
    from close_tui.ui.explorer import ExplorerScreen


def explorer_commands(screen: ExplorerScreen) -> Iterable[SystemCommand]:
    yield SystemCommand("Filter", "Focus the filter form (f)", screen.action_focus_form)
    yield SystemCommand("Refresh", "Reload from the newest event (r)", screen.action_refresh)
    yield SystemCommand("Toggle detail pane", "Show or hide the event detail (d)",
                        screen.action_toggle_detail)
    yield SystemCommand("Cycle time display", "Local → UTC → relative (t)",
                        screen.action_cycle_time)
    yield SystemCommand("Copy event id", "Copy the highlighted event's id (y)",
                        screen.action_copy_id)
    yield SystemCommand("Copy event JSON", "Copy the open event's JSON (Y)",
                        screen.action_copy_json)
    yield SystemCommand("Clear filter", "Show the whole event log", screen.clear_filter)
    yield SystemCommand("Follow live", "Start or stop polling for new events (F)",
                        screen.action_toggle_follow)
    yield SystemCommand("Local filter", "Filter on any field, locally (/)",
                        screen.action_local_filter)
    yield SystemCommand("Back", "The previous view (Backspace)", screen.action_history_back)
    yield SystemCommand("Lead in Close", "Link to the highlighted event's lead (o)",
                        screen.action_open_web)
    yield SystemCommand("Restore…", "Undo the highlighted deletion: a plan first, then "
                        "re-create (u)", screen.action_restore)
    yield SystemCommand("Export…", "Write the current view to a JSONL or CSV file (e)",
                        screen.action_export)
    yield from saved_view_commands(screen)


def saved_view_commands(screen: ExplorerScreen) -> Iterable[SystemCommand]:
    yield SystemCommand("Save view…", "Name the current filter and local filter",
                        screen.action_save_view)
    try:
        views = screen.views.load()
    except Exception as exc:  # a damaged config: say so in the palette, keep going
        yield SystemCommand("Saved views unavailable", visible(str(exc))[:120],
                            lambda: None)
        return
    for name in sorted(views):
        view = views[name]
        described = EventFilter.from_params(view.params).describe() if view.params else (
            "all events")
        if view.predicate:
            described += f" · local: {view.predicate}"
        yield SystemCommand(f"View: {visible(name)}", visible(described),
                            lambda name=name: screen.open_view(name))
    for name in sorted(views):
        yield SystemCommand(f"Delete view: {visible(name)}", "Forget this saved view",
                            lambda name=name: screen.delete_view(name))


def profile_commands(app: CloseTuiApp) -> Iterable[SystemCommand]:
    """Switch profiles (organization names from the config: no keyring read), sign in."""
    from close_tui.core import config

    account = app.account
    if account is None:
        return
    try:
        profiles = config.load_config().profiles
    except Exception:
        profiles = {}
    for name in sorted(set(profiles) | {account.profile}):
        known = profiles.get(name)
        org = known.organization_name if known is not None else None
        url = (known.base_url if known is not None else None) or "default API"
        current = " (current)" if name == account.profile else ""
        yield SystemCommand(
            f"Profile: {visible(name)}{current}",
            f"{visible(org or 'organization unknown')} · {visible(url)}",
            lambda name=name: app.switch_profile(name),
        )
    yield SystemCommand("Sign in", "Enter a new key for this profile",
                        lambda: app.request_login(None))
