"""What can go wrong with a local archive, each as one clear line for the user."""

from __future__ import annotations


class ArchiveError(Exception):
    """Base of the archive's errors; ``str()`` is one line meant for the user."""


class ArchiveMissing(ArchiveError):
    """There is no archive at the path (nothing has been synced yet)."""


class ArchiveLocked(ArchiveError):
    """Another sync holds the archive's lock."""


class OrganizationMismatch(ArchiveError):
    """The key belongs to another organization than the archive's events."""


class ArchiveUnreadable(ArchiveError):
    """The file is not a close-tui archive, is damaged, or is from a newer version."""


class SearchUnavailable(ArchiveError):
    """Full-text search cannot run: this Python's SQLite has no FTS5."""
