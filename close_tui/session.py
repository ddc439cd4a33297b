"""Which API to talk to, with which credentials: shared by the CLI and the app.

``--demo`` puts the built-in emulator behind an in-process transport (no key, no
network). Otherwise the key comes from the environment or the keyring (see
``core.credentials``) and the base URL from the flag, environment or profile.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.errors import InsecureURL

if TYPE_CHECKING:
    from close_tui.emulator import Emulator

#: The demo's base URL: never resolved (the transport is in-process); `.invalid` by RFC 2606.
DEMO_BASE_URL = "https://demo.close-tui.invalid/api/v1"


class SessionError(Exception):
    """No usable credentials or base URL; ``exit_code`` says how the CLI should end."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Session:
    client: CloseClient
    profile: str
    organization: str | None = None
    notice: str | None = None
    emulator: Emulator | None = None


def open_demo(
    *,
    live: bool = False,
    hostile: bool = False,
    retry: RetryPolicy | None = None,
    client_options: Mapping[str, Any] | None = None,
) -> Session:
    """The emulator's organization, in-process. ``hostile`` mixes in records made to
    break terminals (``emulator/hostile.py``): a way to see that they cannot."""
    from close_tui.emulator import Emulator, EmulatorConfig

    emulator = Emulator(EmulatorConfig(live=live, hostile=hostile))
    client = CloseClient(
        DEMO_BASE_URL,
        api_key=emulator.admin_key,
        transport=emulator.transport(),
        retry=retry or RetryPolicy(),
        **(client_options or {}),
    )
    name = emulator.organization.get("name")
    return Session(client, profile="demo", organization=str(name) if name else None,
                   emulator=emulator)


def open_session(
    *,
    demo: bool = False,
    live: bool = False,
    hostile: bool = False,
    profile: str | None = None,
    base_url: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    retries: int | None = None,
    client_options: Mapping[str, Any] | None = None,
) -> Session:
    """A client for what the flags, environment and profile select.

    ``retries`` is how many times a failed request is tried again (network errors,
    5xx, 429); ``None`` keeps the client's default. ``client_options`` go to
    :class:`CloseClient` as they are (``max_body``, ``unannounced_rate``).
    """
    retry = RetryPolicy() if retries is None else RetryPolicy(max_attempts=retries + 1)
    if demo:
        return open_demo(live=live, hostile=hostile, retry=retry, client_options=client_options)
    from close_tui.core.credentials import KeyringUnavailable, resolve_base_url, resolve_key

    environ = os.environ if env is None else env
    try:
        resolved = resolve_key(profile, environ)
    except KeyringUnavailable as exc:
        raise SessionError(str(exc), 3) from None
    if resolved is None:
        raise SessionError(
            "no API key: run `close-tui auth login`, or set CLOSE_API_KEY "
            "(or try `close-tui --demo`)",
            3,
        )
    url = resolve_base_url(base_url, profile, environ)
    try:
        client = CloseClient(
            url, api_key=resolved.key, access_token=resolved.token, timeout=timeout, retry=retry,
            **(client_options or {}),
        )
    except InsecureURL as exc:
        raise SessionError(str(exc), 2) from None
    return Session(client, profile=resolved.profile, notice=resolved.notice)
