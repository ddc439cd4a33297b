"""Non-secret settings: profiles (base URL, who the key belongs to, last filter) and theme.

One JSON file, ``config.json`` in ``platformdirs.user_config_dir("close-tui")`` (on Linux
``$XDG_CONFIG_HOME/close-tui``, default ``~/.config/close-tui``). JSON because the
standard library both reads and writes it, and the file is small and machine-written.

The API key never goes here — it lives in the OS keyring (``core.credentials``). The
models ignore unknown fields, so nothing stray (say, a key pasted in by hand) is ever
carried along and written back. Writes are atomic (temp file + ``os.replace``) so a crash
or a full disk leaves the old file, not half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Defined with the other typed errors (a CloseError the UI knows); importable from here.
from close_tui.core.errors import ConfigError as ConfigError
from close_tui.core.sanitize import visible

APP_NAME: Final = "close-tui"
#: The profile used when ``--profile`` is not given; also its keyring username.
DEFAULT_PROFILE: Final = "default"
CONFIG_FILENAME: Final = "config.json"
DEFAULT_BASE_URL: Final = "https://api.close.com/api/v1"
ENV_BASE_URL: Final = "CLOSE_BASE_URL"


#: A config file is a few kilobytes; reading stops here rather than at the memory's end.
_MAX_CONFIG_BYTES: Final = 16 * 1024 * 1024

class SavedView(BaseModel):
    """A named investigation: a server filter plus a local predicate (both may be empty)."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    params: dict[str, str] = Field(default_factory=dict)
    """The server filter as ``GET /event/`` params (``EventFilter.to_params()``)."""
    predicate: str = ""
    """The local predicate as typed (``core.predicates``), ``""`` for none."""


class Profile(BaseModel):
    """What close-tui remembers about one profile (one API key in the keyring)."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    base_url: str | None = None
    """API base URL recorded by ``auth login --base-url``; ``None`` means the default."""
    organization_name: str | None = None
    """The key's organization at the last login, shown before the network answers."""
    user_name: str | None = None
    """The key's user at the last login."""
    last_filter: dict[str, str] | None = None
    """The last applied filter as ``GET /event/`` params (``EventFilter.to_params()``)."""
    views: dict[str, SavedView] = Field(default_factory=dict)
    """Saved views by name (per profile: the ids in a filter belong to one organization)."""


class AppSettings(BaseModel):
    """Settings of the app itself, shared by all profiles."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    theme: str | None = None
    """Textual theme name; ``None`` keeps the app's default."""
    bindings: dict[str, str] = Field(default_factory=dict)
    """Remapped keys (Textual's keymap): binding id -> keys, ``{"explorer.pivot_lead":
    "ctrl+l"}``; the app's help screen (``?``) lists the ids. Not named "keymap": no
    field of this file has "key" in its name (see test_config), so a secret has no
    place that looks like it belongs here."""


class Config(BaseModel):
    """The whole settings file."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    version: int = 1
    profiles: dict[str, Profile] = Field(default_factory=dict)
    settings: AppSettings = Field(default_factory=AppSettings)

    def profile(self, name: str | None = None) -> Profile:
        """The named profile (the default one for ``None``), created empty if new."""
        key = name or DEFAULT_PROFILE
        if key not in self.profiles:
            self.profiles[key] = Profile()
        return self.profiles[key]


def config_dir() -> Path:
    """The per-user config directory (honours ``XDG_CONFIG_HOME`` on Linux)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def config_path() -> Path:
    return config_dir() / CONFIG_FILENAME


def load_config(path: Path | None = None) -> Config:
    """The saved settings, or empty defaults when there is no file yet (or an empty one).

    Raises :class:`~close_tui.core.errors.ConfigError`, naming the file, when it exists
    but cannot be used: unreadable, a folder, not UTF-8, not JSON, not a close-tui config.
    Silently starting over would drop the user's profiles the next time we save. Any
    bytes give a config or that one error, never another exception.
    """
    path = path or config_path()
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the config file {path}: {exc.strerror or exc}", path=str(path)
        ) from None
    advice = "fix it or delete it to start over."
    if len(raw) > _MAX_CONFIG_BYTES:
        raise ConfigError(f"{path} is far too large to be a close-tui config; {advice}",
                          path=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not a valid close-tui config (not UTF-8 text: byte {exc.start}); "
            f"{advice}",
            path=str(path),
        ) from None
    if not text.strip():
        return Config()  # an empty file (a crash mid-write, a `touch`): nothing to lose
    try:
        return Config.model_validate_json(text)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0] if errors else None
        where = ".".join(str(p) for p in first["loc"]) if first else ""
        what = visible(f"{where or 'top level'}: {first['msg'] if first else exc}")[:200]
        raise ConfigError(
            f"{path} is not a valid close-tui config ({what}); {advice}", path=str(path)
        ) from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(
            f"{path} is not a valid close-tui config ({type(exc).__name__}); {advice}",
            path=str(path),
        ) from None


def save_config(cfg: Config, path: Path | None = None) -> None:
    """Write ``cfg`` atomically, readable by the user only.

    The file holds no secret, but organization and user names are nobody else's business
    on a shared machine, hence 0600 in a 0700 directory.
    """
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = json.dumps(cfg.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            tmp.write(text)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def update_profile(
    name: str | None,
    *,
    path: Path | None = None,
    **changes: object,
) -> Profile:
    """Load, change some fields of one profile, save; returns the updated profile."""
    cfg = load_config(path)
    profile = cfg.profile(name)
    for field, value in changes.items():
        if field not in Profile.model_fields:
            raise TypeError(f"Profile has no field {field!r}")
        setattr(profile, field, value)
    save_config(cfg, path)
    return profile


def get_last_filter(profile: str | None = None, path: Path | None = None) -> dict[str, str] | None:
    """The last applied filter of ``profile`` as event-list params, if one was saved."""
    cfg = load_config(path)
    found = cfg.profiles.get(profile or DEFAULT_PROFILE)
    return dict(found.last_filter) if found and found.last_filter is not None else None


def set_last_filter(
    profile: str | None, params: Mapping[str, str] | None, path: Path | None = None
) -> None:
    """Remember ``params`` (``EventFilter.to_params()``) as the profile's last filter."""
    update_profile(profile, path=path, last_filter=None if params is None else dict(params))


def get_views(profile: str | None = None, path: Path | None = None) -> dict[str, SavedView]:
    """The saved views of ``profile``, by name."""
    found = load_config(path).profiles.get(profile or DEFAULT_PROFILE)
    return dict(found.views) if found else {}


def save_view(
    profile: str | None, name: str, view: SavedView | None, path: Path | None = None
) -> None:
    """Save (or with ``None`` delete) the view ``name`` of ``profile``."""
    cfg = load_config(path)
    views = dict(cfg.profile(profile).views)
    if view is None:
        views.pop(name, None)
    else:
        views[name] = view
    cfg.profile(profile).views = views
    save_config(cfg, path)


def resolve_base_url(
    flag: str | None,
    profile: str | None,
    env: Mapping[str, str],
    cfg: Config | None = None,
) -> str:
    """The API base URL for this run: flag, else ``CLOSE_BASE_URL``, else the profile's
    recorded URL, else Close's public API. Trailing slashes are dropped so callers can
    append ``/event/`` without doubling them. ``cfg`` defaults to the saved config, read
    only when flag and environment say nothing.
    """
    for candidate in (flag, env.get(ENV_BASE_URL)):
        if candidate and candidate.strip():
            return candidate.strip().rstrip("/")
    cfg = cfg if cfg is not None else load_config()
    found = cfg.profiles.get(profile or DEFAULT_PROFILE)
    candidate = found.base_url if found else None
    if candidate and candidate.strip():
        return candidate.strip().rstrip("/")
    return DEFAULT_BASE_URL
