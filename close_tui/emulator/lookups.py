"""The emulated lookup endpoints: who the users are, what fields and statuses are called,
and Advanced Filtering search (``close-lookups-and-restore.md`` §1-§4).

* ``GET /organization/{id}/`` with ``memberships`` *and* ``inactive_memberships`` (the
  user who leaves during the window is inactive, and still has events); ``_fields``.
* ``GET /custom_field/{lead,contact,opportunity,activity,shared}/``: offset paged
  (``_skip``/``_limit``, ``has_more``). The lead field "Lead Source" that every lead
  event carries (``custom.<id>``) is *not* listed: it has been deleted since — the case
  the client must show as "(deleted field)".
* ``GET /status/lead/`` and ``/status/opportunity/`` (with ``type`` and ``pipeline_id``).
* ``POST /data/search/``: the query grammar of §1 (``and``/``or``/``id``/
  ``object_type``/``text``/``field_condition``, ``negate``; text modes ``full_words``,
  ``phrase``, ``beginning_of_words``), ``_fields``, ``_limit``, ``cursor`` (30 s),
  ``results_limit``, ``include_counts``, ``sort``; leads and contacts. Anything it does
  not understand is a 400 naming what, as a strict server would answer.

Every endpoint can be switched off (:attr:`EmulatorConfig.endpoints_off`, name ->
404/403/405), so tests can play a key or a server without it. Nothing here touches the
simulation's random stream: the events stay exactly what they were.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from close_tui.emulator import names
from close_tui.emulator.dataset import B62, Json, Obj, OrgSim

if TYPE_CHECKING:
    from close_tui.emulator.api import EmulatorConfig

#: Rate-limit groups (§5: limits apply per endpoint group): the event log, searches, and
#: every other request.
GROUP_EVENTS: Final = "events"
GROUP_SEARCH: Final = "search"
GROUP_OTHER: Final = "other"

#: Endpoint names for :attr:`EmulatorConfig.endpoints_off`.
ENDPOINTS: Final = (
    "organization", "custom_field", "status", "search", "lead", "user", "me", "event",
)
#: Statuses a switched-off endpoint may answer with.
OFF_STATUSES: Final = frozenset({403, 404, 405})

#: Largest ``_limit`` of a search (Close's is unknown; the client must follow cursors).
SEARCH_MAX_LIMIT: Final = 200
SEARCH_DEFAULT_LIMIT: Final = 10
#: A search cursor is good for about 30 s, and one walk stops at 10,000 objects.
SEARCH_CURSOR_TTL_MS: Final = 30_000
SEARCH_MAX_WALK: Final = 10_000
#: Largest ``_limit`` of the offset-paged lists.
LIST_MAX_LIMIT: Final = 100

TEXT_MODES: Final = ("full_words", "phrase", "beginning_of_words")
_WORD: Final = re.compile(r"\w+", re.UNICODE)
#: The deleted lead field's name, for tests and docs.
DELETED_FIELD_NAME: Final = "Lead Source"


class LookupFailure(Exception):
    """An API error of a lookup: status and message, answered as ``{"error": …}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def rate_group(method: str, path: str) -> str:
    """Which rate-limit group a request counts against (``path`` from ``/api/v1/``)."""
    relative = path.split("/api/v1/", 1)[-1]
    if method == "GET" and (relative == "event/" or relative.startswith("event/")):
        return GROUP_EVENTS
    if method == "POST" and relative == "data/search/":
        return GROUP_SEARCH
    return GROUP_OTHER


def endpoint_name(method: str, parts: list[str]) -> str | None:
    """The name a switch in ``endpoints_off`` uses for this path (``None``: no switch)."""
    if not parts:
        return None
    head = parts[0]
    if head == "data" and parts[1:] == ["search"]:
        return "search"
    if head in ("organization", "custom_field", "status", "lead", "user", "me", "event"):
        return head
    return None


@dataclass
class _Directory:
    """What the lookup endpoints serve, derived once from the simulation."""

    memberships: list[Json]
    inactive_memberships: list[Json]
    custom_fields: dict[str, list[Json]]
    lead_statuses: list[Json]
    opportunity_statuses: list[Json]
    deleted_field_id: str


class Lookups:
    """Serves the lookup endpoints of one :class:`Emulator` (called from its ``_route``)."""

    def __init__(
        self, sim: OrgSim, config: EmulatorConfig, now_ms: Callable[[], int]
    ) -> None:
        self._sim = sim
        self._config = config
        self._now_ms = now_ms
        self._data: _Directory | None = None
        self._secret = hashlib.sha256(f"search-cursor:{sim.seed}".encode()).digest()
        #: Every search body received, in order (tests assert on what was asked).
        self.searches: list[Json] = []

    # ------------------------------------------------------------------ facts for tests

    @property
    def data(self) -> _Directory:
        if self._data is None:
            self._data = _build(self._sim)
        return self._data

    @property
    def deleted_field_id(self) -> str:
        """The id (``cf_…``) of the lead field that events carry but no list has."""
        return self.data.deleted_field_id

    @property
    def inactive_user_id(self) -> str | None:
        inactive = self.data.inactive_memberships
        return inactive[0]["user_id"] if inactive else None

    # ------------------------------------------------------------------ routing

    def route(
        self, method: str, parts: list[str], params: Mapping[str, str], body: bytes
    ) -> tuple[int, Any] | None:
        """``(status, body)`` for the paths handled here; ``None`` for every other path.

        Also answers for switched-off endpoints (even those served by ``api.py``).
        """
        name = endpoint_name(method, parts)
        off = self._config.endpoints_off.get(name) if name is not None else None
        if off is not None:
            messages = {403: "permission denied", 404: "not found", 405: "method not allowed"}
            return off, {"error": messages.get(off, "unavailable")}
        try:
            if parts[:1] == ["data"] and parts[1:] == ["search"]:
                if method != "POST":
                    raise LookupFailure(405, f"method {method} not allowed: POST a JSON query")
                return 200, self._search(body)
            if method != "GET":
                return None
            if len(parts) == 2 and parts[0] == "organization":
                return 200, self._organization(parts[1], params)
            if len(parts) == 2 and parts[0] == "custom_field":
                return 200, self._custom_fields(parts[1], params)
            if len(parts) == 2 and parts[0] == "status":
                return 200, self._statuses(parts[1])
        except LookupFailure as exc:
            return exc.status, {"error": exc.message}
        return None

    def users_listed(self) -> list[Json]:
        """What ``GET /user/`` lists (with or without the deactivated user)."""
        if self._config.user_list_includes_inactive:
            return self._sim.users
        inactive = {m["user_id"] for m in self.data.inactive_memberships}
        return [u for u in self._sim.users if u["id"] not in inactive]

    # ------------------------------------------------------------------ organization

    def _organization(self, org_id: str, params: Mapping[str, str]) -> Json:
        org = self._sim.organization
        if org_id != org["id"]:
            raise LookupFailure(404, f"organization {org_id} not found")
        full: Json = {
            **org,
            "memberships": self.data.memberships,
            "inactive_memberships": self.data.inactive_memberships,
        }
        wanted = [f.strip() for f in params.get("_fields", "").split(",") if f.strip()]
        if not wanted:
            return full
        return {key: full[key] for key in wanted if key in full}

    # ------------------------------------------------------------------ custom fields, statuses

    def _custom_fields(self, kind: str, params: Mapping[str, str]) -> Json:
        fields = self.data.custom_fields.get(kind)
        if fields is None:
            raise LookupFailure(404, f"unknown custom field type {kind!r}")
        skip = int_param(params, "_skip", 0, lo=0)
        limit = min(int_param(params, "_limit", LIST_MAX_LIMIT, lo=1), LIST_MAX_LIMIT)
        return {"data": fields[skip : skip + limit], "has_more": skip + limit < len(fields)}

    def _statuses(self, kind: str) -> Json:
        if kind == "lead":
            return {"data": self.data.lead_statuses}
        if kind == "opportunity":
            return {"data": self.data.opportunity_statuses}
        raise LookupFailure(404, f"unknown status type {kind!r}")

    # ------------------------------------------------------------------ search

    def _search(self, raw: bytes) -> Json:
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            raise LookupFailure(400, "the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise LookupFailure(400, "the body must be a JSON object")
        self.searches.append(body)
        known = {"query", "_fields", "_limit", "cursor", "results_limit", "include_counts",
                 "sort"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise LookupFailure(400, f"unknown key(s) in the search body: {', '.join(unknown)}")
        if "query" not in body:
            raise LookupFailure(400, "query is required")
        matcher = _compile(body["query"])
        limit = body.get("_limit", SEARCH_DEFAULT_LIMIT)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise LookupFailure(400, "_limit must be a positive integer")
        limit = min(limit, SEARCH_MAX_LIMIT)
        cap = body.get("results_limit")
        if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 0):
            raise LookupFailure(400, "results_limit must be a non-negative integer")
        fields = _fields_spec(body.get("_fields"))
        key = _sort_key(body.get("sort"))
        matches = [obj for obj in self._searchable() if matcher(obj)]
        matches.sort(key=key)
        total = len(matches)
        walk_cap = min(SEARCH_MAX_WALK, cap if cap is not None else SEARCH_MAX_WALK)
        offset = 0
        query_hash = hashlib.sha256(
            json.dumps(body["query"], sort_keys=True).encode()
        ).hexdigest()[:16]
        if body.get("cursor"):
            offset = self._read_cursor(body["cursor"], query_hash)
        end = min(offset + limit, walk_cap, total)
        page = matches[offset:end] if offset < end else []
        cursor = self._cursor(end, query_hash) if end < min(walk_cap, total) else None
        answer: Json = {
            "data": [_project(obj, fields.get(_kind(obj))) for obj in page],
            "cursor": cursor,
        }
        if body.get("include_counts"):
            answer["count"] = {"total": total}
        return answer

    def _searchable(self) -> Iterator[Obj]:
        for sim in self._sim.lead_sims.values():
            if sim.deleted:
                continue
            yield sim.lead
            for contact in sim.contacts:
                if contact.alive:
                    yield contact

    def _cursor(self, offset: int, query_hash: str) -> str:
        payload = json.dumps({"o": offset, "q": query_hash, "t": self._now_ms()}).encode()
        sig = hmac.new(self._secret, payload, hashlib.sha256).digest()[:9]
        return (base64.urlsafe_b64encode(payload).decode().rstrip("=") + "."
                + base64.urlsafe_b64encode(sig).decode().rstrip("="))

    def _read_cursor(self, token: Any, query_hash: str) -> int:
        invalid = LookupFailure(400, "invalid or expired cursor")
        if not isinstance(token, str):
            raise invalid
        try:
            head, _, tail = token.partition(".")
            payload = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
            sig = base64.urlsafe_b64decode(tail + "=" * (-len(tail) % 4))
            good = hmac.new(self._secret, payload, hashlib.sha256).digest()[:9]
            if not hmac.compare_digest(sig, good):
                raise invalid
            cur = json.loads(payload)
            offset, issued, query = int(cur["o"]), int(cur["t"]), cur["q"]
        except (ValueError, KeyError, TypeError):
            raise invalid from None
        if query != query_hash:
            raise LookupFailure(400, "this cursor belongs to another query")
        if self._now_ms() - issued > SEARCH_CURSOR_TTL_MS:
            raise invalid
        return offset


# ---------------------------------------------------------------------- the query grammar

Matcher = Callable[[Obj], bool]
_SEARCHABLE_TYPES: Final = ("lead", "contact")
#: Text fields a top-level ``text`` query looks in.
_TEXT_FIELDS: Final = {
    "lead": ("display_name", "name", "description", "url"),
    "contact": ("display_name", "name", "title"),
}


def _kind(obj: Obj) -> str:
    return obj.type


def _compile(query: Any) -> Matcher:
    """A predicate for one query node; :class:`LookupFailure` (400) for anything unknown."""
    if not isinstance(query, dict):
        raise LookupFailure(400, "a query must be a JSON object")
    kind = query.get("type")
    negate = query.get("negate", False)
    if not isinstance(negate, bool):
        raise LookupFailure(400, "negate must be true or false")
    matcher = _compile_positive(kind, query)
    if negate:
        return lambda obj: not matcher(obj)
    return matcher


def _compile_positive(kind: Any, query: Json) -> Matcher:
    if kind in ("and", "or"):
        queries = query.get("queries")
        if not isinstance(queries, list):
            raise LookupFailure(400, f"an {kind!r} query needs a 'queries' list")
        parts = [_compile(q) for q in queries]
        if kind == "and":
            return lambda obj: all(part(obj) for part in parts)
        return lambda obj: any(part(obj) for part in parts)
    if kind == "id":
        value = query.get("value")
        if not isinstance(value, str):
            raise LookupFailure(400, "an 'id' query needs a string 'value'")
        return lambda obj: obj.id == value
    if kind == "object_type":
        object_type = query.get("object_type")
        if object_type not in _SEARCHABLE_TYPES:
            raise LookupFailure(400, f"object_type {object_type!r} is not searchable here")
        return lambda obj: obj.type == object_type
    if kind == "text":
        value = query.get("value")
        if not isinstance(value, str):
            raise LookupFailure(400, "a 'text' query needs a string 'value'")
        test = _text_test(query.get("mode", "full_words"), value)

        def any_text(obj: Obj) -> bool:
            return any(test(obj.state.get(f)) for f in _TEXT_FIELDS.get(obj.type, ()))

        return any_text
    if kind == "field_condition":
        return _field_condition(query)
    raise LookupFailure(400, f"unknown query type {kind!r}")


def _field_condition(query: Json) -> Matcher:
    field = query.get("field")
    condition = query.get("condition")
    if not isinstance(field, dict) or not isinstance(condition, dict):
        raise LookupFailure(400, "a field_condition needs 'field' and 'condition' objects")
    if field.get("type") != "regular_field":
        raise LookupFailure(400, f"unsupported field type {field.get('type')!r}")
    object_type = field.get("object_type")
    name = field.get("field_name")
    if object_type not in _SEARCHABLE_TYPES or not isinstance(name, str) or not name:
        raise LookupFailure(400, "the field needs a searchable object_type and a field_name")
    if condition.get("type") != "text":
        raise LookupFailure(400, f"unsupported condition type {condition.get('type')!r}")
    value = condition.get("value")
    if not isinstance(value, str):
        raise LookupFailure(400, "a text condition needs a string 'value'")
    test = _text_test(condition.get("mode", "full_words"), value)
    return lambda obj: obj.type == object_type and test(obj.state.get(name))


def _text_test(mode: Any, value: str) -> Callable[[Any], bool]:
    if mode not in TEXT_MODES:
        raise LookupFailure(400, f"unknown text mode {mode!r}; use one of {', '.join(TEXT_MODES)}")
    wanted = _words(value)
    if not wanted:
        return lambda _: False

    def test(text: Any) -> bool:
        if not isinstance(text, str):
            return False
        words = _words(text)
        if mode == "full_words":
            return set(wanted) <= set(words)
        if mode == "beginning_of_words":
            return all(any(w.startswith(part) for w in words) for part in wanted)
        n = len(wanted)  # phrase: the words, consecutive, in order
        return any(words[i : i + n] == wanted for i in range(len(words) - n + 1))

    return test


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def _fields_spec(value: Any) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(f, str) for f in v)
        for k, v in value.items()
    ):
        raise LookupFailure(400, "_fields must map object types to lists of field names")
    return value


def _project(obj: Obj, wanted: list[str] | None) -> Json:
    item: Json = {"__object_type": obj.type, "id": obj.id}
    for name in wanted or ():
        if name in obj.state:
            item[name] = obj.state[name]
    return item


def _sort_key(sort: Any) -> Callable[[Obj], Any]:
    """Newest first by default (the web app's order); ``sort`` on a few regular fields."""
    if sort is None or sort == []:
        return lambda obj: _desc(str(obj.state.get("date_updated") or ""))
    if not isinstance(sort, list) or len(sort) != 1 or not isinstance(sort[0], dict):
        raise LookupFailure(400, "sort must be a list with one {field, direction} object")
    spec = sort[0]
    field = spec.get("field")
    name = field.get("field_name") if isinstance(field, dict) else None
    direction = spec.get("direction", "asc")
    if name not in ("display_name", "date_updated", "date_created") or direction not in (
        "asc", "desc"
    ):
        raise LookupFailure(400, "sort supports display_name, date_updated, date_created")

    def key(obj: Obj) -> Any:
        text = str(obj.state.get(name) or "").casefold()
        return _desc(text) if direction == "desc" else (text, obj.id)

    return key


def _desc(text: str) -> tuple[int, ...]:
    """A key that sorts ``text`` descending."""
    return (*(-ord(c) for c in text), 1)


def int_param(params: Mapping[str, str], name: str, default: int, *, lo: int) -> int:
    """An integer query parameter (``_skip``, ``_limit``): ``default`` when absent or
    empty, a 400 when it is no integer or below ``lo``."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise LookupFailure(400, f"{name} must be an integer, got {raw!r}") from None
    if value < lo:
        raise LookupFailure(400, f"{name} must be at least {lo}")
    return value


# ---------------------------------------------------------------------- the directory


def _build(sim: OrgSim) -> _Directory:
    """Memberships, custom fields and statuses consistent with the events.

    Its own random stream (never ``sim.rng``), so the events are untouched.
    """
    rng = random.Random(f"lookups:{sim.seed}")

    def new_id(prefix: str) -> str:
        return prefix + "".join(rng.choices(B62, k=43))

    # Members: the membership events' ids where there are some, made-up ids otherwise.
    membership_ids: dict[str, str] = {}
    finals: dict[str, Json] = {}
    for rec in sim.recs:
        ev = rec.ev
        object_type = ev["object_type"]
        if object_type == "membership" and isinstance(ev.get("data"), dict):
            membership_ids.setdefault(ev["data"]["user_id"], ev["object_id"])
        elif object_type.startswith(("custom_fields.", "status.")):
            finals[ev["object_id"]] = ev  # the last event of an object is its final state
    memberships: list[Json] = []
    inactive: list[Json] = []
    for user in sim.users:
        uid = user["id"]
        membership = {
            "id": membership_ids.get(uid) or new_id("memb_"),
            "organization_id": sim.org_id,
            "user_id": uid,
            "user_full_name": f"{user['first_name']} {user['last_name']}",
            "user_first_name": user["first_name"],
            "user_last_name": user["last_name"],
            "user_email": user["email"],
            "role_id": "admin" if user["role"] == "admin" else "member",
            "date_created": user["date_created"],
        }
        (inactive if uid == sim.left_user else memberships).append(membership)

    def field(fid: str, name: str, kind: str = "text", choices: tuple[str, ...] = ()) -> Json:
        return {
            "id": fid,
            "name": name,
            "type": "choices" if choices else kind,
            "choices": list(choices),
            "accepts_multiple_values": False,
            "organization_id": sim.org_id,
        }

    industry = sim.cf_industry.removeprefix("custom.")
    region = sim.cf_region.removeprefix("custom.")
    deleted = sim.cf_source.removeprefix("custom.")
    custom: dict[str, list[Json]] = {
        "lead": [
            field(industry, "Industry", choices=names.INDUSTRIES),
            field(region, "Region", choices=("EMEA", "NA", "APAC", "LATAM")),
            field(new_id("cf_"), "Employees", "number"),
            field(new_id("cf_"), "Renewal date", "date"),
        ],
        "contact": [field(new_id("cf_"), "Preferred language", choices=("en", "de", "fr"))],
        "opportunity": [field(new_id("cf_"), "Contract value", "number")],
        "activity": [field(new_id("cf_"), "Call outcome", choices=("Booked", "No fit"))],
        "shared": [field(new_id("cf_"), "Plan", choices=("Free", "Pro", "Enterprise"))],
    }
    lead_statuses = [{"id": sid, "label": label, "organization_id": sim.org_id}
                     for sid, label in sim.lead_statuses]
    pipeline_id = new_id("pipe_")
    opp_statuses = [
        {"id": sid, "label": label, "type": kind, "pipeline_id": pipeline_id,
         "organization_id": sim.org_id}
        for sid, label, kind, _conf in sim.opp_statuses
    ]
    # Fields and statuses made through the API during the window (their events say so).
    for object_id, ev in finals.items():
        if ev["action"] == "deleted" or not isinstance(ev.get("data"), dict):
            continue
        object_type = ev["object_type"]
        label = str(ev["data"].get("name") or object_id)
        kind = object_type.partition(".")[2]
        if object_type.startswith("custom_fields.") and kind in custom:
            custom[kind].append(field(object_id, label))
        elif object_type == "status.lead":
            lead_statuses.append({"id": object_id, "label": label, "organization_id": sim.org_id})
        elif object_type == "status.opportunity":
            opp_statuses.append({"id": object_id, "label": label, "type": "active",
                                 "pipeline_id": pipeline_id, "organization_id": sim.org_id})
    return _Directory(memberships, inactive, custom, lead_statuses, opp_statuses, deleted)
