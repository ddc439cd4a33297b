"""Every request of a restore, reads and writes alike, through one pace.

A restore of a large lead sends hundreds of requests in a row; they share the key's
rate limit with whatever else runs (the app's own event pages). So each one waits for a
:class:`~close_tui.core.exporter.Pacer` ticket (80 % of the limit the server announces),
and a ``429`` pauses everybody until the reset it names. Retrying stays the client's
job: GETs on any transient failure, POSTs only where the server surely did not act
(:class:`~close_tui.core.errors.WriteUncertain` otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from close_tui.core.client import CloseClient
from close_tui.core.errors import ProtocolError
from close_tui.core.exporter import Pacer
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event
from close_tui.core.retries import RetryNotice

#: How many events one walk may read before it stops (a deletion of a huge bulk action).
MAX_WALK_EVENTS: Final = 5000


class PacedClient:
    """A :class:`CloseClient` seen through a pacer; counts what it sent."""

    def __init__(self, client: CloseClient, pacer: Pacer | None = None) -> None:
        self.client = client
        self.pacer = pacer if pacer is not None else Pacer()
        self.requests = 0
        self.writes = 0
        self._stop_listening = client.retry_listeners.add(self._on_retry)

    def close(self) -> None:
        self._stop_listening()

    def _on_retry(self, notice: RetryNotice) -> None:
        if notice.rate_limited:
            self.pacer.pause(notice.delay)

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        ticket = await self.pacer.acquire()
        self.requests += 1
        try:
            return await self.client.get_json(path, params)
        finally:
            self.pacer.release(ticket, self.client.rate_limit)

    async def post_json(self, path: str, body: Any) -> Any:
        ticket = await self.pacer.acquire()
        self.requests += 1
        self.writes += 1
        try:
            return await self.client.post_json(path, body)
        finally:
            self.pacer.release(ticket, self.client.rate_limit)

    async def get_event(self, event_id: str) -> Event:
        ticket = await self.pacer.acquire()
        self.requests += 1
        try:
            return await self.client.get_event(event_id)
        finally:
            self.pacer.release(ticket, self.client.rate_limit)

    async def events(
        self, flt: EventFilter, *, max_events: int = MAX_WALK_EVENTS
    ) -> tuple[list[Event], bool]:
        """Every event of ``flt`` (newest first) and whether the walk stopped at the cap."""
        pager = self.client.pager(flt)
        found: list[Event] = []
        while not pager.exhausted:
            ticket = await self.pacer.acquire()
            self.requests += 1
            try:
                found.extend(await pager.next_page())
            finally:
                self.pacer.release(ticket, self.client.rate_limit)
            if len(found) >= max_events:
                return found[:max_events], not pager.exhausted
        return found, False

    async def offset_list(self, path: str, *, max_pages: int = 20) -> list[Any]:
        """All items of an offset-paged list (``{"data": [...], "has_more": ...}``)."""
        items: list[Any] = []
        for page in range(max_pages):
            body = await self.get_json(path, {"_skip": str(page * 100), "_limit": "100"})
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise ProtocolError(f"unexpected response shape from {path}: no 'data' list")
            items.extend(body["data"])
            if not body.get("has_more") or not body["data"]:
                break
        return items
