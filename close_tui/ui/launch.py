"""Start the app: pick the session (or ask for a key), restore the last filter, run."""

from __future__ import annotations

import argparse
import os
import sys

from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.heap import freeze_long_lived


def launch(args: argparse.Namespace) -> int:
    from close_tui.core.credentials import CredentialStore, resolve_base_url
    from close_tui.session import SessionError, open_demo, open_session
    from close_tui.ui.app import Account, CloseTuiApp, profile_filter

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


def user_keymap() -> tuple[dict[str, str], tuple[str, ...]]:
    """The remapped keys (``settings.bindings``) of the config file, and what to tell the
    user about the file: a file that cannot be read is no reason not to start, but it is
    said on screen, naming the file (its saved views and filters are not used either)."""
    from close_tui.core import config

    try:
        return dict(config.load_config().settings.bindings), ()
    except Exception as exc:  # ConfigError names the file; anything else, one line too
        return {}, (f"Settings not used: {exc}",)
