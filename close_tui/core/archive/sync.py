"""Bring an archive up to date with the API: the first time 30 days, then only what is new.

What a sync does, and why:

1. **One sync at a time** (``lock.py``): a second one is refused with one line.
2. **Whose data?** ``GET /me/`` names the key's organization (and its ``Date`` header
   gives the server's clock, so the snapshot bound costs no extra request). An archive
   holding another organization is refused before anything is written; every event's own
   ``organization_id`` is checked as well, which also settles a user of several
   organizations.
3. **Which ranges?** The archive records *coverage*: ranges of ``date_updated`` whose
   events have all been fetched. A sync fetches

   * the recent range, from five minutes before the newest ``date_updated`` stored up to
     the server's now (late and consolidated events land within five minutes; the
     first sync takes the API's whole 30 days here), and
   * every hole in the coverage that is still within the API's 30 days (a sync that was
     interrupted), oldest first (they are the next to disappear).

   With little new, that is ``/me/`` plus one page: two requests.
4. **Each range through the export engine** (``exporter.export_events``: paced by the
   ``RateLimit`` header, windowed with ``parallel`` workers on long ranges, cursor
   recovery, retries), into a sink that stores events in batches, one transaction each.
   The engine writes newest first, so after a batch whose oldest event is at ``D``
   everything in ``(D, top]`` is known: that coverage is committed in the same
   transaction. Stopped at any instant, the archive holds whole batches and knows exactly
   which range is still a hole; the next sync fills it.
5. **Full-text documents** are built when a range is stored, with the names learned from
   all of it (a lead's name often appears only in its oldest event).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from close_tui.core.archive.errors import OrganizationMismatch
from close_tui.core.archive.lock import sync_lock
from close_tui.core.archive.schema import get_meta, set_meta
from close_tui.core.archive.store import ArchiveStore, UpsertCounts, UsRange, to_us
from close_tui.core.client import CloseClient
from close_tui.core.exporter import ExportOptions, ExportResult, export_events
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event
from close_tui.core.names import NameDirectory
from close_tui.core.progress import ExportProgress
from close_tui.core.sanitize import visible

#: How far back the API keeps events.
HISTORY: Final = timedelta(days=30)
#: The re-scan the API asks for before the newest event stored.
OVERLAP: Final = timedelta(minutes=5)
#: How long the user list (for names in search) is trusted before it is asked again.
USERS_MAX_AGE: Final = timedelta(days=1)
#: Ranges longer than this are fetched with ``SyncOptions.parallel`` workers.
PARALLEL_ABOVE: Final = timedelta(days=1)


@dataclass(frozen=True)
class SyncOptions:
    """How a sync runs. The defaults suit the command line."""

    #: Export workers for ranges longer than a day (the first sync, long holes); short
    #: ranges are one cursor walk, since each window costs at least one request.
    parallel: int = 4
    #: Requests per second; ``None`` = 80 % of the limit the server announces.
    max_rate: float | None = None
    #: Events stored per transaction (and per coverage step).
    batch_size: int = 500
    history: timedelta = HISTORY
    overlap: timedelta = OVERLAP

    def __post_init__(self) -> None:
        if self.parallel < 1:
            raise ValueError("parallel must be at least 1")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


@dataclass(frozen=True)
class SyncWindow(UsRange):
    """One range of ``date_updated`` a sync fetches."""

    #: "recent" (newest stored − 5 min … now, or the whole 30 days the first time) or
    #: "hole" (a range an interrupted sync left).
    kind: str

    def filter(self) -> EventFilter:
        return EventFilter(date_updated__gte=self.lo, date_updated__lte=self.hi)


@dataclass
class SyncResult:
    """What a sync did."""

    path: Path
    organization_id: str | None
    organization_name: str | None
    #: The server's clock when the sync began: the snapshot's upper bound.
    server_time: datetime
    windows: list[SyncWindow]
    counts: UpsertCounts
    #: Events received from the API (before de-duplication against the archive).
    fetched: int = 0
    #: Every HTTP request: /me/, the user list if loaded, pages and retries.
    requests: int = 0
    rate_limited: int = 0
    indexed: int = 0
    elapsed: float = 0.0
    warnings: list[str] = field(default_factory=list)


def plan_windows(
    store: ArchiveStore, server_now: datetime, options: SyncOptions = SyncOptions()
) -> list[SyncWindow]:
    """The ranges this sync must fetch, oldest first (see the module docstring)."""
    now_us = to_us(server_now)
    reach = to_us(server_now - options.history)
    newest = store.newest_us()
    covered = store.coverage()
    if newest is None or not covered:
        return [SyncWindow(reach, now_us, "recent")]
    top = min(newest, covered[-1][1])
    recent_lo = min(now_us, max(reach, top - to_us_delta(options.overlap)))
    windows = [SyncWindow(lo, hi, "hole") for lo, hi in store.holes(reach, recent_lo - 1)]
    windows.append(SyncWindow(recent_lo, now_us, "recent"))
    return windows


def to_us_delta(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


class _ArchiveSink:
    """The export's sink: buffers events, stores each batch with the coverage it proves."""

    def __init__(
        self,
        store: ArchiveStore,
        window: SyncWindow,
        directory: NameDirectory,
        batch_size: int,
        organization: list[str | None],
    ) -> None:
        self.store = store
        self.window = window
        self.directory = directory
        self.batch_size = batch_size
        self.organization = organization  # [org id]: shared by the windows of a run
        self.counts = UpsertCounts()
        self.received = 0
        self.user_ids: set[str] = set()
        self._buffer: list[Event] = []
        self._floor: int | None = None
        self._ordered = True

    def write(self, event: Event) -> None:
        org = event.organization_id
        if org:
            if self.organization[0] is None:
                self.organization[0] = org
            elif org != self.organization[0]:
                raise OrganizationMismatch(
                    f"the API sent an event of organization {visible(org)} into the archive "
                    f"of {self.organization[0]}: refusing to mix them"
                )
        us = to_us(event.date_updated)
        if self._floor is not None and us > self._floor:
            # Not newest first after all: no coverage can be claimed before the end.
            self._ordered = False
        self._floor = us if self._floor is None else min(self._floor, us)
        if event.user_id:
            self.user_ids.add(event.user_id)
        self._buffer.append(event)
        self.received += 1
        if len(self._buffer) >= self.batch_size:
            self.flush()

    def flush(self, *, complete: bool = False) -> None:
        """Store the buffered events and the coverage they prove, in one transaction.

        ``complete``: the export of the window finished, so all of it is covered.
        """
        batch, self._buffer = self._buffer, []
        if batch:
            self.directory.learn(batch)
        store = self.store
        with store.transaction():
            org = self.organization[0]
            if org is not None and store.organization_id != org:
                store.claim_organization(org, None)
            if batch:
                self.counts.add(store.upsert(batch))
            if complete:
                store.add_coverage(self.window.lo_us, self.window.hi_us)
            elif self._ordered and self._floor is not None:
                # Events at exactly the floor may continue in the next batch.
                store.add_coverage(self._floor + 1, self.window.hi_us)


def _organization(me: dict[str, Any]) -> tuple[str | None, str | None]:
    """The key's organization from ``/me/``, if it names exactly one."""
    orgs = me.get("organizations")
    if isinstance(orgs, list) and len(orgs) == 1 and isinstance(orgs[0], dict):
        org_id, name = orgs[0].get("id"), orgs[0].get("name")
        if isinstance(org_id, str) and org_id:
            return org_id, name if isinstance(name, str) else None
    return None, None


async def sync_archive(
    client: CloseClient,
    path: Path,
    *,
    options: SyncOptions = SyncOptions(),
    on_window: Callable[[SyncWindow, int, int], None] | None = None,
    on_progress: Callable[[ExportProgress], None] | None = None,
    on_index: Callable[[int], None] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SyncResult:
    """Sync the archive at ``path`` (created 0600 if new) from ``client``'s organization.

    ``on_window(window, i, n)`` is called before each range is fetched, ``on_progress``
    as the export engine reports, ``on_index(n)`` before ``n`` events are indexed for
    search (after each range; it takes a while after a first sync). ``monotonic`` and
    ``sleep`` must be the client's clock (as for ``export_events``); ``clock`` stamps the
    sync log. Raises
    :class:`~close_tui.core.archive.errors.ArchiveLocked` when another sync runs,
    :class:`~close_tui.core.archive.errors.OrganizationMismatch` for another
    organization's key, and the client's errors (``core.errors``) when the API fails for
    good; whatever was stored until then stays, and the next sync goes on from there.
    """
    started = monotonic()
    with sync_lock(path), ArchiveStore(path, create=True) as store:
        run = store.begin_run(clock())
        requests = 0
        result: SyncResult | None = None
        try:
            me = await client.me()
            requests += 1
            org_id, org_name = _organization(me)
            if org_id is not None:
                with store.transaction():
                    store.claim_organization(org_id, org_name)
            server_now = client.server_time() or clock()
            store.update_run(run, server_time=server_now.isoformat(timespec="seconds"))
            windows = plan_windows(store, server_now, options)
            result = SyncResult(
                path=path,
                organization_id=org_id or store.organization_id,
                organization_name=org_name or store.organization_name,
                server_time=server_now,
                windows=windows,
                counts=UpsertCounts(),
            )
            directory = NameDirectory(client)
            stored_names = store.names()
            organization: list[str | None] = [store.organization_id]
            users_loaded = False
            for i, window in enumerate(windows):
                if on_window is not None:
                    on_window(window, i, len(windows))
                sink = _ArchiveSink(store, window, directory, options.batch_size, organization)
                long_range = window.hi - window.lo > PARALLEL_ABOVE
                export_options = ExportOptions(
                    parallel=options.parallel if long_range else 1, max_rate=options.max_rate
                )
                try:
                    exported = await export_events(
                        client,
                        window.filter(),
                        sink,
                        options=export_options,
                        on_progress=on_progress,
                        monotonic=monotonic,
                        sleep=sleep,
                    )
                except BaseException:
                    _flush_quietly(sink)
                    result.counts.add(sink.counts)
                    result.fetched += sink.received
                    raise
                sink.flush(complete=True)
                result.counts.add(sink.counts)
                result.fetched += sink.received
                _count(result, exported)
                result.warnings.extend(exported.warnings)
                known = {**stored_names, **directory.names()}
                if (
                    not users_loaded
                    and any(u not in known for u in sink.user_ids)
                    and _users_stale(store, server_now)
                ):
                    # Someone unnamed acts in these events: ask the user list (at most
                    # once a day: a user missing from it would otherwise cost a request
                    # on every sync).
                    await directory.users()
                    users_loaded = True
                    with store.transaction():
                        set_meta(store.con, "users_loaded", server_now.isoformat())
                    known = {**stored_names, **directory.names()}
                with store.transaction():
                    store.save_names(directory.names())
                pending = store.unindexed_count() if store.fts else 0
                if pending and on_index is not None:
                    on_index(pending)
                result.indexed += store.index_pending(known)
            result.requests += requests + directory.requests
            store.tidy()
            if result.organization_id is None:
                result.organization_id = store.organization_id
            result.elapsed = monotonic() - started
            store.update_run(
                run,
                status="ok",
                finished=clock().isoformat(timespec="seconds"),
                events=result.counts.written,
                requests=result.requests,
            )
            return result
        except BaseException as exc:
            stopped = isinstance(exc, KeyboardInterrupt | asyncio.CancelledError)
            detail = "interrupted" if stopped else visible(f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(Exception):  # the original error matters more
                store.update_run(
                    run,
                    status="failed",
                    finished=clock().isoformat(timespec="seconds"),
                    events=result.counts.written if result is not None else 0,
                    detail=detail[:300],
                )
            raise


def _users_stale(store: ArchiveStore, server_now: datetime) -> bool:
    loaded = get_meta(store.con, "users_loaded")
    if loaded is None:
        return True
    try:
        return server_now - datetime.fromisoformat(loaded) > USERS_MAX_AGE
    except ValueError:
        return True


def _flush_quietly(sink: _ArchiveSink) -> None:
    """Keep what arrived before a failure (it is valid, and its coverage is proven);
    a failure of the database itself is the error already on its way up."""
    with contextlib.suppress(Exception):
        sink.flush()


def _count(result: SyncResult, exported: ExportResult) -> None:
    result.requests += exported.requests
    result.rate_limited += exported.rate_limited
