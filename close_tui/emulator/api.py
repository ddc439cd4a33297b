"""The emulated Close API: one HTTP request in, one answer out.

:class:`Emulator` is transport-agnostic: :meth:`Emulator.answer` turns an
``httpx.Request`` into an :class:`Answer` (status, headers, body, or a fault such as a
dropped connection). ``handle``/``handle_async``/``transport`` serve it in-process;
``server.py`` serves the same answers over loopback HTTP.

Behaviour follows ``close-event-api.md``; where Close's docs are silent we pick one
plausible variant and say so in a comment.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import hmac
import json
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx

from close_tui.core import filters, jsonnum
from close_tui.core.dates import format_http_date, parse_api_datetime
from close_tui.emulator.clock import system_clock
from close_tui.emulator.dataset import MS_HOUR, MS_MINUTE, Json, Obj, OrgSim, Rec, Req, to_ms
from close_tui.emulator.lookups import LookupFailure, Lookups, int_param, rate_group
from close_tui.emulator.store import Boundary, EventStore, after, before

API_PREFIX = "/api/v1/"
MAX_LIMIT = 50
DEFAULT_LIMIT = 50
PRIVACY_MS = MS_HOUR
UNLIMITED_RATE = 1000
FAULT_KINDS = ("html502", "503", "drop", "slow", "truncated", "content_type")
_DATE_PARAMS = tuple(f"date_updated__{op}" for op in filters.DATE_OPERATORS)
_CONSOLIDATABLE = ("activity.note", "activity.email", "lead", "contact", "opportunity")


@dataclass
class EmulatorConfig:
    """Knobs of the emulator. Defaults: a quiet, honest server with the default org."""

    seed: int = 7
    now: datetime | None = None
    n_users: int = 8
    n_leads: int = 240
    rate_limit: int | None = None
    rate_window: float = 1.0
    rate_header_style: Literal["comma", "semicolon"] = "comma"
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    slow_seconds: float = 30.0
    empty_page_rate: float = 0.02
    cursor_ttl: float = 900.0
    live: bool = False
    #: Mix in records made to break terminals and parsers (``emulator/hostile.py``).
    hostile: bool = False
    #: Add the deleted leads made for restore (``emulator/deletions.py``).
    deletion_cases: bool = True
    #: "lower" like Close on the wire; "canonical" (``RateLimit``, ``Retry-After``) for tests.
    header_case: Literal["lower", "canonical"] = "lower"
    # --- lookups (``emulator/lookups.py``) ---
    #: Requests per window of one rate-limit group ("events", "search", "other"): a group
    #: not listed here allows ``rate_limit``.
    group_rate_limits: dict[str, int] = field(default_factory=dict)
    #: Limits per endpoint group, each answer's RateLimit describing its own group, as
    #: Close documents (``lookups.rate_group``). Off: one budget per key for everything,
    #: as before — the default until the snapshots that show the rate budget are redone.
    rate_groups: bool = False
    #: Endpoints switched off for every key: name (``lookups.ENDPOINTS``) -> 403/404/405.
    endpoints_off: dict[str, int] = field(default_factory=dict)
    #: Whether ``GET /user/`` lists the deactivated user too (unknown for Close).
    user_list_includes_inactive: bool = True


@dataclass
class LoggedRequest:
    method: str
    path: str
    params: dict[str, str]
    key_kind: str | None
    status: int
    #: The fault injected into this answer, if any (status 0 = no answer at all).
    fault: str | None = None


@dataclass
class Answer:
    """What the server says; ``fault`` "drop"/"slow" mean: no proper answer at all."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    fault: str | None = None


@dataclass
class _Raw:
    """A body already encoded as JSON bytes."""

    payload: bytes


#: An API error answered as ``{"error": message}`` with its status: one kind for the
#: event log and the look-ups alike.
_ApiError = LookupFailure


def _hash01(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts (seeded decisions, no state)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: Any) -> bytes:
    return jsonnum.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Emulator:
    """A faithful, deterministic fake of Close's event log API (and a few lookups)."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config or EmulatorConfig()
        self.clock: Callable[[], datetime] = clock or system_clock
        cfg = self.config
        now = cfg.now if cfg.now is not None else self.clock()
        self._sim = OrgSim(cfg.seed, now, n_users=cfg.n_users, n_leads=cfg.n_leads)
        self._sim.build()
        if cfg.hostile:
            from close_tui.emulator.hostile import add_hostile

            add_hostile(self._sim)
        if cfg.deletion_cases:
            from close_tui.emulator.deletions import add_deletion_cases

            add_deletion_cases(self._sim)
        self.now = now
        self.admin_key = self._sim.admin_key
        self.member_key = self._sim.member_key
        self.organization: Json = self._sim.organization
        self.users: list[Json] = self._sim.users
        self.request_log: list[LoggedRequest] = []
        enabled = gc.isenabled()
        gc.disable()  # same reason as in OrgSim.build: many new long-lived objects
        try:
            self._store = EventStore(self._sim.recs)
        finally:
            if enabled:
                gc.enable()
        self._objects: dict[str, Obj] = {}
        self._lock = threading.RLock()
        self._secret = hashlib.sha256(f"cursor-secret:{cfg.seed}".encode()).digest()
        self._rate: dict[object, tuple[int, int]] = {}
        self.lookups = Lookups(self._sim, cfg, lambda: to_ms(self.clock()))
        self._fault_seen: dict[tuple[object, ...], int] = {}
        self._pending: list[Rec] = []
        self._recent: list[Rec] = []
        self._live_slot = to_ms(now) // 1000

    # ------------------------------------------------------------------ facts for tests

    @property
    def sim(self) -> OrgSim:
        """The simulation behind the data (ids of the merge, bulk actions, keys...)."""
        return self._sim

    @property
    def leads(self) -> dict[str, Json]:
        """Existing leads (deleted and merged-away ones are gone), id -> current state."""
        return {lid: s.lead.state for lid, s in self._sim.lead_sims.items() if not s.deleted}

    def events(self) -> list[Json]:
        """Every currently visible event, newest first, as the admin key sees it.

        Shallow copies: top-level keys are yours; nested ``data`` is shared, don't mutate.
        """
        with self._lock:
            self.advance_live()
            return [dict(rec.ev) for rec in self._store.all]

    def expected(self, params: Mapping[str, str], *, admin: bool = True) -> list[Json]:
        """The truth for a filter (cursor and limit ignored), newest first."""
        with self._lock:
            self.advance_live()
            eq, dates = self._parse_filters(params)
            lo, hi = _date_bounds(dates)
            now_ms = to_ms(self.clock())
            return [self._render(rec, admin, now_ms) for rec in self._store.matching(eq, lo, hi)]

    def event(self, event_id: str) -> Json | None:
        with self._lock:
            self.advance_live()
            rec = self._store.by_id.get(event_id)
            return dict(rec.ev) if rec is not None else None

    # ------------------------------------------------------------------ serving

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer in-process. Faults "drop"/"slow" raise what httpx would raise."""
        ans = self.answer(request)
        if ans.fault == "drop":
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if ans.fault == "slow":
            raise httpx.ReadTimeout("emulated slow answer (no response in time)", request=request)
        return httpx.Response(ans.status, headers=ans.headers, content=ans.body, request=request)

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        if self.config.latency_ms > 0:
            await asyncio.sleep(self.config.latency_ms / 1000)
        return self.handle(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle_async)

    def answer(self, request: httpx.Request) -> Answer:
        """The whole behaviour of the server for one request (thread-safe)."""
        with self._lock:
            return self._answer(request)

    def _answer(self, request: httpx.Request) -> Answer:
        self.advance_live()
        method = request.method.upper()
        path = request.url.path
        params = dict(request.url.params.multi_items())
        key_kind = self._authenticate(request)
        fault = self._pick_fault(method, path, params, key_kind)
        # Limits per key (and per endpoint group with rate_groups); the header says which.
        bucket = (key_kind, rate_group(method, path) if self.config.rate_groups else "all")
        if fault is not None:
            # A faulted request has no effect: it consumes no rate budget, issues nothing.
            ans = self._fault_answer(fault, method, path, params, key_kind, bucket)
            self._log(method, path, params, key_kind, ans.status, fault)
            return ans
        if key_kind is None:
            ans = self._error(
                401,
                "authentication failed: use HTTP Basic with the API key "
                "as username and an empty password",
                bucket,
                count=False,
            )
            self._log(method, path, params, key_kind, ans.status)
            return ans
        allowed, rate_headers, reset = self._rate_check(bucket, count=True)
        if not allowed:
            headers = [*rate_headers, (self._h("Retry-After"), str(max(1, math.ceil(reset))))]
            ans = Answer(429, headers + self._common_json(), _json({"error": "rate limited"}))
            self._log(method, path, params, key_kind, 429)
            return ans
        from close_tui.emulator import writes  # restore's POSTs (lazy: no import cycle)

        routed = writes.answer(self, method, path, params, request.content, key_kind)
        if routed is None:
            routed = self._route(method, path, params, key_kind, request.content)
        ans = routed
        ans.headers = rate_headers + ans.headers
        self._log(method, path, params, key_kind, ans.status)
        return ans

    def _log(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        key_kind: str | None,
        status: int,
        fault: str | None = None,
    ) -> None:
        self.request_log.append(LoggedRequest(method, path, params, key_kind, status, fault))

    # ------------------------------------------------------------------ auth, headers, limits

    def _authenticate(self, request: httpx.Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        key: str | None = None
        if scheme.lower() == "basic":
            try:
                user, _, _password = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            key = user
        elif scheme.lower() == "bearer":
            key = value.strip()
        if key is None:
            return None
        if hmac.compare_digest(key.encode(), self.admin_key.encode()):
            return "admin"
        if hmac.compare_digest(key.encode(), self.member_key.encode()):
            return "member"
        return None

    def _h(self, canonical: str) -> str:
        return canonical if self.config.header_case == "canonical" else canonical.lower()

    def _common_json(self) -> list[tuple[str, str]]:
        return [
            (self._h("Content-Type"), "application/json"),
            (self._h("Date"), format_http_date(self.clock())),
        ]

    def _rate_check(
        self, bucket: tuple[str | None, str], *, count: bool
    ) -> tuple[bool, list[tuple[str, str]], float]:
        """Fixed windows aligned on multiples of ``rate_window`` of the injected clock."""
        cfg = self.config
        configured = cfg.group_rate_limits.get(bucket[1], cfg.rate_limit)  # "all": rate_limit
        limit = configured if configured is not None else UNLIMITED_RATE
        t = self.clock().timestamp()
        window_index = math.floor(t / cfg.rate_window)
        reset = round((window_index + 1) * cfg.rate_window - t, 3)
        if reset <= 0:
            reset = cfg.rate_window
        index, used = self._rate.get(bucket, (window_index, 0))
        if index != window_index:
            used = 0
        allowed = True
        if count:
            if configured is not None and used >= limit:
                allowed = False
            else:
                used += 1
            self._rate[bucket] = (window_index, used)
        remaining = max(0, limit - used)
        reset_text = f"{reset:.3f}".rstrip("0").rstrip(".")
        sep = "; " if cfg.rate_header_style == "semicolon" else ", "
        value = sep.join((f"limit={limit}", f"remaining={remaining}", f"reset={reset_text}"))
        return allowed, [(self._h("RateLimit"), value)], reset

    def _error(
        self, status: int, message: str, bucket: tuple[str | None, str], count: bool
    ) -> Answer:
        _, rate_headers, _ = self._rate_check(bucket, count=count)
        return Answer(status, rate_headers + self._common_json(), _json({"error": message}))

    # ------------------------------------------------------------------ faults

    def _pick_fault(
        self, method: str, path: str, params: dict[str, str], key_kind: str | None
    ) -> str | None:
        """Seeded and per-request-shape: the n-th identical request gets the same fate in
        every run, whatever other requests were interleaved (parallel clients stay
        reproducible), and a retry is a fresh draw."""
        cfg = self.config
        if cfg.fault_rate <= 0 or not cfg.fault_kinds:
            return None
        fingerprint = (method, path, tuple(sorted(params.items())), key_kind)
        nth = self._fault_seen.get(fingerprint, 0)
        self._fault_seen[fingerprint] = nth + 1
        if _hash01(cfg.seed, "fault", fingerprint, nth) >= cfg.fault_rate:
            return None
        pick = _hash01(cfg.seed, "fault-kind", fingerprint, nth)
        return cfg.fault_kinds[int(pick * len(cfg.fault_kinds))]

    def _fault_answer(
        self,
        fault: str,
        method: str,
        path: str,
        params: dict[str, str],
        key_kind: str | None,
        bucket: tuple[str | None, str],
    ) -> Answer:
        _, rate_headers, _ = self._rate_check(bucket, count=False)
        date = (self._h("Date"), format_http_date(self.clock()))
        if fault in ("drop", "slow"):
            return Answer(0, fault=fault)
        if fault == "html502":
            body = (
                b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
            )
            return Answer(
                502, [*rate_headers, (self._h("Content-Type"), "text/html"), date], body, fault
            )
        if fault == "503":
            return Answer(
                503,
                rate_headers + self._common_json(),
                _json({"error": "Service temporarily unavailable"}),
                fault,
            )
        if fault == "content_type":
            return Answer(
                200,
                [*rate_headers, (self._h("Content-Type"), "text/plain"), date],
                b"upstream said: \x00\x01 garbage, not JSON",
                fault,
            )
        # truncated: the real answer, cut in the middle (computed without side effects).
        real = self._route(method, path, params, key_kind) if key_kind else None
        body = real.body if real is not None else _json({"error": "authentication failed"})
        return Answer(
            200, rate_headers + self._common_json(), body[: max(1, len(body) // 2)], fault
        )

    # ------------------------------------------------------------------ routing

    def _route(
        self, method: str, path: str, params: dict[str, str], key_kind: str, content: bytes = b""
    ) -> Answer:
        try:
            if not path.startswith(API_PREFIX):
                raise _ApiError(404, "not found")
            # Lookups: organization, custom fields, statuses, POST /data/search/, and the
            # endpoint switches (emulator/lookups.py).
            looked_up = self.lookups.route(method, path[len(API_PREFIX) : -1].split("/"),
                                           params, content) if path.endswith("/") else None
            if looked_up is not None:
                return Answer(looked_up[0], self._common_json(), _json(looked_up[1]))
            if method != "GET":
                raise _ApiError(405, f"method {method} not allowed (this emulator is read-only)")
            parts = path[len(API_PREFIX) :].split("/")
            if parts[-1] != "":
                raise _ApiError(404, "not found (Close paths end with '/')")
            parts = parts[:-1]
            body: Json | _Raw
            if parts == ["event"]:
                body = self._list_events(params, key_kind)
            elif len(parts) == 2 and parts[0] == "event":
                body = self._one_event(parts[1], key_kind)
            elif parts == ["me"]:
                body = self._me(key_kind)
            elif parts == ["user"]:
                body = self._user_list(params)
            elif len(parts) == 2 and parts[0] == "user":
                body = self._one_user(parts[1])
            elif len(parts) == 2 and parts[0] == "lead":
                body = self._one_lead(parts[1], params)
            else:
                raise _ApiError(404, "not found")
        except _ApiError as exc:
            return Answer(exc.status, self._common_json(), _json({"error": exc.message}))
        raw = body.payload if isinstance(body, _Raw) else _json(body)
        return Answer(200, self._common_json(), raw)

    def _me(self, key_kind: str) -> Json:
        uid = self._sim.admin_user if key_kind == "admin" else self._sim.member_user
        user = dict(next(u for u in self.users if u["id"] == uid))
        user["organizations"] = [{"id": self.organization["id"], "name": self.organization["name"]}]
        return user

    def _user_list(self, params: Mapping[str, str]) -> Json:
        skip = int_param(params, "_skip", 0, lo=0)
        limit = min(int_param(params, "_limit", 100, lo=1), 100)
        users = self.lookups.users_listed()
        page = users[skip : skip + limit]
        return {"data": page, "has_more": skip + limit < len(users)}

    def _one_user(self, user_id: str) -> Json:
        for user in self.users:
            if user["id"] == user_id:
                return user
        raise _ApiError(404, f"user {user_id} not found")

    def _one_lead(self, lead_id: str, params: Mapping[str, str]) -> Json:
        sim = self._sim.lead_sims.get(lead_id)
        if sim is None or sim.deleted:
            raise _ApiError(404, "Lead not found")
        state = sim.lead.state
        fields_param = params.get("_fields", "")
        if fields_param:
            wanted = [f.strip() for f in fields_param.split(",") if f.strip()]
            return {f: state[f] for f in wanted if f in state}
        return dict(state)

    def _one_event(self, event_id: str, key_kind: str) -> _Raw:
        rec = self._store.by_id.get(event_id)
        if rec is None:
            raise _ApiError(404, f"event {event_id} not found")
        # The same bytes as in a page (cached; a hostile event's literal form kept).
        return _Raw(self._encoded(rec, key_kind == "admin", to_ms(self.clock())))

    def _render(self, rec: Rec, admin: bool, now_ms: int) -> Json:
        """The privacy rule: a non-admin key sees ``data``/``previous_data`` only while
        the event is younger than an hour (age from ``date_created``, our choice: the
        docs say "younger than one hour"); older events come without those keys."""
        ev = rec.ev
        if admin or now_ms - rec.created_ms <= PRIVACY_MS:
            return dict(ev)
        return {k: v for k, v in ev.items() if k != "data" and k != "previous_data"}

    # ------------------------------------------------------------------ the event log

    def _parse_filters(self, params: Mapping[str, str]) -> tuple[dict[str, str], dict[str, int]]:
        eq: dict[str, str] = {f: params[f] for f in filters.FILTER_FIELDS if params.get(f)}
        dates: dict[str, int] = {}
        for name in _DATE_PARAMS:
            raw = params.get(name)
            if raw:
                try:
                    when = parse_api_datetime(raw)
                except ValueError:
                    raise _ApiError(
                        400, f"{name}: cannot parse {raw!r} as an ISO date or date-time"
                    ) from None
                dates[name] = _to_us(when)
        return eq, dates

    def _list_events(self, params: Mapping[str, str], key_kind: str) -> Json | _Raw:
        cfg = self.config
        if "_skip" in params:
            raise _ApiError(
                400,
                "_skip is not supported by /event/: page with _cursor "
                "(cursor_next / cursor_previous)",
            )
        limit = min(int_param(params, "_limit", DEFAULT_LIMIT, lo=1), MAX_LIMIT)
        eq, dates = self._parse_filters(params)
        if not filters.is_supported(eq):
            raise _ApiError(400, filters.unsupported_message(eq))
        fhash = hashlib.sha256(_json(sorted(eq.items()))).hexdigest()[:16]
        now_ms = to_ms(self.clock())
        boundary: Boundary | None = None
        older = True
        attempt = 0
        raw_cursor = params.get("_cursor", "")
        if raw_cursor:
            cur = self._read_cursor(raw_cursor, now_ms)
            if cur["f"] != fhash:
                raise _ApiError(
                    400,
                    "this cursor belongs to other filters: send the same "
                    "filters again with _cursor",
                )
            cursor_dates = {k: int(v) for k, v in cur["r"].items()}
            if dates and dates != cursor_dates:
                raise _ApiError(
                    400,
                    "this cursor belongs to another date_updated range: send "
                    "the same range again, or none",
                )
            dates = cursor_dates
            boundary = (int(cur["b"][0]), int(cur["b"][1]))
            older = cur["d"] == "n"
            attempt = int(cur["a"])
        lo, hi = _date_bounds(dates)
        admin = key_kind == "admin"
        # Close sometimes answers a page short, or empty, yet with a cursor to go on:
        # seeded per position so runs are reproducible, and never twice in a row.
        roll = (
            _hash01(cfg.seed, "page", fhash, boundary, older, attempt)
            if boundary is not None and attempt < 2
            else 1.0
        )
        empty = roll < cfg.empty_page_rate
        short = not empty and roll < 2 * cfg.empty_page_rate
        effective = max(1, limit // 3) if short else limit
        page, has_older, has_newer = self._store.select(eq, lo, hi, boundary, older, effective)
        if empty and page and boundary is not None:
            # The withheld page proves its own side is non-empty.
            has_older = has_older or older
            has_newer = has_newer or not older
            return {
                "data": [],
                "cursor_next": self._cursor(boundary, "n", fhash, dates, now_ms, attempt + 1)
                if has_older
                else None,
                "cursor_previous": self._cursor(boundary, "p", fhash, dates, now_ms, attempt + 1)
                if has_newer
                else None,
            }
        cursor_next = cursor_previous = None
        if page:
            if has_older:
                cursor_next = self._cursor(after(page[-1]), "n", fhash, dates, now_ms, 0)
            if has_newer:
                cursor_previous = self._cursor(before(page[0]), "p", fhash, dates, now_ms, 0)
        elif boundary is not None:
            # Nothing on this side any more: still let the client walk back the other way.
            if older and has_newer:
                cursor_previous = self._cursor(boundary, "p", fhash, dates, now_ms, 0)
            if not older and has_older:
                cursor_next = self._cursor(boundary, "n", fhash, dates, now_ms, 0)
        return _Raw(
            b'{"data":['
            + b",".join(self._encoded(rec, admin, now_ms) for rec in page)
            + b'],"cursor_next":'
            + _json(cursor_next)
            + b',"cursor_previous":'
            + _json(cursor_previous)
            + b"}"
        )

    def _encoded(self, rec: Rec, admin: bool, now_ms: int) -> bytes:
        """The event's JSON; the full form is encoded once per version and cached
        (JSON encoding was half the cost of serving a page)."""
        if admin or now_ms - rec.created_ms <= PRIVACY_MS:
            if rec.blob is None:
                rec.blob = _json(rec.ev)
            return rec.blob
        return _json(self._render(rec, False, now_ms))

    def _cursor(
        self,
        boundary: Boundary,
        direction: str,
        fhash: str,
        dates: dict[str, int],
        now_ms: int,
        attempt: int,
    ) -> str:
        """Opaque, tamper-proof: base64url(JSON) + "." + truncated HMAC.

        The boundary is a *position* in (date_updated, seq) order, not an offset, so
        events arriving in live mode never shift the next page.
        """
        payload = _json(
            {"b": list(boundary), "d": direction, "f": fhash, "r": dates, "t": now_ms, "a": attempt}
        )
        sig = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
        return _b64(payload) + "." + _b64(sig)

    def _read_cursor(self, token: str, now_ms: int) -> Json:
        invalid = _ApiError(400, "invalid or expired cursor")
        try:
            body, _, sig = token.partition(".")
            payload = _unb64(body)
            good = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
            if not hmac.compare_digest(good, _unb64(sig)):
                raise invalid
            cur: Json = json.loads(payload)
            issued = int(cur["t"])
        except (ValueError, KeyError, TypeError):
            raise invalid from None
        if now_ms - issued > self.config.cursor_ttl * 1000:
            raise invalid
        return cur

    # ------------------------------------------------------------------ live mode

    def advance_live(self) -> None:
        """Bring the live dataset up to ``clock()``: new, late and consolidated events."""
        if not self.config.live:
            return
        with self._lock:
            now_ms = to_ms(self.clock())
            # Only whole seconds that are over: each slot's outcome then depends on the
            # seed and the slot alone, not on how often the clock was polled.
            target = (now_ms - 999) // 1000
            sim = self._sim
            for slot in range(self._live_slot + 1, target + 1):
                new = sim.live_step(slot)
                self._pending.extend(new)
                self._release(slot * 1000 + 999)
                if sim.rng.random() < 0.2:
                    self._consolidate_one(slot * 1000 + sim.rng.randint(0, 999))
            self._live_slot = max(self._live_slot, target)
            self._release(now_ms)

    def _release(self, until_ms: int) -> None:
        if not self._pending:
            return
        keep: list[Rec] = []
        for rec in self._pending:
            if rec.visible_ms <= until_ms and rec.ms <= until_ms:
                self._store.insert(rec)
                if rec.ev["action"] == "updated" and rec.ev["object_type"] in _CONSOLIDATABLE:
                    self._recent.append(rec)
            else:
                keep.append(rec)
        self._pending = keep

    def _consolidate_one(self, ms: int) -> None:
        """Fold one more edit into a recent visible update (same id, newer date_updated)."""
        self._recent = [r for r in self._recent if ms - r.created_ms <= 3 * MS_MINUTE]
        sim = self._sim
        for rec in reversed(self._recent):
            obj = self._object_of(rec)
            if obj is None or obj.last is not rec or ms <= rec.ms:
                continue
            ev = rec.ev
            key = {
                "activity.note": "note",
                "activity.email": "body_text",
                "lead": "description",
                "contact": "title",
                "opportunity": "note",
            }[obj.type]
            text = str(obj.state.get(key) or "")
            value = text + " " + sim.rng.choice(("Updated.", "Also: call back.", "See above."))
            req = Req(ev["request_id"], ev["user_id"], ev["api_key_id"], ev["meta"])
            self._store.remove(rec)
            sim.update(obj, ms, req, {key: value.strip()[-1500:]}, consolidate=True)
            self._store.insert(rec)
            return

    def _object_of(self, rec: Rec) -> Obj | None:
        oid = rec.ev["object_id"]
        obj = self._objects.get(oid)
        if obj is not None:
            return obj
        sim = self._sim.lead_sims.get(rec.ev["lead_id"] or "")
        if sim is None:
            return None
        candidates = [sim.lead, *sim.children]
        for candidate in candidates:
            if candidate.id == oid:
                self._objects[oid] = candidate
                return candidate
        return None


def _to_us(when: datetime) -> int:
    delta = when - datetime(1970, 1, 1, tzinfo=when.tzinfo)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _date_bounds(dates: Mapping[str, int]) -> tuple[int | None, int | None]:
    """``date_updated__*`` in microseconds -> inclusive bounds on millisecond timestamps."""
    lo: int | None = None
    hi: int | None = None

    def tighten_lo(value: int) -> None:
        nonlocal lo
        lo = value if lo is None else max(lo, value)

    def tighten_hi(value: int) -> None:
        nonlocal hi
        hi = value if hi is None else min(hi, value)

    for name, us in dates.items():
        op = name.rsplit("__", 1)[1]
        if op == "gt":
            tighten_lo(us // 1000 + 1)
        elif op == "gte":
            tighten_lo(-(-us // 1000))
        elif op == "lt":
            tighten_hi(-(-us // 1000) - 1)
        elif op == "lte":
            tighten_hi(us // 1000)
    return lo, hi
