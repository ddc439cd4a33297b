"""A local archive of the event log: kept past the API's 30 days, any filter, offline.

One SQLite file per profile (``paths.py``), filled by ``sync.py`` through the export
engine, read through :class:`ArchiveSource` (the same shape as the API client for the
view feed) and ``query.read_page``. No Textual here.
"""

from close_tui.core.archive.errors import (
    ArchiveError,
    ArchiveLocked,
    ArchiveMissing,
    ArchiveUnreadable,
    OrganizationMismatch,
    SearchUnavailable,
)
from close_tui.core.archive.paths import default_archive_path
from close_tui.core.archive.query import ArchiveFilter, archive_filter, read_page
from close_tui.core.archive.source import ArchivePager, ArchiveSource
from close_tui.core.archive.store import ArchiveStatus, ArchiveStore
from close_tui.core.archive.sync import SyncOptions, SyncResult, SyncWindow, sync_archive
from close_tui.core.archive.text import SearchSyntaxError

__all__ = [
    "ArchiveError",
    "ArchiveFilter",
    "ArchiveLocked",
    "ArchiveMissing",
    "ArchivePager",
    "ArchiveSource",
    "ArchiveStatus",
    "ArchiveStore",
    "ArchiveUnreadable",
    "OrganizationMismatch",
    "SearchSyntaxError",
    "SearchUnavailable",
    "SyncOptions",
    "SyncResult",
    "SyncWindow",
    "archive_filter",
    "default_archive_path",
    "read_page",
    "sync_archive",
]
