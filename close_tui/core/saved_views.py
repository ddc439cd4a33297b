"""Where saved views live: the config file of a profile, or memory (demo, tests).

A saved view is a server filter plus a local predicate (:class:`~close_tui.core.config.
SavedView`). Every method raises on failure (a read-only or damaged config file): the
caller says so to the user, never "saved" or "deleted" when the write did not happen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from close_tui.core import config
from close_tui.core.config import SavedView


class ViewStore(Protocol):
    def load(self) -> dict[str, SavedView]: ...

    def save(self, name: str, view: SavedView) -> None: ...

    def delete(self, name: str) -> None: ...


class MemoryViews:
    """Saved views for this run only (no profile to keep them in)."""

    def __init__(self) -> None:
        self.views: dict[str, SavedView] = {}

    def load(self) -> dict[str, SavedView]:
        return dict(self.views)

    def save(self, name: str, view: SavedView) -> None:
        self.views[name] = view

    def delete(self, name: str) -> None:
        if name not in self.views:
            raise KeyError(f"no saved view named {name!r}")
        del self.views[name]


class ConfigViews:
    """Saved views of one profile in the non-secret config file."""

    def __init__(self, profile: str, path: Path | None = None) -> None:
        self.profile = profile
        self.path = path

    def for_profile(self, profile: str) -> ConfigViews:
        """The same file, another profile's views (a profile switch)."""
        return ConfigViews(profile, self.path)

    def load(self) -> dict[str, SavedView]:
        return config.get_views(self.profile, self.path)

    def save(self, name: str, view: SavedView) -> None:
        config.save_view(self.profile, name, view, self.path)

    def delete(self, name: str) -> None:
        if name not in config.get_views(self.profile, self.path):
            raise KeyError(f"no saved view named {name!r}")
        config.save_view(self.profile, name, None, self.path)
