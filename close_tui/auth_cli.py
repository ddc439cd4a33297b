"""``close-tui auth login|status|logout``: put the API key in the OS keyring and check it.

No option takes the key: argv is readable by every local user (``ps``, shell history),
so the key comes from a masked prompt, or one line of stdin when stdin is not a terminal
(``pass show close | close-tui auth login``).

Exit codes (those of ``close-tui`` as a whole): 0 done; 2 bad input (empty key, unusable
base URL, broken config file); 3 credentials (no key, the API refused it, the keyring
cannot be used); 1 the API could not be reached or answered nonsense (``auth status``
still prints what it knows locally first).
``logout`` with nothing stored says so and exits 0: the requested end state holds, and
scripts can call it unconditionally.

Every failure is a one-paragraph message on stderr, never a traceback: the people who hit
keyring problems are on headless boxes and need the remedy, not the stack.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from close_tui.core.config import (
    ConfigError,
    load_config,
    resolve_base_url,
    save_config,
)
from close_tui.core.credentials import (
    DEFAULT_PROFILE,
    ENV_ACCESS_TOKEN,
    ENV_API_KEY,
    CredentialError,
    CredentialStore,
    KeyringUnavailable,
    ResolvedKey,
    mask_key,
    no_key_message,
    redact,
    resolve_key,
)
from close_tui.core.errors import AuthError, CloseError, InsecureURL
from close_tui.core.me import parse_me
from close_tui.core.sanitize import visible

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CREDENTIALS = 3
EXIT_ERROR = 1

#: ``(base_url, client kwargs) -> GET /me/ body``; injectable so tests need no server.
MeFetcher = Callable[[str, Mapping[str, str]], Coroutine[Any, Any, Mapping[str, Any]]]


async def fetch_me(base_url: str, credentials: Mapping[str, str]) -> Mapping[str, Any]:
    """``GET /me/`` with the real client; ``credentials`` holds ``api_key`` or
    ``access_token`` (``ResolvedKey.client_kwargs()``)."""
    from close_tui.core.client import CloseClient, RetryPolicy

    async with CloseClient(
        base_url,
        api_key=credentials.get("api_key"),
        access_token=credentials.get("access_token"),
        # Someone is waiting at the prompt: a few quick tries, not the client's default
        # patience for long listings (which spends ~15 s on a refused connection).
        retry=RetryPolicy(max_attempts=3, max_delay=2.0),
    ) as client:
        return await client.me()


# --------------------------------------------------------------------------- parser


def add_parser(
    subparsers: argparse._SubParsersAction[Any],
    *,
    parents_hook: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.ArgumentParser:
    """Add ``auth`` (with ``login``, ``status``, ``logout``) to the main CLI's subparsers.

    Options default to ``argparse.SUPPRESS`` so that a ``--profile``/``--base-url`` the
    main parser also defines is not overwritten by a subparser's ``None``.
    ``parents_hook`` receives the ``auth`` parser itself, for the main CLI's global
    options (``close-tui auth --profile work status``); the actions add their own.
    """
    auth: argparse.ArgumentParser = subparsers.add_parser(
        "auth",
        help="store, check or remove the Close API key (OS keyring)",
        description="Manage the Close API key kept in the OS keyring, one per profile.",
    )
    if parents_hook is not None:
        parents_hook(auth)
    actions = auth.add_subparsers(dest="auth_command", metavar="ACTION", required=True)

    def profile_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--profile",
            default=argparse.SUPPRESS,
            metavar="P",
            help=f"profile name (default: {DEFAULT_PROFILE!r})",
        )

    def base_url_option(p: argparse.ArgumentParser, help_text: str) -> None:
        p.add_argument("--base-url", default=argparse.SUPPRESS, metavar="URL", help=help_text)

    login = actions.add_parser(
        "login",
        help="ask for the key, check it with the API, store it in the keyring",
        description=(
            "Ask for the API key (input hidden; one line of stdin when stdin is not a "
            "terminal), check it with GET /me/ and store it in the OS keyring. A key the "
            "API refuses is not stored."
        ),
    )
    profile_option(login)
    base_url_option(login, "API base URL, recorded in the profile's config")

    status = actions.add_parser("status", help="where the key comes from, masked, and whose it is")
    profile_option(status)
    base_url_option(status, "API base URL to check the key against")

    logout = actions.add_parser("logout", help="remove the profile's key from the keyring")
    profile_option(logout)
    return auth


# --------------------------------------------------------------------------- helpers


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _line(label: str, value: str) -> None:
    """One aligned ``Label:   value`` line of ``auth status``."""
    print(f"{label + ':':<15}{value}")


def _describe_me(me: Mapping[str, Any]) -> tuple[str, str]:
    """``("Jane Doe <jane@acme.com>", "Acme")`` for the terminal, made visible (see core.me)."""
    facts = parse_me(me)
    return facts.user_label, facts.organization_label


def _read_key(stdin: TextIO) -> str:
    """The key from a hidden prompt, or one line of stdin when it is not a terminal."""
    if stdin.isatty():
        return getpass.getpass("Close API key (input hidden): ")
    return stdin.readline()


def _check_key_shape(key: str) -> str | None:
    """Why ``key`` cannot be a key, or ``None``. Never quotes the key."""
    if not key:
        return "No API key was given (empty input)."
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        return "That is not an API key: it contains spaces or control characters."
    return None


# --------------------------------------------------------------------------- actions


def _login(
    profile: str,
    flag_base_url: str | None,
    env: Mapping[str, str],
    store: CredentialStore,
    me_fetcher: MeFetcher,
    stdin: TextIO,
    config_file: Path | None,
) -> int:
    cfg = load_config(config_file)
    base_url = resolve_base_url(flag_base_url, profile, env, cfg)

    # Ask the keyring first: learning it is unusable *after* typing the key is annoying.
    replacing = store.get(profile) is not None

    try:
        key = _read_key(stdin).strip()
    except (KeyboardInterrupt, EOFError):
        _err("\nCancelled; nothing was stored.")
        return EXIT_USAGE
    problem = _check_key_shape(key)
    if problem:
        _err(f"{problem} Nothing was stored.")
        return EXIT_USAGE

    try:
        me = asyncio.run(me_fetcher(base_url, {"api_key": key}))
    except InsecureURL as exc:
        _err(f"{redact(str(exc), key)} Nothing was stored.")
        return EXIT_USAGE
    except AuthError as exc:
        _err(
            f"The API at {base_url} refused this key ({redact(str(exc), key)}). It was NOT stored."
        )
        return EXIT_CREDENTIALS
    except CloseError as exc:
        _err(
            f"Could not check the key with {base_url}: {redact(str(exc), key)}. "
            "It was NOT stored; try again when the API is reachable."
        )
        return EXIT_ERROR

    user, org = _describe_me(me)
    print(f"Key accepted: {user}, organization {org}.")

    store.set(profile, key)
    verb = "Replaced" if replacing else "Stored"
    print(f"{verb} the key {mask_key(key)} in the {store.describe()} as profile {profile!r}.")

    prof = cfg.profile(profile)
    if flag_base_url:
        prof.base_url = base_url
    # Stored as the API sent them; every display sanitises (the UI renders them as Text).
    facts = parse_me(me)
    prof.organization_name = facts.organization
    prof.user_name = facts.person or facts.email or None
    save_config(cfg, config_file)

    if env.get(ENV_API_KEY, "").strip() and profile == DEFAULT_PROFILE:
        _err(
            f"Note: {ENV_API_KEY} is set in this environment; it takes precedence over "
            "the stored key unless --profile is given."
        )
    return EXIT_OK


def _status(
    profile_flag: str | None,
    flag_base_url: str | None,
    env: Mapping[str, str],
    store: CredentialStore,
    me_fetcher: MeFetcher,
    config_file: Path | None,
) -> int:
    cfg = load_config(config_file)
    profile = profile_flag or DEFAULT_PROFILE
    _line("Profile", profile)
    resolved: ResolvedKey | None = resolve_key(profile_flag, env, store)
    if resolved is None:
        _line("Key", "none")
        _err(no_key_message(profile_flag))
        return EXIT_CREDENTIALS
    if resolved.notice:
        _err(f"Note: {resolved.notice}")

    base_url = resolve_base_url(flag_base_url, resolved.profile, env, cfg)
    kind = "Key" if resolved.kind == "api_key" else "Access token"
    _line(f"{kind} source" if kind == "Key" else "Token source", resolved.origin)
    _line(kind, resolved.masked)
    _line("Base URL", base_url)

    secrets = (resolved.key, resolved.token)
    try:
        me = asyncio.run(me_fetcher(base_url, resolved.client_kwargs()))
    except AuthError as exc:
        _err(f"The API at {base_url} refused this {kind.lower()} ({redact(str(exc), *secrets)}).")
        return EXIT_CREDENTIALS
    except CloseError as exc:
        known = cfg.profiles.get(resolved.profile)
        _line("User", f"unknown (could not reach the API: {redact(str(exc), *secrets)})")
        if known and known.organization_name:
            _line("Organization", f"{visible(known.organization_name)} (as of the last login)")
        return EXIT_ERROR

    user, org = _describe_me(me)
    _line("User", user)
    _line("Organization", org)
    return EXIT_OK


def _logout(
    profile: str, env: Mapping[str, str], store: CredentialStore, config_file: Path | None
) -> int:
    # Read the config before touching the keyring: a broken config file must stop the
    # logout with its one message, not after the key is already gone.
    cfg = load_config(config_file)
    removed = store.delete(profile)
    if removed:
        print(f"Removed the API key of profile {profile!r} from the {store.describe()}.")
        known = cfg.profiles.get(profile)
        if known is not None:
            # Who the key belonged to is stale now; the base URL and filter still apply.
            known.organization_name = None
            known.user_name = None
            save_config(cfg, config_file)
    else:
        print(f"No API key was stored for profile {profile!r}; nothing to remove.")
    for name in (ENV_API_KEY, ENV_ACCESS_TOKEN):
        if env.get(name, "").strip():
            _err(f"Note: {name} is still set in this environment and will still be used.")
    return EXIT_OK


# --------------------------------------------------------------------------- entry points


def run(
    args: argparse.Namespace,
    *,
    env: Mapping[str, str] | None = None,
    store: CredentialStore | None = None,
    me_fetcher: MeFetcher | None = None,
    stdin: TextIO | None = None,
    config_file: Path | None = None,
) -> int:
    """Run the parsed ``auth`` command; returns the exit code. Never raises for expected
    failures (keyring, config, network): they become a message on stderr."""
    env = os.environ if env is None else env
    store = store if store is not None else CredentialStore()
    me_fetcher = me_fetcher if me_fetcher is not None else fetch_me
    stdin = stdin if stdin is not None else sys.stdin
    profile_flag: str | None = getattr(args, "profile", None)
    base_url_flag: str | None = getattr(args, "base_url", None)
    profile = profile_flag or DEFAULT_PROFILE
    if getattr(args, "demo", False):
        _err("`auth` manages real credentials; --demo needs none. Drop --demo.")
        return EXIT_USAGE

    try:
        match args.auth_command:
            case "login":
                return _login(profile, base_url_flag, env, store, me_fetcher, stdin, config_file)
            case "status":
                return _status(profile_flag, base_url_flag, env, store, me_fetcher, config_file)
            case "logout":
                return _logout(profile, env, store, config_file)
            case other:
                _err(f"Unknown auth action {other!r}.")
                return EXIT_USAGE
    except KeyringUnavailable as exc:
        _err(str(exc))
        return EXIT_CREDENTIALS
    except CredentialError as exc:
        _err(str(exc))
        return EXIT_CREDENTIALS
    except ConfigError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except OSError as exc:  # saving the config: a read-only home, a full disk
        where = exc.filename or "the config file"
        _err(f"Cannot write {where}: {exc.strerror or exc}. The keyring entry is as "
             "reported above; the profile's settings were not saved.")
        return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry (``python -m close_tui.auth_cli login``), same as ``close-tui auth``."""
    parser = argparse.ArgumentParser(prog="close-tui")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_parser(subparsers)
    args = parser.parse_args(["auth", *(sys.argv[1:] if argv is None else argv)])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "EXIT_CREDENTIALS",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "add_parser",
    "fetch_me",
    "main",
    "run",
]
