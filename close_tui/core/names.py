"""Display names for the ids the event log is full of: users, leads, custom fields.

``user_N6KhMp…`` and ``lead_sHR5sx…`` tell a support person nothing; "Gob Bluth" and
"Bluth Company" do. The names come from three places, cheapest first:

* **the events themselves** (:meth:`NameDirectory.learn`, synchronous, no I/O): a lead
  event's ``data.display_name``, a child's ``data.lead_name``, ``user_id``/``user_name``
  pairs inside activities, a custom field event's ``id``/``name``, and — the only source
  for a deleted lead — the ``previous_data`` of its ``lead.deleted`` event;
* **the user list** (``GET /user/``, offset paged with ``_skip``/``_limit``/``has_more``),
  loaded once, lazily;
* **one lead at a time** (``GET /lead/{id}/?_fields=id,display_name``) for leads the events
  did not name, with limited concurrency, at most one request per lead ever, and negative
  caching: a ``404`` (the lead was deleted) or an error is not asked again.

Names are hints, so nothing here ever raises into the caller: failures are counted
(:attr:`NameDirectory.failures`) and the id stays on screen. When the set of names grows,
:attr:`NameDirectory.version` moves and ``on_change`` is called, so the UI knows when to
hand :meth:`NameDirectory.names` to the table again.

Which name wins when several sources disagree: the API's current answer over names found
in events, a lead's own event over a child's copy of its name, and among equals the event
with the newest ``date_updated`` (live follow brings newer events after older pages).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final, Protocol

from close_tui.core.errors import NotFound
from close_tui.core.models import Event

#: ``GET /user/`` page size (Close's offset-paged endpoints accept up to 100).
USER_PAGE_SIZE: Final = 100
#: Safety stop for a server that keeps saying ``has_more`` (10k users is far beyond any org).
MAX_USER_PAGES: Final = 100
#: Lead look-ups in flight at once: names are worth little next to the event pages that
#: share the key's rate limit.
LEAD_CONCURRENCY: Final = 4
#: Longest name kept (a table cell shows ~20 characters; keep memory small).
MAX_NAME_CHARS: Final = 120

#: Only ids of this shape are looked up: a path is built from them.
_LEAD_ID: Final = re.compile(r"lead_[A-Za-z0-9]{1,64}\Z")

# Source ranks: a higher rank replaces a lower one whatever its age.
_RANK_CHILD: Final = 1  # a child's copy (task.lead_name, opportunity.lead_name, user_name)
_RANK_OWN: Final = 2  # the object's own event (lead.display_name, custom field name)
_RANK_API: Final = 3  # the API's current answer (GET /user/, GET /lead/{id}/)


class NamesUsed(Mapping[str, str]):
    """A view of ``names`` that records the ids asked for: :attr:`used` maps each to
    the name it had then (``None``: none yet), so a view drawn with names can tell
    whether newer names change it."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self._names = names
        self.used: dict[str, str | None] = {}

    @property
    def missing(self) -> set[str]:
        """The ids asked for that had no name."""
        return {key for key, name in self.used.items() if name is None}

    def __getitem__(self, key: str) -> str:
        value = self._names.get(key)
        self.used[key] = value
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class JsonGetter(Protocol):
    """What the directory needs of a client: :meth:`CloseClient.get_json`."""

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any: ...


class NameDirectory:
    """id -> display name for users, leads and custom fields, learned and looked up."""

    def __init__(
        self,
        client: JsonGetter,
        *,
        on_change: Callable[[], None] | None = None,
        lead_concurrency: int = LEAD_CONCURRENCY,
    ) -> None:
        self._client = client
        #: Called (synchronously) after the names changed; errors in it are swallowed.
        self.on_change = on_change
        self._names: dict[str, str] = {}
        self._view = MappingProxyType(self._names)
        #: id -> (rank, date_updated timestamp) of the name kept, to decide replacements.
        self._origin: dict[str, tuple[int, float]] = {}
        self._users_task: asyncio.Task[dict[str, str]] | None = None
        self._user_names: dict[str, str] = {}
        #: Leads asked for (or being asked for): never asked twice.
        self._lead_tasks: dict[str, asyncio.Task[bool]] = {}
        #: Leads the API answered 404 for: deleted (or merged away).
        self.missing_leads: set[str] = set()
        self._semaphore = asyncio.Semaphore(max(1, lead_concurrency))
        #: Moves each time :meth:`names` changes.
        self.version = 0
        #: Look-ups that failed (errors other than "this lead no longer exists").
        self.failures = 0
        #: The last failure, for a status line or a log ("" if none).
        self.last_error = ""
        #: HTTP requests made, to show the cost and to test "at most one per lead".
        self.requests = 0

    # ------------------------------------------------------------------ reading

    def names(self) -> Mapping[str, str]:
        """Every known id -> name (users, leads, ``cf_…``), a live read-only view."""
        return self._view

    def name(self, object_id: str | None) -> str | None:
        return self._names.get(object_id) if object_id else None

    # ------------------------------------------------------------------ learning from events

    def learn(self, events: Iterable[Event]) -> None:
        """Harvest names from event payloads: cheap, synchronous, never raises.

        Call it with each page *before* the page's rows are made, so summaries that name
        custom fields already know them.
        """
        changed = False
        for event in events:
            try:
                changed |= self._learn_one(event)
            except Exception:  # an odd payload only means fewer names
                continue
        if changed:
            self._changed()

    def _learn_one(self, event: Event) -> bool:
        data = event.data if isinstance(event.data, dict) else {}
        previous = event.previous_data if isinstance(event.previous_data, dict) else {}
        when = event.date_updated.timestamp()
        object_type = event.object_type
        object_id = event.object_id if isinstance(event.object_id, str) else ""
        lead_id = event.lead_id if isinstance(event.lead_id, str) else ""
        changed = False

        if object_type == "lead":
            # A deleted lead's name survives only in the previous_data of its deletion.
            state = previous if event.action == "deleted" else (data or previous)
            name = _first(state, "display_name", "name")
            target = object_id or lead_id
            if name and target.startswith("lead_"):
                changed |= self._offer(target, name, _RANK_OWN, when)
        elif lead_id:
            for state in (data, previous):
                name = _first(state, "lead_name", "lead_display_name")
                if name:
                    changed |= self._offer(lead_id, name, _RANK_CHILD, when)
                    break
        if object_type.startswith("custom_fields."):
            state = previous if event.action == "deleted" else (data or previous)
            field_id = state.get("id") if isinstance(state.get("id"), str) else object_id
            name = _first(state, "name")
            if name and field_id:
                changed |= self._offer(field_id, name, _RANK_OWN, when)
        if object_type == "activity.lead_merge":
            source_id, source_name = data.get("source_lead_id"), _first(data, "source_lead_name")
            if isinstance(source_id, str) and source_name:
                changed |= self._offer(source_id, source_name, _RANK_CHILD, when)
        for state in (data, previous):
            for id_key, name_key in _USER_PAIRS:
                user_id = state.get(id_key)
                name = _first(state, name_key)
                if isinstance(user_id, str) and user_id.startswith("user_") and name:
                    changed |= self._offer(user_id, name, _RANK_CHILD, when)
        return changed

    def _offer(self, object_id: str, name: str, rank: int, when: float) -> bool:
        """Keep ``name`` if it beats what is known; ``True`` if the mapping changed."""
        origin = self._origin.get(object_id)
        if origin is not None and (rank, when) <= origin:
            return False
        self._origin[object_id] = (rank, when)
        name = name[:MAX_NAME_CHARS]
        if self._names.get(object_id) == name:
            return False
        self._names[object_id] = name
        return True

    def _changed(self) -> None:
        self.version += 1
        callback = self.on_change
        if callback is not None:
            try:
                callback()
            except Exception as exc:  # the app's problem, not a reason to lose names
                self.last_error = f"on_change failed: {type(exc).__name__}"

    # ------------------------------------------------------------------ users

    async def users(self) -> dict[str, str]:
        """All users of the organization, id -> name; loaded once (one load shared by
        concurrent callers). On failure: ``{}`` and a counted failure, not retried
        (the client already retried what was transient); :meth:`reset` starts over."""
        task = self._users_task
        if task is None:
            task = self._users_task = asyncio.ensure_future(self._load_users())
        try:
            return dict(await asyncio.shield(task))
        except asyncio.CancelledError:
            if task.cancelled():  # the load was stopped by reset(), not our caller
                return {}
            raise

    async def _load_users(self) -> dict[str, str]:
        found: dict[str, str] = {}
        skip = 0
        try:
            for _ in range(MAX_USER_PAGES):
                params = {"_skip": str(skip), "_limit": str(USER_PAGE_SIZE)}
                self.requests += 1
                body = await self._client.get_json("user/", params)
                if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                    raise ValueError("unexpected /user/ response: no data list")
                page = body["data"]
                for user in page:
                    if isinstance(user, dict) and isinstance(user.get("id"), str):
                        name = _user_name(user)
                        if name:
                            found[user["id"]] = name[:MAX_NAME_CHARS]
                if not page or body.get("has_more") is not True:
                    break
                skip += len(page)
        except Exception as exc:
            self._fail("users", exc)
        changed = False
        for user_id, name in found.items():
            changed |= self._offer(user_id, name, _RANK_API, float("inf"))
        self._user_names = found
        if changed:
            self._changed()
        return found

    # ------------------------------------------------------------------ leads

    async def resolve_leads(self, lead_ids: Iterable[str]) -> dict[str, str]:
        """Names of ``lead_ids``: known ones at once, the others asked for (each lead at
        most once, ``LEAD_CONCURRENCY`` at a time). Returns the names known afterwards
        for those ids; ids still unnamed (deleted and never seen named, or failed) are
        left out. Never raises, except when the caller itself is cancelled."""
        wanted = list(dict.fromkeys(i for i in lead_ids if isinstance(i, str) and i))
        pending: list[asyncio.Task[bool]] = []
        for lead_id in wanted:
            task = self._lead_tasks.get(lead_id)
            if task is None:
                if lead_id in self._names or not _LEAD_ID.match(lead_id):
                    continue
                task = asyncio.ensure_future(self._fetch_lead(lead_id))
                self._lead_tasks[lead_id] = task
            if not task.done():
                pending.append(task)
        if pending:
            # Shielded: a caller that goes away (a new filter) leaves the look-ups running
            # for whoever asks next; only reset() stops them.
            results = await asyncio.gather(
                *(asyncio.shield(task) for task in pending), return_exceptions=True
            )
            if any(result is True for result in results):
                self._changed()
        return {i: self._names[i] for i in wanted if i in self._names}

    async def _fetch_lead(self, lead_id: str) -> bool:
        """Ask for one lead's name; ``True`` if the names changed."""
        async with self._semaphore:
            if lead_id in self._names:  # named by an event while waiting for a slot
                return False
            self.requests += 1
            try:
                body = await self._client.get_json(
                    f"lead/{lead_id}/", {"_fields": "id,display_name"}
                )
            except NotFound:
                self.missing_leads.add(lead_id)  # deleted: its events may still name it
                return False
            except Exception as exc:
                self._fail(f"lead {lead_id}", exc)
                return False
        name = _first(body, "display_name", "name") if isinstance(body, dict) else ""
        if not name:
            self._fail(f"lead {lead_id}", ValueError("no display_name in the answer"))
            return False
        return self._offer(lead_id, name, _RANK_API, float("inf"))

    # ------------------------------------------------------------------ housekeeping

    def _fail(self, what: str, exc: BaseException) -> None:
        self.failures += 1
        self.last_error = f"name look-up ({what}) failed: {type(exc).__name__}: {exc}"[:300]

    def reset(self) -> None:
        """Forget everything (another organization or key): names, look-ups, failures."""
        for task in self._lead_tasks.values():
            task.cancel()
        if self._users_task is not None:
            self._users_task.cancel()
        self._lead_tasks.clear()
        self._users_task = None
        self._user_names = {}
        self._names.clear()
        self._origin.clear()
        self.missing_leads.clear()
        self.failures = 0
        self.last_error = ""
        self._changed()


#: (id key, name key) pairs that name a user inside an object.
_USER_PAIRS: Final = (
    ("user_id", "user_name"),
    ("created_by", "created_by_name"),
    ("updated_by", "updated_by_name"),
    ("assigned_to", "assigned_to_name"),
)


def _first(state: Any, *keys: str) -> str:
    """The first non-blank single-line string among ``keys`` of ``state``."""
    if not isinstance(state, dict):
        return ""
    for key in keys:
        value = state.get(key)
        if isinstance(value, str):
            for line in value.splitlines():
                if line.strip():
                    return line.strip()
    return ""


def _user_name(user: dict[str, Any]) -> str:
    first, last = _first(user, "first_name"), _first(user, "last_name")
    full = " ".join(part for part in (first, last) if part)
    return full or _first(user, "display_name", "name", "email")
