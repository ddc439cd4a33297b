"""CloseClient over httpx.MockTransport: auth, URLs, retries, 429 waits, typed errors.

Each test scripts the server exactly (headers, statuses, faults) and injects a recording
sleep, so backoff and rate-limit waits are asserted to the millisecond without waiting.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from close_tui.core.client import (
    DEFAULT_BASE_URL,
    MAX_PAGE_SIZE,
    CloseClient,
    RetryPolicy,
)
from close_tui.core.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    CloseError,
    InsecureURL,
    NetworkError,
    NotFound,
    ProtocolError,
    RateLimited,
    ServerError,
    WriteUncertain,
)
from close_tui.core.filters import EventFilter, UnsupportedFilter
from close_tui.core.retries import RetryNotice, RetryReason

BASE = "https://api.example.test/api/v1"
KEY = "api_4xSECRETKEYxx.SECRETPARTdo-not-leak"
TOKEN = "oauth_TOKENxSECRETxdo-not-leak"

EVENT = {
    "id": "ev_0000000000000000000001",
    "date_created": "2026-11-20T12:48:23.395000",
    "date_updated": "2026-11-20T12:48:23.395000",
    "object_type": "lead",
    "object_id": "lead_x",
    "lead_id": "lead_x",
    "action": "updated",
    "changed_fields": ["name"],
}

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """A transport that answers each request with the next scripted step (the last step
    repeats), recording every request."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps[min(len(self.requests), len(self.steps)) - 1]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


class Recorder:
    """Injectable sleep + on_retry that remember what they were asked."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.retries: list[tuple[int, float, str]] = []
        self.notices: list[RetryNotice] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def on_retry(self, notice: RetryNotice) -> None:
        self.notices.append(notice)
        self.retries.append((notice.attempt, notice.delay, notice.detail))


class FixedRandom(random.Random):
    """uniform() always answers one end of the range: pins jitter to a bound."""

    def __init__(self, end: str) -> None:
        super().__init__(0)
        self.end = end

    def uniform(self, a: float, b: float) -> float:
        return b if self.end == "high" else a


NO_JITTER = RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=4.0, jitter=0.0)


def make_client(
    script: Script,
    recorder: Recorder | None = None,
    *,
    retry: RetryPolicy = NO_JITTER,
    **kwargs: Any,
) -> CloseClient:
    recorder = recorder or Recorder()
    kwargs.setdefault("api_key", KEY)
    return CloseClient(
        BASE,
        transport=script.transport,
        retry=retry,
        sleep=recorder.sleep,
        on_retry=recorder.on_retry,
        rng=random.Random(1),
        **kwargs,
    )


def ok(body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(
        200, json={"data": [], "cursor_next": None} if body is None else body, headers=headers
    )


def page(*events: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        200, json={"data": list(events), "cursor_next": None, "cursor_previous": None}
    )


def connect_error() -> httpx.ConnectError:
    return httpx.ConnectError("connection refused")


# --------------------------------------------------------------------------- auth


async def test_basic_auth_header_is_key_with_empty_password() -> None:
    script = Script(ok({"id": "user_1"}))
    async with make_client(script) as client:
        assert await client.me() == {"id": "user_1"}
    expected = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    assert script.requests[0].headers["authorization"] == expected
    assert str(script.requests[0].url) == f"{BASE}/me/"


async def test_bearer_token_header() -> None:
    script = Script(ok({"id": "user_1"}))
    async with make_client(script, api_key=None, access_token=TOKEN) as client:
        await client.me()
        assert client.auth_kind == "bearer"
    assert script.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_key_and_token_together_refused() -> None:
    with pytest.raises(ValueError):
        CloseClient(BASE, api_key=KEY, access_token=TOKEN)


async def test_no_tz_offset_header_and_json_accept() -> None:
    script = Script(lambda r: page(EVENT) if r.url.path.endswith("/event/") else ok(EVENT))
    flt = EventFilter(lead_id="lead_x", date_updated__gte=datetime(2026, 11, 1, tzinfo=UTC))
    async with make_client(script) as client:
        await client.list_page(flt)
        await client.get_event("ev_1")
        await client.me()
    for request in script.requests:
        assert not any(name.lower() == "x-tz-offset" for name in request.headers)
    assert script.requests[0].url.params["date_updated__gte"] == "2026-11-01T00:00:00.000000"


async def test_timeout_is_configurable() -> None:
    script = Script(ok({}))
    async with make_client(script, timeout=1.5) as client:
        await client.me()
    assert script.requests[0].extensions["timeout"] == {
        "connect": 1.5,
        "read": 1.5,
        "write": 1.5,
        "pool": 1.5,
    }


# --------------------------------------------------------------------------- base URL


@pytest.mark.parametrize(
    "url",
    [
        "https://api.close.com/api/v1",
        "https://api.close.com/api/v1/",
        "http://127.0.0.1:8765/api/v1",
        "http://127.9.8.7/api/v1",
        "http://localhost:8000/api/v1",
        "http://[::1]:8765/api/v1",
    ],
)
def test_allowed_base_urls(url: str) -> None:
    client = CloseClient(url, api_key=KEY)
    assert not client.base_url.endswith("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://api.close.com/api/v1",
        "http://10.0.0.1/api/v1",
        "http://localhost.evil.example/api/v1",
        "http://128.0.0.1/api/v1",
        "ftp://127.0.0.1/api/v1",
        f"https://{KEY}:@api.close.com/api/v1",
        "not a url",
    ],
)
def test_refused_base_urls(url: str) -> None:
    with pytest.raises(InsecureURL) as info:
        CloseClient(url, api_key=KEY)
    assert isinstance(info.value, ValueError)
    assert KEY not in str(info.value)


def test_default_base_url() -> None:
    assert CloseClient(api_key=KEY).base_url == DEFAULT_BASE_URL


async def test_redirect_to_another_host_drops_authorization() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.example.test" and request.url.path == "/api/v1/me/":
            return httpx.Response(302, headers={"location": "/api/v1/moved/"})
        if request.url.path == "/api/v1/moved/":
            return httpx.Response(301, headers={"location": "https://elsewhere.test/steal/"})
        return ok({"ok": True})

    script = Script(handler)
    async with make_client(script) as client:
        assert await client.me() == {"ok": True}
    hosts = [(r.url.host, "authorization" in r.headers) for r in script.requests]
    # same-origin hop keeps the credential; the cross-host hop must not carry it
    assert hosts == [
        ("api.example.test", True),
        ("api.example.test", True),
        ("elsewhere.test", False),
    ]


async def test_custom_transport_wins_over_env_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    script = Script(ok({"id": "me"}))
    async with make_client(script) as client:
        assert await client.me() == {"id": "me"}


async def test_env_proxy_is_used_without_custom_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """trust_env stays on: HTTP_PROXY routes the request (a loopback stand-in proxy)."""
    seen: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head.split(b"\r\n", 1)[0])
        body = b'{"id": "via-proxy"}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
    try:
        # Port 9 (discard) is never contacted: the proxy answers for it.
        async with CloseClient("http://127.0.0.1:9/api/v1", api_key=KEY) as client:
            assert await client.me() == {"id": "via-proxy"}
    finally:
        server.close()
        await server.wait_closed()
    assert seen == [b"GET http://127.0.0.1:9/api/v1/me/ HTTP/1.1"]


# --------------------------------------------------------------------------- secrets


async def test_key_never_in_repr_str_or_errors() -> None:
    basic = base64.b64encode(f"{KEY}:".encode()).decode()
    script = Script(
        httpx.Response(401, json={"error": f"invalid key {KEY} (header Basic {basic})"})
    )
    client = make_client(script)
    for text in (repr(client), str(client)):
        assert KEY not in text
        assert BASE in text
        assert "api_key" in text
    with pytest.raises(AuthError) as info:
        await client.me()
    for text in (str(info.value), repr(info.value), info.value.message):
        assert KEY not in text
        assert basic not in text
    await client.aclose()

    token_client = make_client(
        Script(httpx.Response(400, json={"error": f"bad {TOKEN}"})),
        api_key=None,
        access_token=TOKEN,
    )
    assert TOKEN not in repr(token_client)
    with pytest.raises(BadRequest) as bad:
        await token_client.me()
    assert TOKEN not in str(bad.value)
    await token_client.aclose()


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (connect_error(), "network error (ConnectError)"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (
            httpx.Response(
                502, text="<html>bad gateway</html>", headers={"content-type": "text/html"}
            ),
            "HTTP 502",
        ),
        (httpx.Response(503, json={"error": "maintenance"}), "HTTP 503"),
        (httpx.Response(504), "HTTP 504"),
        (httpx.Response(500, json={"error": "oops"}), "HTTP 500"),
    ],
)
async def test_transient_faults_are_retried_then_succeed(fault: Step, reason: str) -> None:
    recorder = Recorder()
    script = Script(fault, fault, ok({"id": "me"}))
    async with make_client(script, recorder) as client:
        assert await client.me() == {"id": "me"}
    assert len(script.requests) == 3
    assert recorder.sleeps == [0.5, 1.0]
    assert recorder.retries == [(1, 0.5, reason), (2, 1.0, reason)]
    kind = recorder.notices[0].reason
    assert not recorder.notices[0].rate_limited
    if reason.startswith("HTTP"):
        assert kind is RetryReason.SERVER_ERROR
        assert recorder.notices[0].status == int(reason.split()[1])
    else:
        assert kind in (RetryReason.NETWORK, RetryReason.TIMEOUT)
        assert recorder.notices[0].status is None


async def test_backoff_is_exponential_and_capped() -> None:
    recorder = Recorder()
    script = Script(httpx.Response(503))
    policy = RetryPolicy(max_attempts=8, base_delay=0.5, max_delay=4.0, jitter=0.0)
    async with make_client(script, recorder, retry=policy) as client:
        with pytest.raises(ServerError):
            await client.me()
    assert len(script.requests) == 8
    assert recorder.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


@pytest.mark.parametrize(
    ("jitter", "end", "expected"),
    [
        (0.5, "low", [0.25, 0.5, 1.0, 2.0, 2.0]),  # equal jitter: half fixed, half random
        (0.5, "high", [0.5, 1.0, 2.0, 4.0, 4.0]),
        (1.0, "low", [0.0, 0.0, 0.0, 0.0, 0.0]),  # full jitter: anywhere in [0, cap]
        (1.0, "high", [0.5, 1.0, 2.0, 4.0, 4.0]),
    ],
)
async def test_backoff_jitter_bounds(jitter: float, end: str, expected: list[float]) -> None:
    recorder = Recorder()
    script = Script(connect_error())
    policy = RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=4.0, jitter=jitter)
    client = CloseClient(
        BASE,
        api_key=KEY,
        transport=script.transport,
        retry=policy,
        sleep=recorder.sleep,
        rng=FixedRandom(end),
    )
    with pytest.raises(NetworkError):
        await client.me()
    assert recorder.sleeps == expected
    await client.aclose()


async def test_jitter_spreads_delays_within_bounds() -> None:
    recorder = Recorder()
    script = Script(httpx.ReadTimeout("slow"))
    policy = RetryPolicy(max_attempts=30, base_delay=1.0, max_delay=8.0, jitter=0.5)
    client = CloseClient(
        BASE,
        api_key=KEY,
        transport=script.transport,
        retry=policy,
        sleep=recorder.sleep,
        rng=random.Random(42),
    )
    with pytest.raises(NetworkError):
        await client.me()
    capped = [min(8.0, 2.0**i) for i in range(29)]
    assert all(c / 2 <= d <= c for d, c in zip(recorder.sleeps, capped, strict=True))
    assert len(set(recorder.sleeps[4:])) > 1  # not in lockstep once capped
    await client.aclose()


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [
        (connect_error(), NetworkError, None),
        (httpx.ConnectTimeout("slow"), NetworkError, None),
        (httpx.ReadTimeout("slow"), NetworkError, None),
        (httpx.RemoteProtocolError("peer closed"), NetworkError, None),
        (httpx.Response(503), ServerError, 503),
        (httpx.Response(500, json={"error": "boom"}), ServerError, 500),
    ],
)
async def test_giving_up_raises_typed_error(
    fault: Step, error: type[CloseError], status: int | None
) -> None:
    recorder = Recorder()
    script = Script(fault)
    async with make_client(script, recorder, retry=RetryPolicy(max_attempts=3, jitter=0)) as c:
        with pytest.raises(error) as info:
            await c.me()
    assert info.value.status == status
    assert len(script.requests) == 3
    assert len(recorder.sleeps) == 2


async def test_html_502_page_is_handled() -> None:
    html = httpx.Response(
        502,
        text="<html><body>Bad Gateway</body></html>",
        headers={"content-type": "text/html; charset=utf-8"},
    )
    script = Script(html)
    async with make_client(script, retry=RetryPolicy(max_attempts=2, jitter=0)) as client:
        with pytest.raises(ServerError) as info:
            await client.me()
    assert str(info.value) == "server error 502 (non-JSON body: text/html)"
    assert info.value.status == 502


async def test_501_is_not_retried() -> None:
    script = Script(httpx.Response(501, json={"error": "nope"}))
    async with make_client(script) as client:
        with pytest.raises(ServerError, match="server error 501: nope"):
            await client.me()
    assert len(script.requests) == 1


# --------------------------------------------------------------------------- 429


def too_many(**headers: str) -> httpx.Response:
    return httpx.Response(429, headers=headers)


@pytest.mark.parametrize(
    ("headers", "expected_sleep"),
    [
        ({"ratelimit": "limit=100, remaining=0, reset=5"}, 5.0),
        ({"ratelimit": "limit=100; remaining=0; reset=0.5"}, 0.5),
        ({"RateLimit": "Limit=20, Remaining=0, Reset=2.75"}, 2.75),
        ({"ratelimit": "limit=100, remaining=0, reset=1.2", "retry-after": "2"}, 1.2),
        ({"retry-after": "3"}, 3.0),
        (
            {
                "Retry-After": "Fri, 20 Nov 2026 12:00:07 GMT",
                "Date": "Fri, 20 Nov 2026 12:00:00 GMT",
            },
            7.0,
        ),
        ({}, 0.5),  # nothing to go by: back off
        ({"ratelimit": "garbage"}, 0.5),
    ],
)
async def test_429_waits_what_the_server_asks(
    headers: dict[str, str], expected_sleep: float
) -> None:
    recorder = Recorder()
    script = Script(too_many(**headers), ok({"id": "me"}))
    async with make_client(script, recorder) as client:
        assert await client.me() == {"id": "me"}
    assert recorder.sleeps == [expected_sleep]
    assert recorder.retries == [(1, expected_sleep, "rate limited (429)")]
    assert recorder.notices[0].rate_limited
    assert recorder.notices[0].status == 429
    assert recorder.notices[0].describe() == (
        f"rate limited (429): retrying in {expected_sleep:.1f} s (attempt 2)"
    )


def test_retry_listeners_are_many_and_each_can_leave() -> None:
    from close_tui.core.retries import RetryListeners

    heard: list[str] = []
    listeners = RetryListeners()
    remove_a = listeners.add(lambda n: heard.append(f"a{n.attempt}"))
    listeners.add(lambda n: heard.append(f"b{n.attempt}"))
    listeners.notify(RetryNotice(RetryReason.NETWORK, attempt=1, delay=0.5))
    remove_a()
    remove_a()  # twice is harmless
    listeners.notify(RetryNotice(RetryReason.NETWORK, attempt=2, delay=1.0))
    assert heard == ["a1", "b1", "b2"]
    assert len(listeners) == 1


async def test_429_exhausted_raises_rate_limited_with_state() -> None:
    recorder = Recorder()
    script = Script(too_many(ratelimit="limit=20, remaining=0, reset=1.5", **{"retry-after": "2"}))
    async with make_client(script, recorder, retry=RetryPolicy(max_attempts=4)) as client:
        with pytest.raises(RateLimited) as info:
            await client.me()
        assert client.rate_limit is not None
        assert client.rate_limit.remaining == 0
    assert recorder.sleeps == [1.5, 1.5, 1.5]
    err = info.value
    assert err.status == 429
    assert err.retry_after == 1.5
    assert err.rate_limit is not None and err.rate_limit.limit == 20
    assert "429" in str(err)


async def test_429_with_absurd_wait_fails_fast() -> None:
    recorder = Recorder()
    script = Script(too_many(**{"retry-after": "3600"}), ok({}))
    async with make_client(script, recorder) as client:
        with pytest.raises(RateLimited) as info:
            await client.me()
    assert recorder.sleeps == []
    assert info.value.retry_after == 3600.0
    assert len(script.requests) == 1


# --------------------------------------------------------------------------- errors


async def test_400_error_message() -> None:
    script = Script(httpx.Response(400, json={"error": "unsupported filter combination"}))
    async with make_client(script) as client:
        with pytest.raises(BadRequest) as info:
            await client.get_json("/event/", {"object_id": "x"})
    assert str(info.value) == "bad request 400: unsupported filter combination"
    assert info.value.status == 400
    assert len(script.requests) == 1


async def test_400_errors_and_field_errors() -> None:
    body = {"errors": ["Invalid query."], "field-errors": {"date_updated__gte": "Bad date."}}
    script = Script(httpx.Response(400, json=body))
    async with make_client(script) as client:
        with pytest.raises(BadRequest) as info:
            await client.get_json("event")
    assert str(info.value) == "bad request 400: Invalid query.; date_updated__gte: Bad date."
    assert info.value.field_errors == {"date_updated__gte": "Bad date."}


async def test_error_message_control_chars_made_visible() -> None:
    script = Script(httpx.Response(400, json={"error": "evil \x1b]52;c;AAAA\x07 text"}))
    async with make_client(script) as client:
        with pytest.raises(BadRequest) as info:
            await client.me()
    assert "\x1b" not in str(info.value) and "\x07" not in str(info.value)


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (403, AuthError), (404, NotFound), (402, CloseError), (405, CloseError)],
)
async def test_client_errors_are_typed_and_not_retried(
    status: int, error: type[CloseError]
) -> None:
    script = Script(httpx.Response(status, json={"error": "no"}))
    async with make_client(script) as client:
        with pytest.raises(error) as info:
            await client.me()
    assert type(info.value) is error
    assert info.value.status == status
    assert str(info.value).endswith(": no")
    assert len(script.requests) == 1


async def test_404_html_body() -> None:
    script = Script(
        httpx.Response(404, text="<h1>nope</h1>", headers={"content-type": "text/html"})
    )
    async with make_client(script) as client:
        with pytest.raises(NotFound, match=r"not found 404 \(non-JSON body: text/html\)"):
            await client.get_event("ev_gone")


async def test_truncated_json_is_retried_then_protocol_error() -> None:
    recorder = Recorder()
    truncated = httpx.Response(
        200, content=b'{"data": [{"id": "ev_', headers={"content-type": "application/json"}
    )
    script = Script(truncated)
    async with make_client(script, recorder, retry=RetryPolicy(max_attempts=3, jitter=0)) as c:
        with pytest.raises(ProtocolError) as info:
            await c.list_page(EventFilter())
    assert info.value.status == 200
    assert "invalid JSON" in str(info.value)
    assert len(script.requests) == 3
    assert recorder.retries[0][2] == "unreadable response"
    assert BadResponse is ProtocolError


async def test_truncated_json_then_good_body_succeeds() -> None:
    truncated = httpx.Response(
        200, content=b'{"data": [', headers={"content-type": "application/json"}
    )
    script = Script(truncated, page(EVENT))
    async with make_client(script) as client:
        got = await client.list_page(EventFilter())
    assert [e.id for e in got.data] == [EVENT["id"]]


async def test_wrong_content_type_is_protocol_error() -> None:
    portal = httpx.Response(
        200, text="<html>log in to the wifi</html>", headers={"content-type": "text/html"}
    )
    script = Script(portal)
    async with make_client(script, retry=RetryPolicy(max_attempts=2, jitter=0)) as client:
        with pytest.raises(ProtocolError, match=r"non-JSON body: text/html"):
            await client.me()


@pytest.mark.parametrize(
    "body", [{"foo": 1}, [], {"data": "nope"}, {"data": [{"id": "ev_1"}]}, "a string", 7]
)
async def test_wrong_shape_is_protocol_error_not_retried(body: Any) -> None:
    script = Script(httpx.Response(200, json=body))
    async with make_client(script) as client:
        with pytest.raises(ProtocolError):
            await client.list_page(EventFilter())
    assert len(script.requests) == 1


# --------------------------------------------------------------------------- requests


async def test_event_query_limit_clamped_and_last_query_exposed() -> None:
    script = Script(page(EVENT))
    async with make_client(script) as client:
        assert client.last_event_query == ""
        await client.list_page(EventFilter(lead_id="lead_x"))
        assert client.last_event_query == "lead_id=lead_x&_limit=50"
        await client.list_page(EventFilter(lead_id="lead_x"), limit=500)
        await client.list_page(EventFilter(lead_id="lead_x"), limit=0)
        await client.list_page(EventFilter(lead_id="lead_x"), cursor="c/1+=", limit=10)
        assert client.last_event_query == "lead_id=lead_x&_limit=10&_cursor=c%2F1%2B%3D"
    limits = [r.url.params["_limit"] for r in script.requests]
    assert limits == [str(MAX_PAGE_SIZE), "50", "1", "10"]
    assert script.requests[3].url.params["_cursor"] == "c/1+="  # opaque, passed as is
    assert all("_skip" not in r.url.params for r in script.requests)


async def test_unsupported_filter_raises_without_network() -> None:
    script = Script(page())
    bad = EventFilter(object_id="acti_1")  # object_id alone is not a supported set
    async with make_client(script) as client:
        with pytest.raises(UnsupportedFilter):
            await client.list_page(bad)
        with pytest.raises(UnsupportedFilter):
            client.pager(bad)
        with pytest.raises(UnsupportedFilter):
            async for _ in client.iter_events(bad):
                pass
    assert script.requests == []


async def test_get_event_and_get_json_paths() -> None:
    script = Script(ok(EVENT))
    async with make_client(script) as client:
        event = await client.get_event("ev_a/../b")
        assert event.id == EVENT["id"]
        await client.get_json("/lead/lead_x", {"_fields": "id"})
        await client.get_json("user/")
        with pytest.raises(ValueError):
            await client.get_json("https://elsewhere.test/steal/")
    assert [r.url.raw_path for r in script.requests] == [
        b"/api/v1/event/ev_a%2F..%2Fb/",
        b"/api/v1/lead/lead_x/?_fields=id",
        b"/api/v1/user/",
    ]


# --------------------------------------------------------------------------- observed state


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


async def test_rate_limit_state_and_server_time() -> None:
    clock = FakeClock()
    script = Script(
        ok(
            {"id": "me"},
            ratelimit="limit=100, remaining=42, reset=3.5",
            date="Fri, 20 Nov 2026 12:00:00 GMT",
        )
    )
    async with make_client(script, monotonic=clock) as client:
        assert client.rate_limit is None
        assert client.server_time() is None
        await client.me()
        clock.now += 12.5
        limit = client.rate_limit
        assert limit is not None
        assert (limit.limit, limit.remaining, limit.reset) == (100, 42, 3.5)
        assert limit.observed_at == 1000.0
        assert limit.reset_at() == 1003.5
        assert client.server_time() == datetime(2026, 11, 20, 12, 0, tzinfo=UTC) + timedelta(
            seconds=12.5
        )


async def test_rate_limit_state_kept_when_a_response_has_no_header() -> None:
    script = Script(ok({}, ratelimit="limit=10, remaining=9, reset=1"), ok({}))
    async with make_client(script) as client:
        await client.me()
        await client.me()
        assert client.rate_limit is not None and client.rate_limit.remaining == 9


def test_retry_policy_validation() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)


def test_json_helper_roundtrip_sanity() -> None:
    # guards the test helpers themselves: page() builds what the API sends
    body = json.loads(page(EVENT).content)
    assert body["cursor_next"] is None and body["data"][0]["id"] == EVENT["id"]


# --------------------------------------------------------------------------- writes


async def test_post_sends_json_and_returns_the_answer() -> None:
    script = Script(ok({"id": "lead_new"}))
    async with make_client(script) as client:
        assert await client.post_json("lead/", {"name": "Acme [/] Inc", "n": 1}) == {
            "id": "lead_new"
        }
    (request,) = script.requests
    assert request.method == "POST"
    assert request.url.path.endswith("/lead/")
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"name": "Acme [/] Inc", "n": 1}


@pytest.mark.parametrize(
    "fault",
    [
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("server disconnected"),
        httpx.Response(503, json={"error": "maintenance"}),
        httpx.Response(502, text="<html>bad gateway</html>", headers={"content-type": "text/html"}),
    ],
)
async def test_a_write_that_may_have_landed_is_never_sent_twice(fault: Step) -> None:
    script = Script(fault, ok({"id": "lead_new"}))
    async with make_client(script) as client:
        with pytest.raises(WriteUncertain, match="may have been applied"):
            await client.post_json("lead/", {"name": "Acme"})
    assert len(script.requests) == 1


@pytest.mark.parametrize("fault", [connect_error(), too_many(**{"retry-after": "1"})])
async def test_a_write_the_server_surely_did_not_act_on_is_retried(fault: Step) -> None:
    recorder = Recorder()
    script = Script(fault, ok({"id": "lead_new"}))
    async with make_client(script, recorder) as client:
        assert await client.post_json("lead/", {"name": "Acme"}) == {"id": "lead_new"}
    assert [r.method for r in script.requests] == ["POST", "POST"]
    assert len(recorder.notices) == 1


async def test_an_uncertain_write_message_holds_no_secret() -> None:
    script = Script(httpx.ReadTimeout(f"slow {KEY}"))
    async with make_client(script) as client:
        with pytest.raises(WriteUncertain) as info:
            await client.post_json("lead/", {"name": "Acme"})
    assert KEY not in str(info.value)


async def test_a_background_request_retries_without_telling_the_listeners() -> None:
    """Name look-ups run in the background: their retries must not put "rate limited
    (429): retrying…" in the status bar while the user waits on nothing."""
    recorder = Recorder()
    script = Script(too_many(), ok({"data": []}))
    async with make_client(script, recorder) as client:
        assert await client.get_json("user/", background=True) == {"data": []}
        assert recorder.sleeps == [0.5]  # retried all the same
        assert recorder.notices == []
    recorder2 = Recorder()
    async with make_client(Script(too_many(), ok({"data": []})), recorder2) as client:
        assert await client.post_json("data/search/", {"query": {}}, background=True) == {
            "data": []}
    assert recorder2.notices == []
    assert recorder2.sleeps == [0.5]
