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
    PagingError,
    ProtocolError,
    RateLimited,
    RequestTimeout,
    ResponseTooDeep,
    ResponseTooLarge,
    ServerError,
    WriteUncertain,
)
from close_tui.core.filters import EventFilter
from close_tui.core.models import Event, EventPage
from close_tui.core.paging import (
    MAX_PAGES_WITHOUT_PROGRESS,
    ResumePoint,
    WalkGuard,
    parse_event_page,
)
from close_tui.core.ratelimit import RateLimit, parse_http_date, parse_ratelimit, parse_retry_after
from close_tui.core.retries import RetryListener, RetryListeners, RetryNotice, RetryReason
from close_tui.core.sanitize import Scrubber, credential_forms, visible

DEFAULT_BASE_URL: Final = "https://api.close.com/api/v1"
#: The event endpoint's page size cap (and default).
MAX_PAGE_SIZE: Final = 50
#: 5xx answers that are usually a deploy, a proxy or an overload, worth another try.
RETRYABLE_STATUSES: Final = frozenset({500, 502, 503, 504})
_MAX_DETAIL_CHARS: Final = 300
_USER_AGENT: Final = "close-tui"
#: The largest response body read: far above any real page (50 events), far below what
#: hurts. An endless body stops here instead of growing the process to gigabytes.
DEFAULT_MAX_BODY: Final = 64 * 1024 * 1024
#: Requests per second while the server announces no limit (no ``RateLimit`` header on
#: its last answer). Half the per-key rate Close documents as an example (20/s): a server
#: or proxy that says nothing is not hammered, and one that loops is slowed to a crawl.
DEFAULT_UNANNOUNCED_RATE: Final = 10.0


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


class _TooLarge(Exception):
    """The body passed the size cap; carries how much was read (or declared)."""

    def __init__(self, size: int, declared: bool) -> None:
        super().__init__(size)
        self.size = size
        self.declared = declared


def _content_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";")[0].strip().lower()


def _decode_json(response: httpx.Response, body: bytes) -> Any:
    ctype = _content_type(response)
    if ctype and "json" not in ctype:
        raise _UnreadableBody(f"non-JSON body: {visible(ctype)[:60]}")
    try:
        return jsonnum.loads(body)
    except RecursionError:
        raise ResponseTooDeep(
            "response JSON is nested too deeply to read safely; not retried",
            status=response.status_code,
        ) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise _UnreadableBody(
            f"invalid JSON ({len(body)} bytes; truncated or malformed)"
        ) from exc


def _clip(text: str) -> str:
    text = visible(text)
    return text if len(text) <= _MAX_DETAIL_CHARS else text[: _MAX_DETAIL_CHARS - 1] + "…"


def _error_detail(
    response: httpx.Response, body: bytes, scrubber: Scrubber
) -> tuple[str, dict[str, str]]:
    """The server's explanation as a message suffix, plus any per-field errors.

    Handles ``{"error": ...}``, ``{"errors": [...], "field-errors": {...}}``, other JSON,
    an empty body, and non-JSON bodies (an HTML 502 page from a proxy). Every piece is
    scrubbed of the credential *before* it is clipped to one line.
    """
    if not body.strip():
        return "", {}
    try:
        decoded = _decode_json(response, body)
    except (_UnreadableBody, ResponseTooDeep):
        ctype = _content_type(response) or "no content type"
        return f" (non-JSON body: {scrubber.line(ctype, 60)})", {}
    field_errors: dict[str, str] = {}
    parts: list[str] = []
    if isinstance(decoded, dict):
        error = decoded.get("error")
        if error:
            parts.append(error if isinstance(error, str) else _dumps_or_repr(error))
        errors = decoded.get("errors")
        if isinstance(errors, list):
            parts.extend(e if isinstance(e, str) else _dumps_or_repr(e) for e in errors if e)
        elif errors:
            parts.append(_dumps_or_repr(errors))
        raw_fields = decoded.get("field-errors")
        if isinstance(raw_fields, dict):
            for name, message in raw_fields.items():
                text = message if isinstance(message, str) else _dumps_or_repr(message)
                field_errors[scrubber.line(str(name), 80)] = scrubber.line(
                    text, _MAX_DETAIL_CHARS
                )
                parts.append(f"{name}: {text}")
    if not parts:
        parts.append(_dumps_or_repr(decoded))
    return ": " + scrubber.line("; ".join(parts), _MAX_DETAIL_CHARS), field_errors


def _dumps_or_repr(value: Any) -> str:
    try:
        return jsonnum.dumps(value, separators=(",", ":"))
    except (RecursionError, ValueError, TypeError):
        return f"({type(value).__name__})"


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
        max_body: int = DEFAULT_MAX_BODY,
        deadline: float | None = None,
        unannounced_rate: float | None = DEFAULT_UNANNOUNCED_RATE,
    ) -> None:
        self.base_url: str = check_base_url(base_url)
        if api_key is not None and access_token is not None:
            raise ValueError("give either api_key or access_token, not both")
        if max_body < 1:
            raise ValueError("max_body must be at least 1 byte")
        if unannounced_rate is not None and not unannounced_rate > 0:
            raise ValueError("unannounced_rate must be more than 0 (or None: unpaced)")
        headers = {"Accept": "application/json", "User-Agent": _USER_AGENT}
        if api_key is not None:
            if not api_key.strip():
                raise ValueError("the API key is empty")
            basic = base64.b64encode(f"{api_key}:".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {basic}"
            self._auth_kind = "api_key"
        elif access_token is not None:
            if not access_token.strip():
                raise ValueError("the access token is empty")
            headers["Authorization"] = f"Bearer {access_token}"
            self._auth_kind = "bearer"
        else:
            self._auth_kind = "none"
        #: Removes the key, its Basic base64 and a token from every body and message.
        self.scrubber = Scrubber(credential_forms(api_key, access_token))
        self.max_body = max_body
        #: Seconds one request may take in all (connect, headers, whole body); ``None``
        #: = only httpx's per-phase timeouts. A float ``timeout`` is both.
        self.deadline: float | None = (
            deadline if deadline is not None
            else None if isinstance(timeout, httpx.Timeout) else float(timeout)
        )
        self.unannounced_rate = unannounced_rate
        self._unannounced = False
        self._next_send_at = 0.0
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
        self._unannounced = limit is None
        if limit is not None:
            self.rate_limit = limit
        server_date = parse_http_date(response.headers.get("date"))
        if server_date is not None:
            self._server_date = server_date
            self._server_date_seen_at = now

    def _scrub(self, text: str) -> str:
        return self.scrubber.scrub(text)

    async def _pace(self, waited: float) -> None:
        """Space requests at :attr:`unannounced_rate` while the server announces no limit.

        With a ``RateLimit`` header the server's own numbers rule (429 waits, the
        exporter's pacer); without one, nothing else would stop a loop from sending as
        fast as the network allows. Each caller reserves the next free slot, so
        concurrent workers are spaced too. Time comes from the injected clock and sleep.
        """
        rate = self.unannounced_rate
        if rate is None:
            return
        now = self._monotonic()
        interval = 1.0 / rate
        if not self._unannounced:
            self._next_send_at = now + interval  # where pacing would start from
            return
        if waited >= interval:
            # A retry that just slept its backoff has kept its distance already.
            self._next_send_at = max(now, self._next_send_at) + interval
            return
        slot = max(now, self._next_send_at)
        self._next_send_at = slot + interval
        if slot > now:
            await self._sleep(slot - now)

    async def _exchange(self, request: httpx.Request) -> tuple[httpx.Response, bytes]:
        """Send ``request`` and read its body, at most :attr:`max_body` bytes of it."""
        response = await self._http.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body:
                raise _TooLarge(int(declared), declared=True)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self.max_body:
                    raise _TooLarge(len(body), declared=False)
            return response, self.scrubber.scrub_bytes(bytes(body))
        finally:
            await response.aclose()

    async def _exchange_by_deadline(
        self, request: httpx.Request
    ) -> tuple[httpx.Response, bytes]:
        if self.deadline is None:
            return await self._exchange(request)
        async with asyncio.timeout(self.deadline):
            return await self._exchange(request)

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
        background: bool = False,
    ) -> Any:
        """Send one request and return its decoded JSON, retrying what is safe to retry.

        ``background``: a request nobody waits on (a name look-up): retried the same
        way, but its retries are not announced to :attr:`retry_listeners` — the status
        bar speaks of the user's requests, not of look-ups in the background.

        GET is retried on every transient failure. Any other method is a write: it is
        retried only when the server surely did not act on it (the connection was never
        made, or a 429 refused it); every other failure after the request may have
        reached the server raises :class:`WriteUncertain`, never a blind second send.
        """
        policy = self._retry
        idempotent = method == "GET"
        attempt = 0
        waited = 0.0  # the backoff slept before this attempt
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
            await self._pace(waited)
            try:
                response, body = await self._exchange_by_deadline(request)
            except _TooLarge as exc:
                raise self._too_large(what, exc, idempotent) from None
            except TimeoutError as exc:  # the whole-request deadline (asyncio.timeout)
                self._raise_if_write_uncertain(idempotent, what, exc)
                failure = RequestTimeout(
                    f"timeout on {what}: no complete answer within {self.deadline:g} s"
                )
                reason, detail = RetryReason.TIMEOUT, "timeout"
                delay = policy.backoff(attempt, self._rng)
            except httpx.TimeoutException as exc:
                self._raise_if_write_uncertain(idempotent, what, exc)
                failure = RequestTimeout(
                    self.scrubber.line(f"timeout ({type(exc).__name__}) on {what}", 200)
                )
                failure.__cause__ = exc
                reason, detail = RetryReason.TIMEOUT, "timeout"
                delay = policy.backoff(attempt, self._rng)
            except httpx.TransportError as exc:
                self._raise_if_write_uncertain(idempotent, what, exc)
                detail = self.scrubber.line(str(exc), 200) or type(exc).__name__
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
                        return _decode_json(response, body)
                    except ResponseTooDeep as exc:
                        exc.message = f"{exc.message} ({what})"
                        raise
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
                    failure, wait = self._rate_limited(response, body)
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
                        f"{_error_detail(response, body, self.scrubber)[0]}",
                        status=status,
                    )
                elif status in RETRYABLE_STATUSES:
                    failure = self._error_for(response, body)
                    reason, detail = RetryReason.SERVER_ERROR, f"HTTP {status}"
                    delay = policy.backoff(attempt, self._rng)
                else:
                    raise self._error_for(response, body)
            if attempt >= policy.max_attempts:
                raise failure
            if not background:
                self.retry_listeners.notify(
                    RetryNotice(reason=reason, attempt=attempt, delay=delay,
                                status=failure.status, detail=detail)
                )
            await self._sleep(delay)
            waited = delay

    def _raise_if_write_uncertain(self, idempotent: bool, what: str, exc: Exception) -> None:
        """A write that failed after the connection was made may have been applied."""
        if idempotent or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return  # a GET, or nothing reached the server: safe to retry
        raise WriteUncertain(
            self._scrub(f"no answer to {what} ({type(exc).__name__}): it may have been applied")
        ) from exc

    def _too_large(self, what: str, exc: _TooLarge, idempotent: bool) -> CloseError:
        cap = _megabytes(self.max_body)
        how = (
            f"declares {_megabytes(exc.size)}" if exc.declared
            else f"passed {cap} and was cut off there"
        )
        if not idempotent:
            # The server answered, so the write may well have been applied.
            return WriteUncertain(
                f"the answer to {what} {how} (limit {cap}): it may have been applied"
            )
        return ResponseTooLarge(
            f"the response to {what} {how}; the limit is {cap} "
            "(--max-response-mb raises it); not retried"
        )

    def _rate_limited(
        self, response: httpx.Response, body: bytes
    ) -> tuple[RateLimited, float | None]:
        """The error to raise if we give up, and how long the server asks us to wait."""
        limit = parse_ratelimit(response.headers, now=self._monotonic())
        wait: float | None = None
        if limit is not None and limit.reset is not None:
            wait = limit.reset  # precise; Retry-After is the same rounded up
        else:
            # Read an HTTP-date against the server's own clock when it sent one.
            now_utc = parse_http_date(response.headers.get("date")) or datetime.now(UTC)
            wait = parse_retry_after(response.headers.get("retry-after"), now_utc=now_utc)
        detail, _ = _error_detail(response, body, self.scrubber)
        hint = f"; retry in {wait:.1f} s" if wait is not None else ""
        error = RateLimited(
            f"rate limited 429{hint}{detail}",
            rate_limit=limit or self.rate_limit,
            retry_after=wait,
        )
        return error, wait

    def _error_for(self, response: httpx.Response, body: bytes) -> CloseError:
        status = response.status_code
        detail, field_errors = _error_detail(response, body, self.scrubber)
        if status == 400:
            return BadRequest(f"bad request 400{detail}", field_errors=field_errors)
        if status == 401:
            return AuthError(f"authentication failed 401{detail}", status=status)
        if status == 403:
            return AuthError(f"permission denied 403{detail}", status=status)
        if status == 404:
            return NotFound(f"not found 404{detail}", status=status)
        if status == 429:
            return self._rate_limited(response, body)[0]
        if status >= 500:
            return ServerError(f"server error {status}{detail}", status=status)
        return CloseError(f"HTTP {status}{detail}", status=status)

    # ------------------------------------------------------------------ public API

    async def get_json(
        self, path: str, params: Mapping[str, str] | None = None, *, background: bool = False
    ) -> Any:
        """GET any API path (``/user/``, ``/lead/{id}/``) with the same retries and errors
        (``background``: see :meth:`_send`)."""
        return await self._send("GET", self._url(path), params, background=background)

    async def post_json(self, path: str, body: Any, *, background: bool = False) -> Any:
        """POST a JSON body to an API path (``/lead/``, ``/data/search/``).

        Retried only where the server surely did not act (no connection, 429); an outcome
        that is unknown raises :class:`WriteUncertain` (see :meth:`_send`). A search is a
        POST too: callers for whom repeating is harmless may catch that and ask again.
        """
        return await self._send("POST", self._url(path), None, json_body=body,
                                background=background)

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


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size} bytes"


def _shape_message(what: str, exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return _clip(f"unexpected response shape for {what}")
    where = ".".join(str(p) for p in errors[0]["loc"])
    return _clip(f"unexpected response shape for {what}: {where}: {errors[0]['msg']}")


def _parse_page(body: Any) -> EventPage:
    return parse_event_page(body)


class EventPager:
    """Pages one filter by cursor: :meth:`next_page` returns the next page's events
    (possibly empty while more remain); callers loop while not :attr:`exhausted`.

    The walk keeps the rules of :mod:`close_tui.core.paging`: a cursor already sent, a
    long run of pages without a new event, or missing/contradictory paging fields raise a
    :class:`~close_tui.core.errors.PagingError` (after the events of the page that showed
    it are returned), and every later call raises it again without a request.

    When the server refuses a cursor (``400`` on a request that carried one — cursors
    expire), the pager resumes without it: the filter's upper bound becomes the oldest
    ``date_updated`` already seen (or the original bound if that is tighter), and the ids
    already yielded at exactly that instant are dropped. A refusal with no progress since
    the previous recovery, or a refused recovery query, raises :class:`BadRequest`, so it
    never loops forever. One call at a time.
    """

    def __init__(
        self,
        client: CloseClient,
        flt: EventFilter,
        limit: int = MAX_PAGE_SIZE,
        *,
        max_idle_pages: int = MAX_PAGES_WITHOUT_PROGRESS,
    ):
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
        self.guard = WalkGuard(max_idle_pages)
        self._yielded_at_last_recovery: int | None = None
        self._busy = False

    @property
    def query(self) -> EventFilter:
        """The filter currently sent (the original one, narrowed after a recovery)."""
        return self._query

    @property
    def failure(self) -> CloseError | None:
        """The paging error that stopped this walk, if one did."""
        return self.guard.failure

    async def next_page(self) -> list[Event]:
        if self.exhausted:
            return []
        self.guard.raise_if_failed()
        if self._busy:
            raise RuntimeError("EventPager.next_page() is already running")
        self._busy = True
        try:
            page = await self._fetch()
        except PagingError as exc:
            self.guard.fail(exc)  # a page that cannot be read as paging: sticky too
            raise
        finally:
            self._busy = False
        self.pages_fetched += 1
        self.cursor_previous = page.cursor_previous
        fresh = self._resume.keep_unseen(page.data)
        self.events_yielded += len(fresh)
        more = page.cursor_next is not None
        if (
            self.guard.check_cursor(page.cursor_next)
            and self.guard.progressed(len(fresh), more=more)
        ):
            self.cursor_next = page.cursor_next
            if not more:
                self.exhausted = True
        if not fresh:
            self.guard.raise_if_failed()
        return fresh

    async def _fetch(self) -> EventPage:
        cursor = self.cursor_next
        self.guard.sent(cursor)
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
