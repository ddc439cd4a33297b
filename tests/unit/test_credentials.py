"""The API key: where it is resolved from, how it is kept, and that it never shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import (
    InitError,
    KeyringLocked,
    NoKeyringError,
    PasswordSetError,
)
from keyring_backends import BrokenKeyring, MemoryKeyring

from close_tui.core.credentials import (
    DEFAULT_PROFILE,
    KEYRING_SERVICE,
    CredentialStore,
    KeyringUnavailable,
    MemoryCredentialStore,
    ResolvedKey,
    mask_key,
    no_key_message,
    redact,
    resolve_key,
    scrubbed_environ,
)

KEY = "api_5bTzQh1sKxWvYp3Lm9Ra.4fGd8Jc2NnXe6Uo07xQz"
OTHER_KEY = "api_2kPwq8ZrTt5Yb1Mx0Jhe.9sLc3Vf6Dd4Gn7Ua1AbCd"
TOKEN = "oauth_tok_8f7e6d5c4b3a2910ZZyy"


InstallBackend = Callable[[KeyringBackend], KeyringBackend]


class ForgetfulKeyring(MemoryKeyring):
    """Accepts writes and keeps nothing, like keyring's ``null`` backend."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    for name in ("CLOSE_API_KEY", "CLOSE_ACCESS_TOKEN", "CLOSE_BASE_URL", "PYTHON_KEYRING_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def use_backend(monkeypatch: pytest.MonkeyPatch) -> InstallBackend:
    """Install a keyring backend for one test; the previous one comes back afterwards."""
    # monkeypatch remembers the current backend (possibly None = not chosen yet) and
    # restores it at teardown, whatever set_keyring does in between.
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core._keyring_backend)

    def install(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    return install


@pytest.fixture
def memory_keyring(use_backend: InstallBackend) -> MemoryKeyring:
    backend = MemoryKeyring()
    use_backend(backend)
    return backend


# --------------------------------------------------------------------------- masking


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        (KEY, "api_…7xQz"),
        ("api_short", "api_…"),
        ("notakeyformat_0123456789", "…6789"),
        ("tiny", "…"),
        ("", "(none)"),
        (None, "(none)"),
    ],
)
def test_mask_key_shows_prefix_and_last_four_at_most(secret: str | None, shown: str) -> None:
    assert mask_key(secret) == shown


def test_mask_never_reveals_more_than_the_last_four_characters() -> None:
    masked = mask_key(KEY)
    assert KEY[:-4].removeprefix("api_")[:4] not in masked
    assert len(masked.replace("api_", "").replace("…", "")) == 4


def test_redact_replaces_every_occurrence() -> None:
    text = f"backend said: bad secret {KEY} (again {KEY})"
    assert KEY not in redact(text, KEY, None)
    assert redact(text, KEY).count("api_…7xQz") == 2


def test_scrubbed_environ_drops_secret_variables() -> None:
    env = {"CLOSE_API_KEY": KEY, "CLOSE_ACCESS_TOKEN": TOKEN, "PATH": "/bin", "TERM": "xterm"}
    assert scrubbed_environ(env) == {"PATH": "/bin", "TERM": "xterm"}


# --------------------------------------------------------------------------- ResolvedKey


def test_resolved_key_repr_and_str_mask_the_key() -> None:
    resolved = ResolvedKey(key=KEY, source="keyring", profile="work", notice=None)
    for text in (repr(resolved), str(resolved), f"{resolved}", repr([resolved])):
        assert KEY not in text
        assert "api_…7xQz" in text
        assert "'work'" in text


def test_resolved_token_repr_masks_the_token() -> None:
    resolved = ResolvedKey(key=None, source="env", profile=DEFAULT_PROFILE, token=TOKEN)
    assert TOKEN not in repr(resolved)
    assert resolved.client_kwargs() == {"access_token": TOKEN}
    assert resolved.kind == "access_token"


def test_resolved_key_holds_exactly_one_credential() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ResolvedKey(key=None, source="env", profile=DEFAULT_PROFILE)
    with pytest.raises(ValueError, match="exactly one"):
        ResolvedKey(key=KEY, source="env", profile=DEFAULT_PROFILE, token=TOKEN)


# --------------------------------------------------------------------------- resolution order


def resolve(
    profile: str | None, env: dict[str, str], store: CredentialStore | None = None
) -> ResolvedKey:
    resolved = resolve_key(profile, env, store)
    assert resolved is not None
    return resolved


def test_env_key_beats_the_keyring_without_profile(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, DEFAULT_PROFILE)] = OTHER_KEY
    resolved = resolve(None, {"CLOSE_API_KEY": KEY})
    assert (resolved.key, resolved.source, resolved.profile) == (KEY, "env", DEFAULT_PROFILE)
    assert resolved.notice is None
    assert resolved.client_kwargs() == {"api_key": KEY}


def test_keyring_default_profile_when_env_is_unset(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, DEFAULT_PROFILE)] = KEY
    resolved = resolve(None, {})
    assert (resolved.key, resolved.source, resolved.profile) == (KEY, "keyring", "default")


def test_blank_env_key_counts_as_unset(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, DEFAULT_PROFILE)] = KEY
    resolved = resolve(None, {"CLOSE_API_KEY": "  "})
    assert resolved.source == "keyring"


def test_explicit_profile_uses_its_keyring_entry_and_ignores_env_with_notice(
    memory_keyring: MemoryKeyring,
) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, "work")] = KEY
    resolved = resolve("work", {"CLOSE_API_KEY": OTHER_KEY})
    assert (resolved.key, resolved.source, resolved.profile) == (KEY, "keyring", "work")
    assert resolved.notice is not None
    assert "CLOSE_API_KEY" in resolved.notice and "--profile work" in resolved.notice
    assert "\n" not in resolved.notice
    assert OTHER_KEY not in resolved.notice


def test_explicit_default_profile_still_ignores_env(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, DEFAULT_PROFILE)] = KEY
    resolved = resolve("default", {"CLOSE_API_KEY": OTHER_KEY})
    assert resolved.key == KEY
    assert resolved.notice is not None


def test_explicit_profile_without_entry_does_not_fall_back_to_env(
    memory_keyring: MemoryKeyring,
) -> None:
    assert resolve_key("work", {"CLOSE_API_KEY": KEY}) is None
    assert "auth login --profile work" in no_key_message("work")


def test_nothing_anywhere_raises_no_credentials(memory_keyring: MemoryKeyring) -> None:
    assert resolve_key(None, {}) is None
    assert "CLOSE_API_KEY" in no_key_message(None)
    assert "auth login" in no_key_message(None)


def test_access_token_is_the_alternative_when_no_key_is_set(
    memory_keyring: MemoryKeyring,
) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, DEFAULT_PROFILE)] = KEY
    resolved = resolve(None, {"CLOSE_ACCESS_TOKEN": TOKEN})
    assert resolved.key is None
    assert resolved.token == TOKEN
    assert resolved.source == "env"
    assert "CLOSE_ACCESS_TOKEN" in resolved.origin


def test_env_key_wins_over_token_with_notice(memory_keyring: MemoryKeyring) -> None:
    resolved = resolve(None, {"CLOSE_API_KEY": KEY, "CLOSE_ACCESS_TOKEN": TOKEN})
    assert resolved.key == KEY
    assert resolved.token is None
    assert resolved.notice is not None and "CLOSE_ACCESS_TOKEN" in resolved.notice


def test_env_key_does_not_touch_a_broken_keyring(use_backend: InstallBackend) -> None:
    use_backend(BrokenKeyring(NoKeyringError("No recommended backend")))
    assert resolve(None, {"CLOSE_API_KEY": KEY}).key == KEY


def test_resolution_from_a_memory_store() -> None:
    store = MemoryCredentialStore()
    store.set("default", KEY)
    assert resolve(None, {}, store).key == KEY
    assert KEY not in repr(store)


# --------------------------------------------------------------------------- the store


def test_store_round_trip_uses_service_and_profile(memory_keyring: MemoryKeyring) -> None:
    store = CredentialStore()
    assert store.get("work") is None
    store.set("work", KEY)
    assert memory_keyring.entries == {("close-tui", "work"): KEY}
    assert store.get("work") == KEY
    assert store.delete("work") is True
    assert store.get("work") is None
    assert store.delete("work") is False
    assert "MemoryKeyring" in store.describe()


def test_set_replaces_the_previous_key(memory_keyring: MemoryKeyring) -> None:
    store = CredentialStore()
    store.set("default", OTHER_KEY)
    store.set("default", KEY)
    assert store.get("default") == KEY


def test_memory_store_has_the_same_interface() -> None:
    store = MemoryCredentialStore()
    assert isinstance(store, CredentialStore)
    assert store.get("default") is None
    store.set("default", KEY)
    assert store.get("default") == KEY
    assert store.delete("default") is True
    assert store.delete("default") is False
    assert "memory" in store.describe()


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (NoKeyringError("No recommended backend was available."), "No OS keyring is available"),
        (KeyringLocked("Failed to unlock the collection!"), "locked"),
        (InitError("Failed to create the collection: Prompt dismissed."), "InitError"),
        (
            RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown: no D-Bus session"),
            "ServiceUnknown",
        ),
        (PasswordSetError("write failed"), "PasswordSetError"),
    ],
)
@pytest.mark.parametrize("operation", ["get", "set", "delete"])
def test_every_backend_failure_becomes_keyring_unavailable_with_remedy(
    use_backend: InstallBackend, error: Exception, says: str, operation: str
) -> None:
    use_backend(BrokenKeyring(error))
    store = CredentialStore()
    with pytest.raises(KeyringUnavailable) as caught:
        if operation == "set":
            store.set("default", KEY)
        else:
            getattr(store, operation)("default")
    message = str(caught.value)
    assert says in message
    assert "gnome-keyring" in message and "CLOSE_API_KEY" in message
    assert KEY not in message
    # No chained backend traceback to print by accident.
    assert caught.value.__suppress_context__ is True
    assert caught.value.__cause__ is None


def test_a_failure_message_that_echoes_the_key_is_redacted(use_backend: InstallBackend) -> None:
    use_backend(BrokenKeyring(RuntimeError(f"cannot store {KEY}"), reads_work=True))
    with pytest.raises(KeyringUnavailable) as caught:
        CredentialStore().set("default", KEY)
    assert KEY not in str(caught.value)
    assert "api_…7xQz" in str(caught.value)


def test_the_real_fail_backend_is_reported(use_backend: InstallBackend) -> None:
    from keyring.backends import fail

    use_backend(fail.Keyring())  # type: ignore[no-untyped-call]
    with pytest.raises(KeyringUnavailable, match="No OS keyring is available"):
        CredentialStore().get("default")


def test_a_backend_that_forgets_writes_is_not_trusted(use_backend: InstallBackend) -> None:
    use_backend(ForgetfulKeyring())
    with pytest.raises(KeyringUnavailable, match="does not return it"):
        CredentialStore().set("default", KEY)


def test_store_repr_has_no_secret(memory_keyring: MemoryKeyring) -> None:
    store = CredentialStore()
    store.set("default", KEY)
    assert KEY not in repr(store)
