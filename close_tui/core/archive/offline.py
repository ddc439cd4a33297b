"""The client of the explorer on the archive: one that never reaches the network.

The explorer screen has a client for what only the API does (live follow, export of a
live view, restore, name look-ups, the rate budget). On the archive
(``close-tui --archive``) the explorer sends no request at all: its pages and details
come from the local file. Rather than make every one of those paths check for a missing
client, the screen gets a real :class:`~close_tui.core.client.CloseClient` whose
transport refuses every request with one clear line (:class:`ArchiveOffline`), counted.
The actions that need the API say so before they get that far; this is the guarantee
behind them (a path that forgot to check still sends nothing), and tests assert the
count stays 0.
"""

from __future__ import annotations

from typing import Final

import httpx

from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.errors import CloseError

#: What the app says when an action needs the API while it shows the archive.
OFFLINE_LINE: Final = (
    "this view is the local archive: close-tui sends no request to the API "
    "(run it without --archive for live data)"
)
#: Never contacted (the transport refuses first); a valid https URL for the client's checks.
_NOWHERE: Final = "https://api.close.com/api/v1"


class ArchiveOffline(CloseError):
    """A request was about to leave while the app shows the archive (none ever does)."""


class RefusingTransport(httpx.AsyncBaseTransport):
    """Refuses every request before it is sent; :attr:`refused` counts them."""

    def __init__(self) -> None:
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.refused += 1
        # Not an httpx error: the client passes it on at once, with no retry.
        raise ArchiveOffline(OFFLINE_LINE)


def offline_client(transport: RefusingTransport | None = None) -> CloseClient:
    """A client with no credential whose every request raises :class:`ArchiveOffline`."""
    return CloseClient(
        _NOWHERE,
        transport=transport or RefusingTransport(),
        retry=RetryPolicy(max_attempts=1),
        unannounced_rate=None,
    )
