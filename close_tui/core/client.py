"""The async client of Close's API, shaped around the event log.

What it promises, and why:

* **Credentials stay put.** Basic auth (key as username, empty password) or a Bearer
  token; plain ``http://`` is refused unless the host is loopback, so a key never crosses
  a network in clear text. Redirects are followed (a base URL typo that the server fixes
  with a redirect still works), and httpx drops ``Authorization`` whenever a redirect
  leaves the origin, so another host never sees the key. Error messages and ``repr``
  are scrubbed of the key and token.
* **The event log's paging rules.** Never ``_skip``; ``_limit`` clamped to 50; filters
  re-sent with every ``_cursor``; cursors opaque; only a ``null`` ``cursor_next`` ends the
  log (empty or short pages in the middle are normal). A cursor the server refuses
  (``400``) is recovered from by re-querying up to the last ``date_updated`` seen and
  dropping the ids already yielded at that instant, so nothing is lost or duplicated.
* **Transient failures are retried, permanent ones are typed.** GETs are retried on
  connection errors, timeouts, ``500/502/503/504`` and unreadable ``200`` bodies, with
  capped exponential backoff and jitter; ``429`` waits for the server's ``RateLimit``
  ``reset`` (else ``Retry-After``). Everything else becomes a :mod:`close_tui.core.errors`
  class the UI can act on.
* **Time is injected.** ``sleep``, ``rng`` and ``monotonic`` are parameters, so tests of
  backoff run in milliseconds and assert the exact delays.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from close_tui.core import jsonnum
from close_tui.core.errors import (
    AuthError,
    BadRequest,
    CloseError,
    InsecureURL,
    NetworkError,
    NotFound,
    ProtocolError,
    RateLimited,
    ServerError,
    WriteUncertain,
)
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event, EventPage
from close_tui.core.ratelimit import RateLimit, parse_http_date, parse_ratelimit, parse_retry_after
from close_tui.core.retries import RetryListener, RetryListeners, RetryNotice, RetryReason
from close_tui.core.sanitize import visible

DEFAULT_BASE_URL: Final = "https://api.close.com/api/v1"
#: The event endpoint's page size cap (and default).
MAX_PAGE_SIZE: Final = 50
#: 5xx answers that are usually a deploy, a proxy or an overload, worth another try.
RETRYABLE_STATUSES: Final = frozenset({500, 502, 503, 504})
_MAX_DETAIL_CHARS: Final = 300
_USER_AGENT: Final = "close-tui"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up.

    ``max_attempts`` counts the first try. The backoff before retry *n* is
    ``min(max_delay, base_delay * 2**(n-1))``; ``jitter`` is the fraction of it that is
    randomised (0.5 = "equal jitter", 1.0 = "full jitter"), so many clients hit by the
    same outage do not retry in lockstep. A ``429`` waits what the server asks instead,
    unless that is more than ``max_rate_limit_wait``: then :class:`RateLimited` is raised
    at once, since blocking a UI for minutes is worse than telling the user.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5
    max_rate_limit_wait: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, failed_attempt: int, rng: random.Random) -> float:
        """Seconds to wait after the ``failed_attempt``-th try (1-based) failed."""
        exponent = min(max(failed_attempt - 1, 0), 62)  # keep 2**n a sane float
        capped = min(self.max_delay, self.base_delay * float(2**exponent))
        randomised = capped * self.jitter
        return capped - randomised + rng.uniform(0.0, randomised)


def clamp_limit(limit: int) -> int:
    """A page size the event endpoint accepts: 1..50."""
    return max(1, min(int(limit), MAX_PAGE_SIZE))


def _is_loopback(host: str) -> bool:
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> str:
    """The base URL without a trailing slash, or :class:`InsecureURL`.

    Plain ``http`` is only allowed to loopback (the emulator, a local proxy); a URL that
    embeds credentials is refused because it would end up in reprs and logs.
    """
    try:
        url = httpx.URL(base_url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise InsecureURL(f"invalid base URL {base_url!r}") from exc
    if url.userinfo:
        raise InsecureURL("the base URL must not contain credentials; use api_key instead")
    if url.scheme not in ("http", "https") or not url.host:
        raise InsecureURL(f"base URL must be https://host/...: {url.copy_with(query=None)}")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise InsecureURL(
            f"refusing plain http to {url.host}: credentials would travel unencrypted "
            "(use https, or http only to 127.0.0.1/localhost)"
        )
    return str(url).rstrip("/")


class _UnreadableBody(Exception):
    """A 2xx body that is not JSON: retried like a transient failure (it is usually a
    truncated transfer or a proxy page), then reported as :class:`ProtocolError`."""


def _content_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";")[0].strip().lower()


def _decode_json(response: httpx.Response) -> Any:
    ctype = _content_type(response)
    if ctype and "json" not in ctype:
        raise _UnreadableBody(f"non-JSON body: {visible(ctype)[:60]}")
    try:
        return jsonnum.loads(response.content)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise _UnreadableBody(
            f"invalid JSON ({len(response.content)} bytes; truncated or malformed)"
        ) from exc


def _clip(text: str) -> str:
    text = visible(text)
    return text if len(text) <= _MAX_DETAIL_CHARS else text[: _MAX_DETAIL_CHARS - 1] + "…"


def _error_detail(response: httpx.Response) -> tuple[str, dict[str, str]]:
    """The server's explanation as a message suffix, plus any per-field errors.

    Handles ``{"error": ...}``, ``{"errors": [...], "field-errors": {...}}``, other JSON,
    an empty body, and non-JSON bodies (an HTML 502 page from a proxy).
    """
    if not response.content.strip():
        return "", {}
    try:
        body = _decode_json(response)
    except _UnreadableBody:
        ctype = _content_type(response) or "no content type"
        return f" (non-JSON body: {visible(ctype)[:60]})", {}
    field_errors: dict[str, str] = {}
    parts: list[str] = []
    if isinstance(body, dict):
        error = body.get("error")
        if error:
            parts.append(error if isinstance(error, str) else jsonnum.dumps(error))
        errors = body.get("errors")
        if isinstance(errors, list):
            parts.extend(e if isinstance(e, str) else jsonnum.dumps(e) for e in errors if e)
        elif errors:
            parts.append(jsonnum.dumps(errors))
        raw_fields = body.get("field-errors")
        if isinstance(raw_fields, dict):
            for name, message in raw_fields.items():
                text = message if isinstance(message, str) else jsonnum.dumps(message)
                field_errors[visible(str(name))] = _clip(text)
                parts.append(f"{name}: {text}")
    if not parts:
        parts.append(jsonnum.dumps(body, separators=(",", ":")))
    return ": " + _clip("; ".join(parts)), field_errors


class CloseClient:
    """Talks to one Close API base URL with one credential. Use as an async context
    manager, or call :meth:`aclose`.

    Before each wait the client sends a :class:`RetryNotice` to every listener in
    :attr:`retry_listeners` (``on_retry`` given here is simply the first one), so a status
    bar can say "retrying in 3 s (HTTP 503)" and the exporter can pause its pacer on a 429,
    both at once.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy = RetryPolicy(),  # frozen, so one shared default is safe
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        on_retry: RetryListener | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url: str = check_base_url(base_url)
        if api_key is not None and access_token is not None:
            raise ValueError("give either api_key or access_token, not both")
        headers = {"Accept": "application/json", "User-Agent": _USER_AGENT}
        self._secrets: tuple[str, ...] = ()
        if api_key is not None:
            if not api_key.strip():
                raise ValueError("the API key is empty")
            basic = base64.b64encode(f"{api_key}:".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {basic}"
            self._secrets = (api_key, basic)
            self._auth_kind = "api_key"
        elif access_token is not None:
            if not access_token.strip():
                raise ValueError("the access token is empty")
            headers["Authorization"] = f"Bearer {access_token}"
            self._secrets = (access_token,)
            self._auth_kind = "bearer"
        else:
            self._auth_kind = "none"
        self._retry = retry
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self.retry_listeners = RetryListeners()
        if on_retry is not None:
            self.retry_listeners.add(on_retry)
        self._monotonic = monotonic
        # trust_env keeps HTTP(S)_PROXY/NO_PROXY and SSL_CERT_FILE/DIR working; httpx
        # ignores env proxies when an explicit transport is given, so tests stay in-process.
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            transport=transport,
            trust_env=True,
            follow_redirects=True,
        )
        self.rate_limit: RateLimit | None = None
        self.last_event_query: str = ""
        self._server_date: datetime | None = None
        self._server_date_seen_at: float = 0.0

    # ------------------------------------------------------------------ lifecycle

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> CloseClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"CloseClient(base_url={self.base_url!r}, auth={self._auth_kind!r})"

    __str__ = __repr__

    @property
    def auth_kind(self) -> str:
        """``"api_key"``, ``"bearer"`` or ``"none"``."""
        return self._auth_kind

    # ------------------------------------------------------------------ observed state

    def server_time(self) -> datetime | None:
        """The server's clock now: its last ``Date`` header plus the monotonic time since.

        ``None`` until a response with a readable ``Date`` arrived. Follow mode uses it
        for the "last five minutes" window so a skewed local clock does not miss events.
        """
        if self._server_date is None:
            return None
        elapsed = max(0.0, self._monotonic() - self._server_date_seen_at)
        return self._server_date + timedelta(seconds=elapsed)

    def _observe(self, response: httpx.Response) -> None:
        now = self._monotonic()
        limit = parse_ratelimit(response.headers, now=now)
        if limit is not None:
            self.rate_limit = limit
        server_date = parse_http_date(response.headers.get("date"))
        if server_date is not None:
            self._server_date = server_date
            self._server_date_seen_at = now

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # ------------------------------------------------------------------ core request

    def _url(self, path: str) -> str:
        if "://" in path:
            raise ValueError("pass a path relative to the base URL, not a full URL")
        relative = path.lstrip("/")
        if not relative.endswith("/") and "?" not in relative:
            relative += "/"  # every Close path ends with a slash; avoid a redirect
        return f"{self.base_url}/{relative}"

    async def _get(
        self,
        url: str,
        params: Mapping[str, str] | None,
        on_request: Callable[[httpx.Request], None] | None = None,
    ) -> Any:
        """GET ``url`` and return its decoded JSON, retrying what is worth retrying."""
        return await self._send("GET", url, params, on_request=on_request)

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        *,
        json_body: Any = None,
        on_request: Callable[[httpx.Request], None] | None = None,
    ) -> Any:
        """Send one request and return its decoded JSON, retrying what is safe to retry.

        GET is retried on every transient failure. Any other method is a write: it is
        retried only when the server surely did not act on it (the connection was never
        made, or a 429 refused it); every other failure after the request may have
        reached the server raises :class:`WriteUncertain`, never a blind second send.
        """
        policy = self._retry
        idempotent = method == "GET"
        attempt = 0
        while True:
            attempt += 1
            content = None if json_body is None else jsonnum.dumps(json_body).encode()
            request = self._http.build_request(
                method,
                url,
                params=params,
                content=content,
                headers=None if content is None else {"Content-Type": "application/json"},
            )
            if on_request is not None:
                on_request(request)
            what = f"{method} {request.url.path}"
            failure: CloseError
            try:
                response = await self._http.send(request)
            except httpx.TimeoutException as exc:
                self._raise_if_write_uncertain(idempotent, what, exc)
                failure = NetworkError(self._scrub(f"timeout ({type(exc).__name__}) on {what}"))
                failure.__cause__ = exc
                reason, detail = RetryReason.TIMEOUT, "timeout"
                delay = policy.backoff(attempt, self._rng)
            except httpx.TransportError as exc:
                self._raise_if_write_uncertain(idempotent, what, exc)
                detail = self._scrub(visible(str(exc)))[:200] or type(exc).__name__
                failure = NetworkError(f"network error on {what}: {detail}")
                failure.__cause__ = exc
                reason = RetryReason.NETWORK
                detail = f"network error ({type(exc).__name__})"
                delay = policy.backoff(attempt, self._rng)
            except httpx.TooManyRedirects as exc:
                raise ProtocolError(f"too many redirects on {what}") from exc
            except httpx.DecodingError as exc:
                if not idempotent:  # the server answered 2xx: it acted; never resend
                    raise WriteUncertain(f"undecodable answer to {what}: it may have been "
                                         "applied") from exc
                failure = ProtocolError(f"undecodable response body on {what}")
                failure.__cause__ = exc
                reason, detail = RetryReason.UNREADABLE, "undecodable response"
                delay = policy.backoff(attempt, self._rng)
            else:
                self._observe(response)
                status = response.status_code
                if 200 <= status < 300:
                    try:
                        return _decode_json(response)
                    except _UnreadableBody as exc:
                        if not idempotent:  # a 2xx: the write happened; never resend it
                            raise WriteUncertain(
                                f"unreadable answer {status} to {what}: it was applied, but "
                                f"its result is unknown ({exc})",
                                status=status,
                            ) from exc
                        failure = ProtocolError(
                            f"unusable response {status} on {what} ({exc})", status=status
                        )
                        reason, detail = RetryReason.UNREADABLE, "unreadable response"
                        delay = policy.backoff(attempt, self._rng)
                elif status == 429:
                    failure, wait = self._rate_limited(response)
                    reason, detail = RetryReason.RATE_LIMITED, "rate limited (429)"
                    if wait is None:
                        delay = policy.backoff(attempt, self._rng)
                    elif wait > policy.max_rate_limit_wait:
                        raise failure
                    else:
                        delay = wait
                elif status in RETRYABLE_STATUSES and not idempotent:
                    raise WriteUncertain(
                        f"{what} answered {status}: it may have been applied"
                        f"{self._scrub(_error_detail(response)[0])}",
                        status=status,
                    )
                elif status in RETRYABLE_STATUSES:
                    failure = self._error_for(response)
                    reason, detail = RetryReason.SERVER_ERROR, f"HTTP {status}"
                    delay = policy.backoff(attempt, self._rng)
                else:
                    raise self._error_for(response)
            if attempt >= policy.max_attempts:
                raise failure
            self.retry_listeners.notify(
                RetryNotice(reason=reason, attempt=attempt, delay=delay,
                            status=failure.status, detail=detail)
            )
            await self._sleep(delay)

    def _raise_if_write_uncertain(self, idempotent: bool, what: str, exc: Exception) -> None:
        """A write that failed after the connection was made may have been applied."""
        if idempotent or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return  # a GET, or nothing reached the server: safe to retry
        raise WriteUncertain(
            self._scrub(f"no answer to {what} ({type(exc).__name__}): it may have been applied")
        ) from exc

    def _rate_limited(self, response: httpx.Response) -> tuple[RateLimited, float | None]:
        """The error to raise if we give up, and how long the server asks us to wait."""
        limit = parse_ratelimit(response.headers, now=self._monotonic())
        wait: float | None = None
        if limit is not None and limit.reset is not None:
            wait = limit.reset  # precise; Retry-After is the same rounded up
        else:
            # Read an HTTP-date against the server's own clock when it sent one.
            now_utc = parse_http_date(response.headers.get("date")) or datetime.now(UTC)
            wait = parse_retry_after(response.headers.get("retry-after"), now_utc=now_utc)
        detail, _ = _error_detail(response)
        hint = f"; retry in {wait:.1f} s" if wait is not None else ""
        error = RateLimited(
            self._scrub(f"rate limited 429{hint}{detail}"),
            rate_limit=limit or self.rate_limit,
            retry_after=wait,
        )
        return error, wait

    def _error_for(self, response: httpx.Response) -> CloseError:
        status = response.status_code
        detail, field_errors = _error_detail(response)
        detail = self._scrub(detail)
        if status == 400:
            return BadRequest(f"bad request 400{detail}", field_errors=field_errors)
        if status == 401:
            return AuthError(f"authentication failed 401{detail}", status=status)
        if status == 403:
            return AuthError(f"permission denied 403{detail}", status=status)
        if status == 404:
            return NotFound(f"not found 404{detail}", status=status)
        if status == 429:
            return self._rate_limited(response)[0]
        if status >= 500:
            return ServerError(f"server error {status}{detail}", status=status)
        return CloseError(f"HTTP {status}{detail}", status=status)

    # ------------------------------------------------------------------ public API

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET any API path (``/user/``, ``/lead/{id}/``) with the same retries and errors."""
        return await self._get(self._url(path), params)

    async def post_json(self, path: str, body: Any) -> Any:
        """POST a JSON body to an API path (``/lead/``, ``/data/search/``).

        Retried only where the server surely did not act (no connection, 429); an outcome
        that is unknown raises :class:`WriteUncertain` (see :meth:`_send`). A search is a
        POST too: callers for whom repeating is harmless may catch that and ask again.
        """
        return await self._send("POST", self._url(path), None, json_body=body)

    async def me(self) -> dict[str, Any]:
        """The user the credential belongs to: the usual check that a key works."""
        body = await self.get_json("me/")
        if not isinstance(body, dict):
            raise ProtocolError("unexpected response shape from /me/: not an object")
        return body

    async def get_event(self, event_id: str) -> Event:
        """One event by id; :class:`NotFound` if unknown or older than 30 days."""
        if not event_id or event_id in (".", ".."):
            raise ValueError("empty event id")
        body = await self.get_json(f"event/{quote(event_id, safe='')}/")
        if not isinstance(body, dict):
            raise ProtocolError("unexpected response shape for an event: not an object")
        try:
            return Event.model_validate(body)
        except ValidationError as exc:
            raise ProtocolError(_shape_message("an event", exc)) from exc

    def event_params(
        self, flt: EventFilter, cursor: str | None = None, limit: int = MAX_PAGE_SIZE
    ) -> dict[str, str]:
        """The exact query of one event-list request: filters, ``_limit``, ``_cursor``.

        Filters are always re-sent with a cursor; ``_skip`` never appears.
        """
        params = flt.to_params()
        params["_limit"] = str(clamp_limit(limit))
        if cursor:
            params["_cursor"] = cursor
        return params

    async def list_page(
        self, flt: EventFilter, cursor: str | None = None, limit: int = MAX_PAGE_SIZE
    ) -> EventPage:
        """One page of events (newest first). Pass a page's ``cursor_next`` for older
        events or its ``cursor_previous`` for newer ones."""
        flt.validate()
        params = self.event_params(flt, cursor, limit)
        body = await self._get(self._url("event/"), params, self._remember_event_query)
        return _parse_page(body)

    def _remember_event_query(self, request: httpx.Request) -> None:
        self.last_event_query = request.url.query.decode("ascii", "replace")

    def pager(self, flt: EventFilter, limit: int = MAX_PAGE_SIZE) -> EventPager:
        """A cursor pager over ``flt`` (validated now, before any request)."""
        return EventPager(self, flt, limit)

    async def iter_events(
        self, flt: EventFilter, *, limit: int = MAX_PAGE_SIZE, max_events: int | None = None
    ) -> AsyncGenerator[Event, None]:
        """Every event of ``flt``, newest first, streamed page by page (nothing is kept).

        An async generator (an ``AsyncIterator``): ``aclose()`` it when stopping early.
        """
        flt.validate()
        if max_events is not None and max_events <= 0:
            return
        page_size = min(limit, max_events) if max_events is not None else limit
        pager = self.pager(flt, page_size)
        count = 0
        while not pager.exhausted:
            for event in await pager.next_page():
                yield event
                count += 1
                if max_events is not None and count >= max_events:
                    return


def _shape_message(what: str, exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return _clip(f"unexpected response shape for {what}")
    where = ".".join(str(p) for p in errors[0]["loc"])
    return _clip(f"unexpected response shape for {what}: {where}: {errors[0]['msg']}")


def _parse_page(body: Any) -> EventPage:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ProtocolError("unexpected response shape for an event page: no 'data' list")
    try:
        return EventPage.model_validate(body)
    except ValidationError as exc:
        raise ProtocolError(_shape_message("an event page", exc)) from exc


class ResumePoint:
    """How far a cursor walk has got, so a refused cursor can be resumed without it.

    Cursors expire; when one is refused, the walk restarts with no cursor and an upper
    bound at the oldest ``date_updated`` already returned (or the filter's own bound, if
    tighter). Events at exactly that instant come again, so the ids already returned
    there are remembered and dropped. Shared by :class:`EventPager` and the exporter's
    window pagers, so both recover the same way.
    """

    __slots__ = ("ids_at_oldest", "oldest")

    def __init__(self) -> None:
        self.oldest: datetime | None = None
        self.ids_at_oldest: set[str] = set()

    def keep_unseen(self, events: list[Event]) -> list[Event]:
        """``events`` minus those returned before a recovery; advances the point."""
        fresh: list[Event] = []
        for event in events:
            when = event.date_updated
            oldest = self.oldest
            if oldest is not None and when == oldest and event.id in self.ids_at_oldest:
                continue  # already returned before a cursor recovery
            fresh.append(event)
            if oldest is None or when < oldest:
                self.oldest = when
                self.ids_at_oldest = {event.id}
            elif when == oldest:
                self.ids_at_oldest.add(event.id)
        return fresh

    def resume_filter(self, base: EventFilter) -> EventFilter:
        """``base`` narrowed to resume after what was returned (``base`` if nothing was)."""
        last = self.oldest
        if last is None:
            return base  # nothing returned yet: start over
        # The new upper bound is min(original bound, last seen); an original exclusive
        # bound survives only if it is still the tighter one.
        lte = last if base.date_updated__lte is None else min(base.date_updated__lte, last)
        lt = base.date_updated__lt
        if lt is not None and lt > lte:
            lt = None
        return base.replace(date_updated__lte=lte, date_updated__lt=lt)


class EventPager:
    """Pages one filter by cursor: :meth:`next_page` returns the next page's events
    (possibly empty while more remain); callers loop while not :attr:`exhausted`.

    When the server refuses a cursor (``400`` on a request that carried one — cursors
    expire), the pager resumes without it: the filter's upper bound becomes the oldest
    ``date_updated`` already seen (or the original bound if that is tighter), and the ids
    already yielded at exactly that instant are dropped. A refusal with no progress since
    the previous recovery, or a refused recovery query, raises :class:`BadRequest`, so it
    never loops forever. One call at a time.
    """

    def __init__(self, client: CloseClient, flt: EventFilter, limit: int = MAX_PAGE_SIZE):
        self.filter: EventFilter = flt.validate()
        self.limit = clamp_limit(limit)
        self.exhausted = False
        self.pages_fetched = 0
        self.events_yielded = 0
        self.recoveries = 0
        #: Cursors of the last page fetched (``cursor_next`` is the one used next).
        self.cursor_next: str | None = None
        self.cursor_previous: str | None = None
        self._client = client
        self._query = self.filter  # narrowed after a cursor recovery
        self._resume = ResumePoint()
        self._yielded_at_last_recovery: int | None = None
        self._busy = False

    @property
    def query(self) -> EventFilter:
        """The filter currently sent (the original one, narrowed after a recovery)."""
        return self._query

    async def next_page(self) -> list[Event]:
        if self.exhausted:
            return []
        if self._busy:
            raise RuntimeError("EventPager.next_page() is already running")
        self._busy = True
        try:
            page = await self._fetch()
        finally:
            self._busy = False
        self.pages_fetched += 1
        self.cursor_next = page.cursor_next
        self.cursor_previous = page.cursor_previous
        if page.cursor_next is None:
            self.exhausted = True
        fresh = self._resume.keep_unseen(page.data)
        self.events_yielded += len(fresh)
        return fresh

    async def _fetch(self) -> EventPage:
        cursor = self.cursor_next
        try:
            return await self._client.list_page(self._query, cursor, self.limit)
        except BadRequest as exc:
            if cursor is None:
                raise
            refused = exc
        if self._yielded_at_last_recovery == self.events_yielded:
            raise BadRequest(
                f"the server refused the cursor again without progress; giving up ({refused})"
            ) from refused
        self._yielded_at_last_recovery = self.events_yielded
        self._query = self._resume.resume_filter(self.filter)
        self.recoveries += 1
        # No cursor here: if this is refused too, BadRequest propagates (no loop).
        return await self._client.list_page(self._query, None, self.limit)
