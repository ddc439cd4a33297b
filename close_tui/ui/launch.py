"""Start the app: pick the session (or ask for a key), restore the last filter, run."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from close_tui.core.archive.source import ArchiveSource
from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.heap import freeze_long_lived

if TYPE_CHECKING:
    from close_tui.core.archive.store import ArchiveStatus
    from close_tui.ui.app import CloseTuiApp


def launch(args: argparse.Namespace) -> int:
    from close_tui.core.credentials import CredentialStore, resolve_base_url
    from close_tui.session import SessionError, open_demo, open_session
    from close_tui.ui.app import Account, CloseTuiApp, profile_filter

    if getattr(args, "app_archive", False):
        return launch_archive(args)
    if args.demo:
        session = open_demo(live=args.live, hostile=getattr(args, "hostile", False))
        keymap, config_problem = user_keymap()
        app = CloseTuiApp(session.client, organization=session.organization,
                          keymap=keymap, notices=config_problem)
        freeze_long_lived()  # the emulator's organization lives as long as the app
        app.run()
        return 0

    keymap, config_problem = user_keymap()
    profile = args.profile or "default"
    try:
        base_url = resolve_base_url(args.base_url, args.profile, os.environ)
    except Exception as exc:  # a damaged config file: say which, don't trace back
        print(f"close-tui: {exc}", file=sys.stderr)
        return 2

    def make_client(key: str) -> CloseClient:
        return CloseClient(base_url, api_key=key, retry=RetryPolicy())

    account = Account(
        profile=profile,
        base_url=base_url,
        store=CredentialStore(),
        make_client=make_client,
        switch=lambda name: open_session(profile=name),
        open_demo=open_demo,
    )
    client: CloseClient | None = None
    organization: str | None = None
    try:
        session = open_session(profile=args.profile, base_url=args.base_url)
    except SessionError as exc:
        if exc.exit_code != 3:  # e.g. plain http to a remote host: not a login matter
            print(f"close-tui: {exc}", file=sys.stderr)
            return exc.exit_code
        # No key (or the keyring is unusable): the app opens on its login screen.
    else:
        if session.notice:
            print(f"close-tui: {session.notice}", file=sys.stderr)
        client, organization = session.client, session.organization
        account.profile = session.profile
    app = CloseTuiApp(
        client,
        account=account,
        organization=organization,
        initial_filter=profile_filter(account.profile),
        keymap=keymap,
        notices=config_problem,
    )
    freeze_long_lived()
    app.run()
    return 0


def launch_archive(args: argparse.Namespace, *, run: bool = True) -> int:
    """``close-tui --archive [--db PATH] [--profile NAME]``: the explorer on the local
    archive. Nothing is sent to the API: the client is :func:`offline_client`, so what
    needs the API (follow, restore) says so in one line. A missing or unreadable archive
    is one line on stderr and a nonzero exit (``archive_cli``'s messages and codes).
    ``--demo --archive`` syncs the emulated organization into the demo archive first
    when there is none."""
    from close_tui import archive_cli

    path = archive_cli.app_archive_path(args)

    def open_and_run() -> int:
        if getattr(args, "demo", False) and not path.exists():
            archive_cli.sync_demo_archive(args, path)
        app = archive_app(path)
        if not run:
            return 0
        try:
            freeze_long_lived()
            app.run()
        finally:
            source = app.event_source
            if isinstance(source, ArchiveSource):
                source.close()
        return 0

    return archive_cli.guarded(open_and_run)


def archive_app(path: Path, **app_options: Any) -> CloseTuiApp:
    """The app on the archive at ``path`` (raises the archive's one-line errors)."""
    from close_tui.core.archive.offline import offline_client
    from close_tui.core.archive.store import ArchiveStore
    from close_tui.core.archive.sync import HISTORY
    from close_tui.ui.app import CloseTuiApp

    with ArchiveStore(path, readonly=True) as store:  # missing or damaged: raises here
        status = store.status(datetime.now(UTC), HISTORY)
    if "keymap" not in app_options:
        keymap, config_problem = user_keymap()
        notices = list(config_problem)
        if status.unindexed:
            notices.append(f"{status.unindexed:,} events are not yet searchable (a sync "
                           "was interrupted): run `close-tui archive sync`")
        app_options.update(keymap=keymap, notices=notices)
    app_options.setdefault("organization", archive_label(status))
    client = app_options.pop("client", None) or offline_client()
    return CloseTuiApp(client, source=ArchiveSource(path), **app_options)


def archive_label(status: ArchiveStatus) -> str:
    """What the status bar calls the archive: its organization, and how recent it is
    (the last sync's server time, else its newest event), so nobody takes it for live."""
    org = status.organization_name or status.organization_id or "archive"
    when: datetime | None = None
    last = status.last_sync
    if last is not None and last.server_time:
        with contextlib.suppress(ValueError):
            when = datetime.fromisoformat(last.server_time)
    if when is None:
        when = status.newest
    if when is None:
        return f"{org} · archive (empty)"
    return f"{org} · archive as of {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def user_keymap() -> tuple[dict[str, str], tuple[str, ...]]:
    """The remapped keys (``settings.bindings``) of the config file, and what to tell the
    user about the file: a file that cannot be read is no reason not to start, but it is
    said on screen, naming the file (its saved views and filters are not used either)."""
    from close_tui.core import config

    try:
        return dict(config.load_config().settings.bindings), ()
    except Exception as exc:  # ConfigError names the file; anything else, one line too
        return {}, (f"Settings not used: {exc}",)
