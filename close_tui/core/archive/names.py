"""Names on the archive: what the syncs stored, with no look-up ever sent.

The explorer names the ids it shows (LEAD and USER columns, the breadcrumb, the detail
header) from a directory that, on the API, looks the unknown ones up within a request
budget. On the archive nothing may be sent, and nothing needs to be: every sync stores
the names it learned (the user list, lead names, custom fields) in the file.
:class:`ArchiveNames` starts from those and learns more from the events shown, like the
API's directory does from payloads; its finder (lead and user fields of the form) looks
through the stored names instead of searching the API.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from close_tui.core.archive.offline import OFFLINE_LINE, ArchiveOffline
from close_tui.core.directory import FINDER_LIMIT, LeadMatch, UserMatch
from close_tui.core.models import Event
from close_tui.core.names import NameDirectory

#: Below a name learned from an event shown (rank 1 and up): a page's own payload is
#: newer than what the sync stored.
_STORED_RANK: Final = 0
_WORD: Final = re.compile(r"[^\W_]+")


class _NoLookups:
    """The directory's client on the archive: any look-up it might try is refused."""

    async def get_json(self, path: str, params: Any = None, **_: Any) -> Any:
        raise ArchiveOffline(OFFLINE_LINE)


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


class ArchiveNames(NameDirectory):
    """id -> name from the archive's stored names and the events shown; never a request.

    Has what the explorer uses of the API's ``Directory``: :meth:`see`,
    :meth:`search_leads`, :meth:`search_users`, :attr:`status_text`,
    :attr:`finder_note`, :attr:`limited`.
    """

    def __init__(
        self, stored: Mapping[str, str], *, on_change: Callable[[], None] | None = None
    ) -> None:
        super().__init__(_NoLookups(), on_change=on_change)
        for object_id, name in stored.items():
            if isinstance(object_id, str) and isinstance(name, str) and name.strip():
                self._offer(object_id, name, _STORED_RANK, 0.0)
        #: Why the finder found nothing ("" when it could search): it always can here.
        self.finder_note = ""

    @property
    def limited(self) -> bool:
        return False

    @property
    def status_text(self) -> str:
        return ""

    def see(self, events: Iterable[Event]) -> None:
        """Learn from a page of events (no look-up: the archive has what it has)."""
        self.learn(events)

    def _matches(self, prefix: str, text: str, limit: int) -> list[tuple[str, str]]:
        wanted = _words(text)
        if not wanted:
            return []
        found = []
        for object_id, name in self.names().items():
            if not object_id.startswith(prefix):
                continue
            words = _words(name)
            if all(any(w.startswith(part) for w in words) for part in wanted):
                found.append((name.casefold(), object_id, name))
        found.sort()
        return [(object_id, name) for _, object_id, name in found[:limit]]

    async def search_leads(self, text: str, limit: int = FINDER_LIMIT) -> list[LeadMatch]:
        """Leads of the archive whose name has words beginning with every word typed,
        by name."""
        return [LeadMatch(i, n) for i, n in self._matches("lead_", text, limit)]

    async def search_users(self, text: str, limit: int = FINDER_LIMIT) -> list[UserMatch]:
        """Users of the archive whose name has words beginning with every word typed."""
        return [UserMatch(i, n) for i, n in self._matches("user_", text, limit)]
