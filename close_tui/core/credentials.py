"""Where the API key comes from, where it is kept, and how it is shown.

The key is the one secret close-tui handles. It lives in the OS keyring (Secret Service,
Keychain, Credential Locker) under service ``close-tui`` with the profile name as the
username; the environment may override it for scripts and CI. It is never written to the
config file, never accepted on the command line (argv is visible to every local user via
``ps``), and every object here that holds it masks it in ``repr()``.

Keyring backends fail in many ways (no backend on a headless box, a locked collection, no
D-Bus session, a daemon that dies mid-call). Callers should not need to know them all, so
:class:`CredentialStore` turns every one of them into a single :class:`KeyringUnavailable`
whose message names the remedy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

# resolve_base_url lives with the profiles it reads; re-exported so callers resolving a
# session find both halves (key and URL) here.
from close_tui.core.config import DEFAULT_PROFILE, resolve_base_url

#: The keyring "service" every close-tui key is stored under; the username is the profile.
KEYRING_SERVICE: Final = "close-tui"

ENV_API_KEY: Final = "CLOSE_API_KEY"
ENV_ACCESS_TOKEN: Final = "CLOSE_ACCESS_TOKEN"

#: Environment variables that carry a secret; stripped from the environment of any child
#: process close-tui starts (an editor, a pager, a browser).
SECRET_ENV_VARS: Final[tuple[str, ...]] = (ENV_API_KEY, ENV_ACCESS_TOKEN)

KeySource = Literal["env", "keyring"]

_KEY_PREFIX: Final = "api_"
_VISIBLE_TAIL: Final = 4
#: Below this length, even the last four characters are a large share of the secret.
_MIN_LEN_FOR_TAIL: Final = 12

KEYRING_REMEDY: Final = (
    "Start or unlock a Secret Service (for example gnome-keyring: "
    "`echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets` inside a D-Bus "
    f"session), or set {ENV_API_KEY} in the environment instead."
)


def mask_key(secret: str | None) -> str:
    """Show enough of a key to tell keys apart, never enough to use it.

    ``api_…7xQz``: the well-known prefix (it says nothing secret) and the last four
    characters. Short or unusual secrets show less, because four characters of a short
    secret are a real part of it.
    """
    if not secret:
        return "(none)"
    head = _KEY_PREFIX if secret.startswith(_KEY_PREFIX) else ""
    if len(secret) < _MIN_LEN_FOR_TAIL:
        return f"{head}…"
    return f"{head}…{secret[-_VISIBLE_TAIL:]}"


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every occurrence of the given secrets replaced by their masked form.

    Used on messages that quote a third party (a keyring backend, an HTTP library), which
    we cannot promise never to echo what they were handed.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, mask_key(secret))
    return text


def scrubbed_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of the environment without the secret variables, for child processes."""
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if k not in SECRET_ENV_VARS}


# --------------------------------------------------------------------------- errors


class CredentialError(Exception):
    """A credential problem with a message fit to show the user as is (exit code 3)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class KeyringUnavailable(CredentialError):
    """The OS keyring cannot be used right now; the message says why and what to do."""


# --------------------------------------------------------------------------- stores


def _describe_keyring_failure(exc: BaseException) -> str:
    """The user-facing explanation for one keyring failure, with the remedy."""
    # Imported here so that merely importing this module never initialises a backend.
    from keyring import errors as kerr

    if isinstance(exc, kerr.NoKeyringError):
        why = "No OS keyring is available (no Secret Service, Keychain or Credential Locker)."
    elif isinstance(exc, kerr.KeyringLocked):
        why = "The OS keyring is locked and was not unlocked."
    else:
        detail = " ".join(str(exc).split()) or "no details"
        # D-Bus failures surface as secretstorage/jeepney errors with very different texts;
        # naming the class keeps the message useful without a traceback.
        why = f"The OS keyring could not be used ({type(exc).__name__}: {detail})."
    return f"{why} {KEYRING_REMEDY}"


class CredentialStore:
    """API keys per profile in the OS keyring, via the ``keyring`` package.

    Every backend failure becomes :class:`KeyringUnavailable`. ``service`` is a parameter
    only so tests can keep their entries apart; the app always uses ``close-tui``.
    """

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self.service = service

    def __repr__(self) -> str:
        return f"{type(self).__name__}(service={self.service!r})"

    def describe(self) -> str:
        """Which backend keeps the keys, for ``auth status``."""
        try:
            import keyring

            backend = keyring.get_keyring()
        except Exception as exc:  # a broken keyring config must not crash status
            raise KeyringUnavailable(_describe_keyring_failure(exc)) from None
        return f"OS keyring ({type(backend).__module__}.{type(backend).__name__})"

    def get(self, profile: str) -> str | None:
        """The stored key of ``profile``, or ``None`` when nothing is stored."""
        import keyring

        try:
            return keyring.get_password(self.service, profile)
        except Exception as exc:
            raise KeyringUnavailable(_describe_keyring_failure(exc)) from None

    def set(self, profile: str, key: str) -> None:
        """Store ``key`` for ``profile``, replacing any earlier one, and check it stuck.

        The read-back catches backends that accept writes and keep nothing (the ``null``
        backend, a misconfigured chainer), which would otherwise report a successful login
        and then find no key on the next run.
        """
        import keyring

        try:
            keyring.set_password(self.service, profile, key)
            stored = keyring.get_password(self.service, profile)
        except Exception as exc:
            message = redact(_describe_keyring_failure(exc), key)
            raise KeyringUnavailable(message) from None
        if stored != key:
            raise KeyringUnavailable(
                "The OS keyring accepted the key but does not return it, so it was not "
                f"kept. {KEYRING_REMEDY}"
            )

    def delete(self, profile: str) -> bool:
        """Remove the key of ``profile``; ``False`` when nothing was stored."""
        import keyring
        from keyring.errors import PasswordDeleteError

        try:
            if keyring.get_password(self.service, profile) is None:
                return False
            keyring.delete_password(self.service, profile)
        except PasswordDeleteError:
            # Backends raise this for "no such entry"; it vanished between the two calls.
            return False
        except Exception as exc:
            raise KeyringUnavailable(_describe_keyring_failure(exc)) from None
        return True


class MemoryCredentialStore(CredentialStore):
    """Keys kept in this process only, for a run where the OS keyring is unavailable.

    Same interface as :class:`CredentialStore`, so the app can swap it in after asking
    the user; nothing survives the process.
    """

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        super().__init__(service)
        self._keys: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(profiles={sorted(self._keys)!r})"

    def describe(self) -> str:
        return "memory (this run only)"

    def get(self, profile: str) -> str | None:
        return self._keys.get(profile)

    def set(self, profile: str, key: str) -> None:
        self._keys[profile] = key

    def delete(self, profile: str) -> bool:
        return self._keys.pop(profile, None) is not None


# --------------------------------------------------------------------------- resolution


@dataclass(frozen=True, repr=False)
class ResolvedKey:
    """The credentials a run will use, where they came from, and what to tell the user.

    ``key`` is an API key (HTTP Basic). When only ``CLOSE_ACCESS_TOKEN`` is set, ``key``
    is ``None`` and ``token`` carries the OAuth access token (Bearer, never stored). Never
    both: ``CloseClient(base_url, api_key=r.key, access_token=r.token)`` is always valid.
    ``notice`` is a one-line remark for stderr, e.g. that an environment variable was
    ignored because ``--profile`` was given.
    """

    key: str | None
    source: KeySource
    profile: str
    notice: str | None = None
    token: str | None = None

    def __post_init__(self) -> None:
        if bool(self.key) == bool(self.token):
            raise ValueError("ResolvedKey needs exactly one of a key or an access token")

    def __repr__(self) -> str:
        token = f", token={mask_key(self.token)!r}" if self.token else ""
        return (
            f"ResolvedKey(key={mask_key(self.key)!r}, source={self.source!r}, "
            f"profile={self.profile!r}, notice={self.notice!r}{token})"
        )

    __str__ = __repr__

    @property
    def masked(self) -> str:
        """The credential in use, masked, for status lines."""
        return mask_key(self.key or self.token)

    @property
    def kind(self) -> Literal["api_key", "access_token"]:
        return "api_key" if self.key else "access_token"

    @property
    def origin(self) -> str:
        """Where the credential came from, in words."""
        if self.source == "keyring":
            return f"OS keyring (service {KEYRING_SERVICE!r}, profile {self.profile!r})"
        return f"environment variable {ENV_API_KEY if self.key else ENV_ACCESS_TOKEN}"

    def client_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``CloseClient``: ``api_key=`` or ``access_token=``."""
        if self.key:
            return {"api_key": self.key}
        assert self.token is not None  # guaranteed by __post_init__
        return {"access_token": self.token}


def _env_value(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def no_key_message(profile: str | None) -> str:
    """What to tell the user when :func:`resolve_key` found nothing."""
    if profile is not None:
        return (
            f"No API key is stored for profile {profile!r}. "
            f"Run `close-tui auth login --profile {profile}`."
        )
    return (
        f"No API key found: {ENV_API_KEY} is not set and nothing is stored for profile "
        f"{DEFAULT_PROFILE!r}. Run `close-tui auth login` or set {ENV_API_KEY}."
    )


def resolve_key(
    profile: str | None,
    env: Mapping[str, str],
    store: CredentialStore | None = None,
) -> ResolvedKey | None:
    """Find the credentials for this run; ``None`` when there are none
    (:func:`no_key_message` says what to do then).

    Order:

    1. ``profile`` given explicitly (``--profile``): that profile's keyring entry only. The
       user asked for a specific account, so a stray ``CLOSE_API_KEY`` in the shell must
       not silently win; it is ignored with a one-line notice.
    2. Otherwise ``CLOSE_API_KEY``, then ``CLOSE_ACCESS_TOKEN`` (environment beats
       keyring, so scripts and CI can override a stored login), then the keyring entry of
       the default profile.

    Raises :class:`KeyringUnavailable` when the keyring had to be asked and failed.
    """
    store = store if store is not None else CredentialStore()
    env_key = _env_value(env, ENV_API_KEY)
    env_token = _env_value(env, ENV_ACCESS_TOKEN)

    if profile is not None:
        ignored = [n for n, v in ((ENV_API_KEY, env_key), (ENV_ACCESS_TOKEN, env_token)) if v]
        notice = (
            f"{' and '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} set but ignored "
            f"because --profile {profile} was given."
            if ignored
            else None
        )
        key = store.get(profile)
        if not key:
            return None
        return ResolvedKey(key=key, source="keyring", profile=profile, notice=notice)

    if env_key:
        notice = (
            f"{ENV_ACCESS_TOKEN} is set but ignored because {ENV_API_KEY} is set too."
            if env_token
            else None
        )
        return ResolvedKey(key=env_key, source="env", profile=DEFAULT_PROFILE, notice=notice)
    if env_token:
        return ResolvedKey(key=None, source="env", profile=DEFAULT_PROFILE, token=env_token)

    key = store.get(DEFAULT_PROFILE)
    if not key:
        return None
    return ResolvedKey(key=key, source="keyring", profile=DEFAULT_PROFILE)


__all__ = [
    "DEFAULT_PROFILE",
    "ENV_ACCESS_TOKEN",
    "ENV_API_KEY",
    "KEYRING_SERVICE",
    "SECRET_ENV_VARS",
    "CredentialError",
    "CredentialStore",
    "KeyringUnavailable",
    "MemoryCredentialStore",
    "ResolvedKey",
    "mask_key",
    "no_key_message",
    "redact",
    "resolve_base_url",
    "resolve_key",
    "scrubbed_environ",
]
