"""Names for the ids of the event log — users, leads, custom fields, statuses — from few
requests, inside a request budget, never raising into the caller.

:class:`Directory` extends :class:`~close_tui.core.names.NameDirectory` (names harvested
from payloads, cheapest first) with the look-ups of ``close-lookups-and-restore.md``:

* **Users**: one ``GET /organization/{id}/?_fields=memberships,inactive_memberships``
  names every member, deactivated ones too (``GET /user/`` may miss those, who still
  have events). The organization id comes free with any event; ``GET /me/`` otherwise.
  Where the organization endpoint is refused: ``GET /user/``, offset paged.
* **Custom fields**: ``GET /custom_field/{kind}/`` for the kind whose events name an
  unknown ``custom.cf_…`` key, then ``shared``; a field in neither list is shown as its
  short id marked "(deleted field)". **Statuses**: ``GET /status/{lead,opportunity}/``,
  only for a ``stat_…`` id no payload labelled. Each list once per directory (that is,
  per session and profile); :meth:`Directory.refresh` asks again.
* **Lead names**: from payloads first (``display_name``, ``lead_name``), then, once per
  directory, one search for the :data:`RECENT_LEADS` most recently updated leads (a
  recent event log is mostly about them), then one
  batched ``POST /data/search/`` (an ``or`` of ``id`` queries, ``_fields`` id and
  display_name) for the leads still unnamed. The batch goes when no new lead came for
  :data:`QUIET` s or the oldest waited :data:`MAX_WAIT` s, so pages paged through share
  one search: at most one per page, usually one per several. A 400 to that query (the
  grammar is not documented for many ids) falls back to ``GET /lead/{id}/``, one lead at
  a time, within the budget.

**The budget** (:mod:`close_tui.core.budget`): every background look-up waits for the
share of the announced limit (default 10 %); one look-up is in flight at a time, in the
order users, fields, statuses, leads. **Endpoints off**: an endpoint that answers 404, 403
or 405 for this key (for ``/lead/{id}/``: three 404s before any lead was found) is not
asked again in this directory's life. **Never raises**: failures are counted, names fall
back to short ids, and :attr:`Directory.limited` says "names limited" for a status bar.

The lead finder (:meth:`Directory.search_leads`) is what a person waits on, so it is not
held to the share — it waits only while the search group's window is used up. One search
in flight; a newer text supersedes an older one that has not been sent (it returns
``None``); results are cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from close_tui.core.budget import DEFAULT_SHARE, RequestBudget
from close_tui.core.errors import (
    AuthError,
    BadRequest,
    CloseError,
    NotFound,
    RateLimited,
    WriteUncertain,
)
from close_tui.core.models import Event
from close_tui.core.names import MAX_NAME_CHARS, NameDirectory, _first
from close_tui.core.ratelimit import RateLimit

#: Rate-limit groups the look-ups count against (Close groups by path and method).
SEARCH_GROUP: Final = "search"
OTHER_GROUP: Final = "other"

#: Leads named up front by searching for the most recently updated ones, in pages of
#: RECENT_PAGE (Close's largest search ``_limit`` is unknown; the cursor is followed).
RECENT_LEADS: Final = 400
RECENT_PAGE: Final = 200
#: Ids per batched search (a few pages' worth; the cursor is followed if the server's
#: ``_limit`` is smaller).
BATCH_SIZE: Final = 100
#: A batch of unnamed leads goes when no new one came for QUIET seconds (the user stopped
#: scrolling) or the oldest has waited MAX_WAIT seconds (the user keeps scrolling), so
#: pages paged through quickly share one search.
QUIET: Final = 0.5
MAX_WAIT: Final = 2.0
#: Pages of a batched search's cursor followed at most (a server with a small ``_limit``).
MAX_SEARCH_PAGES: Final = 4
#: ``/lead/{id}/`` answering 404 this many times before any lead was found: the endpoint
#: is taken as missing (a server without it), not as that many deleted leads.
LEAD_404_LIMIT: Final = 3
#: Offset pages of a list followed at most.
MAX_LIST_PAGES: Final = 20
LIST_PAGE_SIZE: Final = 100
#: The lead finder: results per search, texts cached.
FINDER_LIMIT: Final = 20
FINDER_CACHE: Final = 128
#: Text modes, the first the server accepts is kept (which ones Close accepts: unknown).
TEXT_MODES: Final = ("beginning_of_words", "phrase", "full_words")
#: Longest wait for budget the finder accepts before asking anyway.
FINDER_MAX_WAIT: Final = 2.0
#: A wait for budget at least this long shows "names limited" (shorter ones would flicker).
LIMITED_WAIT: Final = 0.5
#: Statuses that mean "this endpoint is not there for this key".
#: 401 too: a revoked key fails every look-up; the app's own requests ask to log in.
OFF_STATUSES: Final = frozenset({401, 403, 404, 405})
#: Custom field kinds served by ``/custom_field/{kind}/``.
FIELD_KINDS: Final = ("lead", "contact", "opportunity", "activity", "shared")
DELETED_FIELD: Final = "(deleted field)"

_LEAD_ID: Final = re.compile(r"lead_[A-Za-z0-9]{1,64}\Z")
_FIELD_ID: Final = re.compile(r"[a-z]*cf_[A-Za-z0-9]{1,64}\Z")
_STATUS_ID: Final = re.compile(r"stat_[A-Za-z0-9]{1,64}\Z")
_ORG_ID: Final = re.compile(r"orga_[A-Za-z0-9]{1,64}\Z")
_WORD: Final = re.compile(r"\w+", re.UNICODE)

# Name ranks of names.py: a list's answer beats a payload's copy.
_RANK_CHILD: Final = 1
_RANK_API: Final = 3


class LookupClient(Protocol):
    """What the directory needs of :class:`~close_tui.core.client.CloseClient`."""

    rate_limit: RateLimit | None

    async def get_json(
        self, path: str, params: Mapping[str, str] | None = None, *, background: bool = False
    ) -> Any: ...

    async def post_json(self, path: str, body: Any, *, background: bool = False) -> Any: ...


@dataclass(frozen=True, slots=True)
class LeadMatch:
    """One lead the finder found: what a suggestion list shows."""

    id: str
    name: str
    status: str = ""


@dataclass(frozen=True, slots=True)
class UserMatch:
    """One member of the organization; ``active`` is False for a deactivated user."""

    id: str
    name: str
    email: str = ""
    active: bool = True

    @property
    def status(self) -> str:
        return "" if self.active else "deactivated"


def short_id(value: str) -> str:
    """``cf_a5PRNOiO…`` → ``cf_a5P…4As``: enough to tell ids apart on one screen."""
    prefix, sep, rest = value.partition("_")
    if not sep or len(prefix) > 8 or len(rest) <= 7:
        return value
    return f"{prefix}_{rest[:3]}…{rest[-3:]}"


def deleted_field_label(field_id: str) -> str:
    return f"{short_id(field_id)} {DELETED_FIELD}"


class _Job:
    """One kind of background look-up, run by the pump in priority order."""

    __slots__ = ("key", "priority", "queued_at")

    def __init__(self, key: tuple[str, ...], priority: int, queued_at: float) -> None:
        self.key = key
        self.priority = priority
        self.queued_at = queued_at


class Directory(NameDirectory):
    """id -> name for users, leads, custom fields (``cf_…``) and statuses (``stat_…``),
    looked up within a request budget. Use :meth:`see` with every page of events."""

    def __init__(
        self,
        client: LookupClient,
        *,
        on_change: Callable[[], None] | None = None,
        share: float = DEFAULT_SHARE,
        quiet: float = QUIET,
        max_wait: float = MAX_WAIT,
        batch_size: int = BATCH_SIZE,
        recent_leads: int = RECENT_LEADS,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(client, on_change=on_change)
        self._lookup = client
        self.budget = RequestBudget(share, monotonic=monotonic)
        self._monotonic = monotonic
        self._sleep = sleep
        self.quiet = quiet
        self.max_wait = max_wait
        self.batch_size = max(1, batch_size)
        #: How many recently updated leads one search names up front (0: none).
        self.recent_leads = max(0, recent_leads)
        #: Endpoint -> the status that switched it off for this key (kept for the session).
        self.off: dict[str, int] = {}
        #: Requests per endpoint (``"search"``, ``"organization"``, ``"lead"``, …).
        self.requests_by_endpoint: dict[str, int] = {}
        self.organization_id: str | None = None
        self._members: dict[str, UserMatch] = {}
        self._users_loaded = False
        self._members_task: asyncio.Task[None] | None = None
        self._jobs: dict[tuple[str, ...], _Job] = {}
        self._pump: asyncio.Task[None] | None = None
        self._done: set[tuple[str, ...]] = set()
        #: Leads waiting for the next batch, and those asked already (never twice).
        self._lead_queue: OrderedDict[str, None] = OrderedDict()
        #: When the oldest queued lead and the newest one were queued.
        self._lead_first_at = 0.0
        self._lead_last_at = 0.0
        self._lead_urgent = False
        self._leads_asked: set[str] = set()
        self._lead_found = False
        self._lead_404s = 0
        self._search_by_ids_refused = False
        #: Custom field ids seen in events, by the kind of object that carried them.
        self._field_refs: dict[str, str] = {}
        self._fields_loaded: set[str] = set()
        self._fields_failed: set[str] = set()
        self._status_refs: dict[str, str] = {}
        self._statuses_loaded: set[str] = set()
        self._last_own_rate: RateLimit | None = None
        self._waiting_for_budget = False
        #: The pump sleeps for the budget right now (however briefly).
        self._budget_sleep = False
        self._limited_shown = False
        # The finder.
        self._finder_cache: OrderedDict[str, list[LeadMatch]] = OrderedDict()
        self._finder_lock = asyncio.Lock()
        self._finder_generation = 0
        self._text_mode = 0
        #: Why the finder found nothing ("" when it could search).
        self.finder_note = ""

    # ------------------------------------------------------------------ the flag

    @property
    def limited(self) -> bool:
        """Names are held back: look-ups wait for the budget, or an endpoint that would
        name what is on screen is off for this key. For a status bar: "names limited"."""
        if self._waiting_for_budget:
            return True
        if self._lead_queue and "search" in self.off and "lead" in self.off:
            return True
        if not self._users_loaded and "organization" in self.off and "user" in self.off:
            return True
        return bool(self._field_refs) and bool(self._fields_failed)

    @property
    def idle(self) -> bool:
        """Nothing to do now: no look-up queued, or the queued ones wait for the rate
        budget (a steady state: the screen shows what it has, "names limited")."""
        return not self._jobs or self._waiting_for_budget or self._budget_sleep

    @property
    def status_text(self) -> str:
        return "names limited" if self.limited else ""

    def _flag_changed(self) -> None:
        shown = self.limited
        if shown != self._limited_shown:
            self._limited_shown = shown
            self._changed()

    # ------------------------------------------------------------------ feeding

    def see(self, events: Iterable[Event]) -> None:
        """Learn from a page of events and schedule the look-ups it needs (no await, no
        request from here, never raises). Call it with every page the view shows."""
        batch = list(events)
        changed = False
        try:
            self.learn(batch)
            for event in batch:
                changed |= self._note(event)
        except Exception as exc:  # odd payloads only mean fewer names
            self._fail("reading events", exc)
        if changed:
            self._changed()
        self._derive_jobs()
        self._flag_changed()
        self._ensure_pump()

    def _note(self, event: Event) -> bool:
        """What ``event`` needs looked up; ``True`` if its payload named a status."""
        org = event.organization_id
        if self.organization_id is None and isinstance(org, str) and _ORG_ID.match(org):
            self.organization_id = org
        if event.user_id and not self._users_loaded:
            self._queue(("users",), 0)
        lead_id = event.lead_id
        if (
            isinstance(lead_id, str)
            and _LEAD_ID.match(lead_id)
            and lead_id not in self._names
            and lead_id not in self._leads_asked
            and lead_id not in self.missing_leads
        ):
            self._enqueue_lead(lead_id)
        kind = _field_kind(event.object_type)
        changed = False
        for state in (event.data, event.previous_data):
            if not isinstance(state, dict):
                continue
            for key in state:
                if isinstance(key, str) and key.startswith("custom."):
                    field_id = key[len("custom.") :]
                    if _FIELD_ID.match(field_id) and field_id not in self._names:
                        self._field_refs.setdefault(field_id, kind)
            changed |= self._note_statuses(event.object_type, state)
        return changed

    def _enqueue_lead(self, lead_id: str) -> None:
        if lead_id in self._lead_queue:
            return
        now = self._monotonic()
        if not self._lead_queue:
            self._lead_first_at = now
        self._lead_last_at = now
        self._lead_queue[lead_id] = None

    def _leads_ready_in(self) -> float:
        """Seconds until the queued leads should go (``0.0``: now)."""
        if self._lead_urgent or len(self._lead_queue) >= self.batch_size:
            return 0.0
        now = self._monotonic()
        return max(0.0, min(self._lead_last_at + self.quiet, self._lead_first_at + self.max_wait)
                   - now)

    def _note_statuses(self, object_type: str, state: dict[str, Any]) -> bool:
        """Labels from payloads (free); ids without a label queue a status list."""
        kind = "opportunity" if "opportunity" in object_type else "lead"
        changed = False
        for id_key, label_key in (
            ("status_id", "status_label"),
            ("new_status_id", "new_status_label"),
            ("old_status_id", "old_status_label"),
        ):
            status_id = state.get(id_key)
            if not isinstance(status_id, str) or not _STATUS_ID.match(status_id):
                continue
            label = _first(state, label_key)
            if label:
                changed |= self._offer(status_id, label, _RANK_CHILD, 0.0)
            elif status_id not in self._names:
                self._status_refs.setdefault(status_id, kind)
        return changed

    def _derive_jobs(self) -> None:
        """Queue the look-ups still needed; mark fields no list holds as deleted."""
        for field_id, kind in list(self._field_refs.items()):
            if field_id in self._names:
                del self._field_refs[field_id]
                continue
            for list_kind in (kind, "shared"):
                if list_kind not in self._fields_loaded | self._fields_failed:
                    self._queue(("fields", list_kind), 1)
                    break
            else:
                self._mark_deleted(field_id)
        for status_id, kind in list(self._status_refs.items()):
            if status_id in self._names or kind in self._statuses_loaded:
                del self._status_refs[status_id]
                continue
            self._queue(("statuses", kind), 2)
        for lead_id in list(self._lead_queue):
            if lead_id in self._names:
                del self._lead_queue[lead_id]
        if self._lead_queue and self.recent_leads and "search" not in self.off:
            self._queue(("recent",), 2)  # once: _done keeps it from coming back
        if self._lead_queue and not ("search" in self.off and "lead" in self.off):
            self._queue(("leads",), 3)

    def _ensure_pump(self) -> None:
        if self._jobs and (self._pump is None or self._pump.done()):
            try:
                self._pump = asyncio.ensure_future(self._run_pump())
            except RuntimeError:  # no running loop (a synchronous caller): settle() runs it
                self._pump = None

    def _queue(self, key: tuple[str, ...], priority: int) -> None:
        if key not in self._jobs and key not in self._done:
            self._jobs[key] = _Job(key, priority, self._monotonic())

    async def settle(self, timeout: float = 30.0) -> bool:
        """Wait until the scheduled look-ups are done (the CLI, tests, benchmarks);
        ``False`` if they were still running after ``timeout`` seconds."""
        self._derive_jobs()
        deadline = self._monotonic() + timeout
        for _ in range(1_000):  # bounded; each turn waits for the pump
            pump = self._pump
            if pump is None or pump.done():
                if not self._jobs:
                    return True
                self._pump = asyncio.ensure_future(self._run_pump())
                continue
            left = deadline - self._monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(pump), timeout=left)
        return not self._jobs

    # ------------------------------------------------------------------ the pump

    async def _run_pump(self) -> None:
        """Run the queued look-ups one at a time, highest priority first, each when the
        budget allows. Ends when nothing is queued. Never raises."""
        for _ in range(1_000):  # bounded: each turn runs, waits for or drops one job
            job = self._next_job()
            if job is None:
                break
            try:
                if job.key == ("leads",):
                    ready_in = self._leads_ready_in()
                    if ready_in > 0:
                        await self._sleep(ready_in)
                        continue  # a more urgent job may have come meanwhile
                searching = job.key == ("recent",) or (
                    job.key == ("leads",) and self._searching_ids())
                group = SEARCH_GROUP if searching else OTHER_GROUP
                wait = self._budget_wait(group)
                if wait > 0:
                    self._waiting_for_budget = wait >= LIMITED_WAIT or self._waiting_for_budget
                    self._flag_changed()
                    self._budget_sleep = True
                    try:
                        await self._sleep(wait)
                    finally:
                        self._budget_sleep = False
                    continue
                self._waiting_for_budget = False
                await self._run(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug here must not stop names for good
                self._fail(f"look-up {job.key}", exc)
                self._jobs.pop(job.key, None)
        self._waiting_for_budget = False
        self._flag_changed()

    def _next_job(self) -> _Job | None:
        if not self._jobs:
            return None
        return min(self._jobs.values(), key=lambda j: (j.priority, j.queued_at))

    def _budget_wait(self, group: str) -> float:
        self._sample_client()
        return self.budget.wait_time(group)

    def _sample_client(self) -> None:
        """The client's last RateLimit, when it is not from our own answer, is taken as
        the event group's (pages and details are what the app asks for most)."""
        rate = getattr(self._lookup, "rate_limit", None)
        if isinstance(rate, RateLimit) and rate is not self._last_own_rate:
            self.budget.observe("events", rate)

    async def _run(self, job: _Job) -> None:
        key = job.key
        if key == ("users",):
            await self._members_once()
        elif key[0] == "fields":
            self._jobs.pop(key, None)
            self._done.add(key)
            await self._load_fields(key[1])
        elif key[0] == "statuses":
            self._jobs.pop(key, None)
            self._done.add(key)
            await self._load_statuses(key[1])
        elif key == ("recent",):
            self._jobs.pop(key, None)
            self._done.add(key)
            await self._load_recent_leads()
        elif key == ("leads",):
            await self._lookup_leads()
            if not self._lead_queue or ("search" in self.off and "lead" in self.off):
                self._jobs.pop(key, None)
                self._lead_urgent = False
            else:
                self._lead_first_at = self._monotonic() - self.max_wait  # the rest: now
        self._derive_jobs()  # follow-ups (shared fields after lead fields); we are the pump

    # ------------------------------------------------------------------ requests

    async def _get(self, endpoint: str, path: str, params: Mapping[str, str] | None) -> Any:
        return await self._request(endpoint, OTHER_GROUP, self._lookup.get_json(path, params,
                                                                         background=True))

    async def _request(self, endpoint: str, group: str, call: Awaitable[Any]) -> Any:
        """Send one look-up; count it, read its RateLimit into the budget, remember an
        endpoint that is off. Raises what the client raised (callers decide)."""
        self.requests += 1
        self.requests_by_endpoint[endpoint] = self.requests_by_endpoint.get(endpoint, 0) + 1
        self._sample_client()
        before = getattr(self._lookup, "rate_limit", None)
        self.budget.spend(group)
        try:
            return await call
        except RateLimited as exc:
            self.budget.rate_limited(group, exc.retry_after)
            raise
        except CloseError as exc:
            if exc.status in OFF_STATUSES and not (endpoint == "lead" and exc.status == 404):
                self.off[endpoint] = exc.status or 0
            raise
        finally:
            after = getattr(self._lookup, "rate_limit", None)
            if isinstance(after, RateLimit) and after is not before:
                self._last_own_rate = after
                self.budget.observe(group, after)

    # ------------------------------------------------------------------ users

    async def users(self) -> dict[str, str]:
        """Every member, id -> name (deactivated ones too); loaded once (one load shared
        by every caller and the background look-ups). Never raises."""
        if not self._users_loaded:
            await self._members_once()
        return {m.id: m.name for m in self._members.values()}

    async def _members_once(self) -> None:
        """Load the members unless that was tried already; callers share one load and
        do not wait for the other look-ups (lead batches may be waiting to coalesce)."""
        task = self._members_task
        if task is None:
            self._jobs.pop(("users",), None)
            self._done.add(("users",))
            task = self._members_task = asyncio.ensure_future(self._load_members_paced())
        with contextlib.suppress(Exception):
            await asyncio.shield(task)

    async def _load_members_paced(self) -> None:
        for _ in range(100):  # bounded: a few windows at most
            wait = self._budget_wait(OTHER_GROUP)
            if wait <= 0:
                break
            await self._sleep(wait)
        await self._load_members()

    def members(self) -> list[UserMatch]:
        """The members known, active first, then by name."""
        return sorted(self._members.values(), key=lambda m: (not m.active, m.name.casefold()))

    async def _load_members(self) -> None:
        found: dict[str, UserMatch] = {}
        try:
            if "organization" not in self.off:
                found = await self._members_from_organization()
        except CloseError as exc:
            if exc.status not in OFF_STATUSES:
                self._fail("organization", exc)
        except Exception as exc:
            self._fail("organization", exc)
        if not found and "organization" in self.off and "user" not in self.off:
            try:
                found = await self._members_from_user_list()
            except Exception as exc:
                self._fail("users", exc)
        if not found:
            self._flag_changed()
            return
        self._members.update(found)
        self._users_loaded = True
        changed = False
        for user in found.values():
            changed |= self._offer(user.id, user.name, _RANK_API, math.inf)
        self._user_names = {u.id: u.name for u in found.values()}
        if changed:
            self._changed()

    async def _members_from_organization(self) -> dict[str, UserMatch]:
        org_id = self.organization_id
        if org_id is None and "me" not in self.off:
            me = await self._get("me", "me/", None)
            orgs = me.get("organizations") if isinstance(me, dict) else None
            if isinstance(orgs, list) and orgs and isinstance(orgs[0], dict):
                candidate = orgs[0].get("id")
                if isinstance(candidate, str) and _ORG_ID.match(candidate):
                    org_id = self.organization_id = candidate
        if org_id is None:
            return {}
        body = await self._get(
            "organization",
            f"organization/{org_id}/",
            {"_fields": "memberships,inactive_memberships"},
        )
        if not isinstance(body, dict):
            raise ValueError("unexpected organization answer: not an object")
        found: dict[str, UserMatch] = {}
        for key, active in (("memberships", True), ("inactive_memberships", False)):
            for member in body.get(key) or ():
                user = _member(member, active)
                if user is not None and (active or user.id not in found):
                    found[user.id] = user
        return found

    async def _members_from_user_list(self) -> dict[str, UserMatch]:
        found: dict[str, UserMatch] = {}
        skip = 0
        for _ in range(MAX_LIST_PAGES):
            wait = self._budget_wait(OTHER_GROUP)
            if wait > 0:
                await self._sleep(wait)
            body = await self._get("user", "user/", {"_skip": str(skip),
                                                     "_limit": str(LIST_PAGE_SIZE)})
            page = body.get("data") if isinstance(body, dict) else None
            if not isinstance(page, list):
                raise ValueError("unexpected /user/ answer: no data list")
            for item in page:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    first, last = _first(item, "first_name"), _first(item, "last_name")
                    name = " ".join(p for p in (first, last) if p) or _first(item, "email")
                    if name:
                        found[item["id"]] = UserMatch(item["id"], name[:MAX_NAME_CHARS],
                                                      _first(item, "email"))
            if not page or body.get("has_more") is not True:
                break
            skip += len(page)
        return found

    def find_users(self, text: str, limit: int = FINDER_LIMIT) -> list[UserMatch]:
        """Members whose name or email has words beginning with every word of ``text``
        (deactivated ones included, after the active). Only those loaded: see
        :meth:`search_users`."""
        wanted = _words(text)
        if not wanted:
            return []
        found = []
        for user in self.members():
            words = _words(user.name) + _words(user.email.partition("@")[0])
            if all(any(w.startswith(part) for w in words) for part in wanted):
                found.append(user)
        return found[:limit]

    async def search_users(self, text: str, limit: int = FINDER_LIMIT) -> list[UserMatch]:
        """:meth:`find_users` after loading the members once (one request)."""
        if not self._users_loaded:
            await self.users()
        return self.find_users(text, limit)

    # ------------------------------------------------------------------ custom fields, statuses

    async def _load_fields(self, kind: str) -> None:
        endpoint = "custom_field"
        if endpoint in self.off:
            self._fields_failed.add(kind)
            return
        found: dict[str, str] = {}
        try:
            skip = 0
            for _ in range(MAX_LIST_PAGES):
                body = await self._get(endpoint, f"custom_field/{kind}/",
                                       {"_skip": str(skip), "_limit": str(LIST_PAGE_SIZE)})
                page = body.get("data") if isinstance(body, dict) else None
                if not isinstance(page, list):
                    raise ValueError(f"unexpected /custom_field/{kind}/ answer: no data list")
                for item in page:
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        name = _first(item, "name")
                        if name:
                            found[item["id"]] = name
                if not page or body.get("has_more") is not True:
                    break
                skip += len(page)
                wait = self._budget_wait(OTHER_GROUP)
                if wait > 0:
                    await self._sleep(wait)
        except Exception as exc:
            if not (isinstance(exc, CloseError) and exc.status in OFF_STATUSES):
                self._fail(f"custom fields ({kind})", exc)
            self._fields_failed.add(kind)
            self._flag_changed()
            return
        self._fields_loaded.add(kind)
        changed = False
        for field_id, name in found.items():
            changed |= self._offer(field_id, name, _RANK_API, math.inf)
        if changed:
            self._changed()

    def _mark_deleted(self, field_id: str) -> None:
        """In no list the server gave: deleted since the event. Said only when every list
        that could hold it answered; otherwise the id stays (and "names limited")."""
        kind = self._field_refs.get(field_id, "shared")
        if not {kind, "shared"} <= self._fields_loaded:
            return
        del self._field_refs[field_id]
        if field_id not in self._names:
            # Straight into the mapping: a marker, not a name to rank against others.
            self._names[field_id] = deleted_field_label(field_id)
            self._origin[field_id] = (_RANK_API, math.inf)
            self._changed()

    async def _load_statuses(self, kind: str) -> None:
        if "status" in self.off:
            return
        try:
            body = await self._get("status", f"status/{kind}/", None)
            page = body.get("data") if isinstance(body, dict) else None
            if not isinstance(page, list):
                raise ValueError(f"unexpected /status/{kind}/ answer: no data list")
        except Exception as exc:
            if not (isinstance(exc, CloseError) and exc.status in OFF_STATUSES):
                self._fail(f"statuses ({kind})", exc)
            return
        self._statuses_loaded.add(kind)
        changed = False
        for item in page:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                label = _first(item, "label", "name")
                if label:
                    changed |= self._offer(item["id"], label, _RANK_API, math.inf)
        if changed:
            self._changed()

    async def refresh(self) -> None:
        """Ask again for the lists (members, fields, statuses) this directory loaded:
        after the user renamed a field, say. Endpoints that are off stay off."""
        for kind in sorted(self._fields_loaded | self._fields_failed):
            self._done.discard(("fields", kind))
            self._queue(("fields", kind), 1)
        self._fields_loaded.clear()
        self._fields_failed.clear()
        for kind in sorted(self._statuses_loaded):
            self._done.discard(("statuses", kind))
            self._queue(("statuses", kind), 2)
        self._statuses_loaded.clear()
        self._done.discard(("users",))
        self._users_loaded = False
        self._members_task = None
        self._queue(("users",), 0)
        self._finder_cache.clear()
        await self.settle()

    # ------------------------------------------------------------------ lead names

    def _searching_ids(self) -> bool:
        return "search" not in self.off and not self._search_by_ids_refused

    async def resolve_leads(self, lead_ids: Iterable[str]) -> dict[str, str]:
        """Names of ``lead_ids`` (batched look-ups, within the budget); ids still unnamed
        are left out. Never raises, except when the caller itself is cancelled."""
        wanted = list(dict.fromkeys(i for i in lead_ids if isinstance(i, str) and i))
        for lead_id in wanted:
            if (
                _LEAD_ID.match(lead_id)
                and lead_id not in self._names
                and lead_id not in self._leads_asked
                and lead_id not in self.missing_leads
            ):
                self._enqueue_lead(lead_id)
                self._lead_urgent = True  # a caller waits: no batching delay
        await self.settle()
        return {i: self._names[i] for i in wanted if i in self._names}

    async def _lookup_leads(self) -> None:
        batch = [i for i in self._lead_queue if i not in self._names][: self.batch_size]
        if not batch:
            self._lead_queue.clear()
            return
        if self._searching_ids():
            for lead_id in batch:
                self._lead_queue.pop(lead_id, None)
            if not await self._search_ids(batch):
                for lead_id in reversed(batch):  # refused: back in front, asked one by one
                    self._lead_queue[lead_id] = None
                    self._lead_queue.move_to_end(lead_id, last=False)
            return
        if "lead" not in self.off:
            lead_id = batch[0]
            self._lead_queue.pop(lead_id, None)
            await self._get_lead(lead_id)
            return
        self._flag_changed()

    async def _load_recent_leads(self) -> None:
        """Name the :attr:`recent_leads` most recently updated leads up front, in pages of
        :data:`RECENT_PAGE` (the search's default order in the web app; any order still
        names that many): a recent event log is mostly about them, so a request or two
        name what most pages would each have searched for. A refusal costs one request."""
        body: dict[str, Any] = {
            "query": {"type": "object_type", "object_type": "lead"},
            "_fields": {"lead": ["id", "display_name"]},
            "_limit": min(self.recent_leads, RECENT_PAGE),
        }
        named = 0
        for page in range(MAX_SEARCH_PAGES):  # bounded
            if page:
                wait = self._budget_wait(SEARCH_GROUP)
                if wait > 0:
                    await self._sleep(wait)
            try:
                answer = await self._post_search(body)
            except CloseError as exc:
                if exc.status not in OFF_STATUSES and not isinstance(exc, BadRequest):
                    self._fail("recent leads", exc)
                return
            except Exception as exc:
                self._fail("recent leads", exc)
                return
            changed = False
            items = _items(answer)
            for item in items:
                lead_id, name = item.get("id"), _first(item, "display_name", "name")
                if isinstance(lead_id, str) and _LEAD_ID.match(lead_id) and name:
                    self._lead_found = True
                    named += 1
                    changed |= self._offer(lead_id, name[:MAX_NAME_CHARS], _RANK_API, math.inf)
            if changed:
                self._changed()
            cursor = answer.get("cursor") if isinstance(answer, dict) else None
            if not items or not isinstance(cursor, str) or not cursor:
                return
            if named >= self.recent_leads:
                return
            body = {**body, "cursor": cursor}

    async def _search_ids(self, lead_ids: Sequence[str]) -> bool:
        """One search for a batch; ``False`` if the server refused the query's shape or
        the endpoint (the caller falls back), ``True`` otherwise (even on failure)."""
        queries = [{"type": "id", "value": i} for i in lead_ids]
        body: dict[str, Any] = {
            "query": queries[0] if len(queries) == 1 else {"type": "or", "queries": queries},
            "_fields": {"lead": ["id", "display_name"]},
            "_limit": len(lead_ids),
        }
        found: set[str] = set()
        changed = False
        try:
            for page in range(MAX_SEARCH_PAGES):
                if page:
                    wait = self._budget_wait(SEARCH_GROUP)
                    if wait > 0:
                        await self._sleep(wait)
                answer = await self._post_search(body)
                for item in _items(answer):
                    lead_id, name = item.get("id"), _first(item, "display_name", "name")
                    if isinstance(lead_id, str) and name:
                        found.add(lead_id)
                        changed |= self._offer(lead_id, name, _RANK_API, math.inf)
                cursor = answer.get("cursor") if isinstance(answer, dict) else None
                if not isinstance(cursor, str) or not cursor or found >= set(lead_ids):
                    break
                body = {**body, "cursor": cursor}
        except BadRequest:
            self._search_by_ids_refused = True  # the shape, not the key: use /lead/{id}/
            return False
        except CloseError as exc:
            if exc.status in OFF_STATUSES:
                return False
            self._fail("lead search", exc)
        except Exception as exc:
            self._fail("lead search", exc)
        self._leads_asked.update(lead_ids)
        if found:
            self._lead_found = True
        for lead_id in lead_ids:
            if lead_id not in found:
                self.missing_leads.add(lead_id)  # deleted or merged away: events name it
        if changed:
            self._changed()
        return True

    async def _post_search(self, body: dict[str, Any], *, background: bool = True) -> Any:
        """POST /data/search/; repeating a search is harmless, so an uncertain outcome
        is asked once more. ``background=False`` for the finder, which a person waits
        on: its retries may show in the status bar."""
        for attempt in range(2):
            try:
                call = self._lookup.post_json("data/search/", body, background=background)
                return await self._request("search", SEARCH_GROUP, call)
            except WriteUncertain:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _get_lead(self, lead_id: str) -> None:
        self._leads_asked.add(lead_id)
        try:
            body = await self._get("lead", f"lead/{lead_id}/", {"_fields": "id,display_name"})
        except NotFound:
            self.missing_leads.add(lead_id)
            self._lead_404s += 1
            if not self._lead_found and self._lead_404s >= LEAD_404_LIMIT:
                self.off["lead"] = 404  # no lead ever found: the endpoint is not there
                self._flag_changed()
            return
        except AuthError as exc:
            self.off["lead"] = exc.status or 403
            return
        except Exception as exc:
            self._fail(f"lead {lead_id}", exc)
            return
        name = _first(body, "display_name", "name") if isinstance(body, dict) else ""
        if name:
            self._lead_found = True
            if self._offer(lead_id, name, _RANK_API, math.inf):
                self._changed()

    # ------------------------------------------------------------------ the lead finder

    async def search_leads(self, text: str, limit: int = FINDER_LIMIT) -> list[LeadMatch] | None:
        """Leads whose name matches ``text`` (words beginning so), newest first: name,
        status label, id. ``None`` when a newer call superseded this one before it was
        sent (one search in flight). Cached per text. Never raises: a failure is ``[]``
        with :attr:`finder_note` saying why."""
        key = " ".join(_words(text))
        if not key:
            return []
        cached = self._cache_get(key)
        if cached is not None:
            return cached
        self._finder_generation += 1
        mine = self._finder_generation
        async with self._finder_lock:
            if mine != self._finder_generation:
                return None  # a newer text is waiting: this one is not worth a request
            cached = self._cache_get(key)
            if cached is not None:
                return cached
            if "search" in self.off:
                self.finder_note = "searching by name is not available for this key"
                return []
            wait = min(self._budget_wait_search(), FINDER_MAX_WAIT)
            if wait > 0:
                await self._sleep(wait)
            matches = await self._finder_query(text.strip(), limit)
            if matches is None:
                return []
            self._cache_put(key, matches)
            return matches

    def _budget_wait_search(self) -> float:
        """The finder waits only while the search group's window is used up."""
        self._sample_client()
        return self.budget.exhausted_for(SEARCH_GROUP)

    async def _finder_query(self, text: str, limit: int) -> list[LeadMatch] | None:
        for mode_index in range(self._text_mode, len(TEXT_MODES)):
            body = {
                "query": {"type": "and", "queries": [
                    {"type": "object_type", "object_type": "lead"},
                    {"type": "field_condition",
                     "field": {"type": "regular_field", "object_type": "lead",
                               "field_name": "display_name"},
                     "condition": {"type": "text", "mode": TEXT_MODES[mode_index],
                                   "value": text}},
                ]},
                "_fields": {"lead": ["id", "display_name", "status_label"]},
                "_limit": limit,
            }
            try:
                answer = await self._post_search(body, background=False)
            except BadRequest:
                continue  # this text mode is not understood: the next one
            except Exception as exc:
                self.finder_note = _reason(exc)
                self._fail("lead finder", exc)
                return None
            self._text_mode = mode_index
            self.finder_note = ""
            matches: list[LeadMatch] = []
            changed = False
            for item in _items(answer):
                lead_id, name = item.get("id"), _first(item, "display_name", "name")
                if isinstance(lead_id, str) and name:
                    name = name[:MAX_NAME_CHARS]
                    matches.append(LeadMatch(lead_id, name, _first(item, "status_label")))
                    changed |= self._offer(lead_id, name, _RANK_API, math.inf)
            if changed:
                self._changed()
            return matches[:limit]
        self.finder_note = "the server refused every text search mode"
        return None

    def _cache_get(self, key: str) -> list[LeadMatch] | None:
        found = self._finder_cache.get(key)
        if found is not None:
            self._finder_cache.move_to_end(key)
        return found

    def _cache_put(self, key: str, matches: list[LeadMatch]) -> None:
        self._finder_cache[key] = matches
        while len(self._finder_cache) > FINDER_CACHE:
            self._finder_cache.popitem(last=False)

    # ------------------------------------------------------------------ housekeeping

    def reset(self) -> None:
        """Forget everything (another organization or key), endpoint memory included."""
        if self._pump is not None:
            self._pump.cancel()
        self._pump = None
        self._jobs.clear()
        self._done.clear()
        self._lead_queue.clear()
        self._lead_urgent = False
        self._leads_asked.clear()
        self._members.clear()
        if self._members_task is not None:
            self._members_task.cancel()
        self._members_task = None
        self._users_loaded = False
        self._field_refs.clear()
        self._fields_loaded.clear()
        self._fields_failed.clear()
        self._status_refs.clear()
        self._statuses_loaded.clear()
        self._finder_cache.clear()
        self.off.clear()
        self.organization_id = None
        self._lead_found = False
        self._lead_404s = 0
        self._search_by_ids_refused = False
        super().reset()


def _field_kind(object_type: str) -> str:
    family = object_type.partition(".")[0]
    if family in ("lead", "contact", "opportunity"):
        return family
    if family == "activity":
        return "activity"
    return "shared"


def _member(raw: Any, active: bool) -> UserMatch | None:
    if not isinstance(raw, dict):
        return None
    user_id = raw.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        return None
    first, last = _first(raw, "user_first_name"), _first(raw, "user_last_name")
    name = (
        _first(raw, "user_full_name")
        or " ".join(p for p in (first, last) if p)
        or _first(raw, "user_email")
    )
    if not name:
        return None
    return UserMatch(user_id, name[:MAX_NAME_CHARS], _first(raw, "user_email"), active)


def _items(answer: Any) -> list[dict[str, Any]]:
    data = answer.get("data") if isinstance(answer, dict) else None
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, CloseError):
        return exc.message[:120]
    return type(exc).__name__
