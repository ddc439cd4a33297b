"""What no server can do to the client: balloon it, hang it, or make it leak the key.

Each test scripts a misbehaving answer through ``httpx.MockTransport`` (bodies are async
generators, so "endless" and "dripping" are real streams) and asserts the bound: bytes
read, requests sent, the error type and its one line. The loopback versions, with
subprocess memory and time, are in ``tests/e2e/test_misbehaving_server.py``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from close_tui.core import jsonnum
from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.errors import (
    BadRequest,
    RateLimited,
    RequestTimeout,
    ResponseTooDeep,
    ResponseTooLarge,
    WriteUncertain,
)
from close_tui.core.sanitize import PARTIAL_LEAK, Scrubber, credential_forms

BASE = "https://api.example.test/api/v1"
KEY = "api_4xSECRETKEYxx.SECRETPARTdo-not-leak-0123456789"
BASIC = base64.b64encode(f"{KEY}:".encode()).decode()
TOKEN = "oauth_TOKENxSECRETxdo-not-leak-abcdefgh"


class Counter:
    def __init__(self) -> None:
        self.requests = 0
        self.chunks = 0


class FakeTime:
    """A clock that moves only when the client sleeps."""

    def __init__(self, *, advance: bool = True) -> None:
        self.now = 100.0
        self.advance = advance
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        if self.advance:
            self.now += seconds


def client_for(
    handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any
) -> CloseClient:
    time = kwargs.pop("time", None) or FakeTime()
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3))
    kwargs.setdefault("api_key", KEY)
    return CloseClient(
        BASE,
        transport=httpx.MockTransport(handler),
        sleep=time.sleep,
        monotonic=time.monotonic,
        **kwargs,
    )


def endless(counter: Counter, chunk: bytes = b"x" * (1024 * 1024)) -> AsyncIterator[bytes]:
    async def stream() -> AsyncIterator[bytes]:
        while True:
            counter.chunks += 1
            yield chunk

    return stream()


# ---------------------------------------------------------------------------- size cap


async def test_an_endless_body_stops_at_the_cap_and_is_not_retried() -> None:
    counter = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        counter.requests += 1
        return httpx.Response(
            200, headers={"content-type": "application/json"}, content=endless(counter)
        )

    async with client_for(handler, max_body=4 * 1024 * 1024) as client:
        with pytest.raises(ResponseTooLarge) as caught:
            await client.get_json("event/")
    assert counter.requests == 1
    assert counter.chunks == 5  # 4 MB allowed, the fifth megabyte crosses the cap
    message = str(caught.value)
    assert "GET /api/v1/event/" in message and "4 MB" in message
    assert "\n" not in message


async def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    counter = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        counter.requests += 1
        return httpx.Response(
            200,
            headers={"content-type": "application/json", "content-length": str(10**12)},
            content=endless(counter),
        )

    async with client_for(handler, max_body=1024) as client:
        with pytest.raises(ResponseTooLarge, match="declares"):
            await client.get_json("me/")
    assert counter.requests == 1
    assert counter.chunks == 0


async def test_a_write_whose_answer_is_too_large_is_uncertain_not_retried() -> None:
    counter = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        counter.requests += 1
        return httpx.Response(201, content=endless(counter))

    async with client_for(handler, max_body=1024) as client:
        with pytest.raises(WriteUncertain, match="may have been applied"):
            await client.post_json("lead/", {"name": "x"})
    assert counter.requests == 1


async def test_a_body_under_the_cap_is_read_whole() -> None:
    body = jsonnum.dumps({"data": [], "cursor_next": None, "pad": "y" * 5000}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json"}, content=body)

    async with client_for(handler, max_body=len(body)) as client:
        assert (await client.get_json("event/"))["pad"] == "y" * 5000


# ---------------------------------------------------------------------------- deadline


def dripping(counter: Counter) -> Callable[[httpx.Request], httpx.Response]:
    async def drip() -> AsyncIterator[bytes]:
        yield b"{"
        while True:
            counter.chunks += 1
            await asyncio.sleep(0.02)  # a byte at a time, each well within a read timeout
            yield b" "

    def handler(request: httpx.Request) -> httpx.Response:
        counter.requests += 1
        return httpx.Response(200, headers={"content-type": "application/json"}, content=drip())

    return handler


async def test_the_deadline_bounds_a_dripping_body() -> None:
    counter = Counter()
    async with client_for(
        dripping(counter), deadline=0.2, retry=RetryPolicy(max_attempts=2)
    ) as client:
        with pytest.raises(RequestTimeout, match=r"no complete answer within 0\.2 s"):
            await client.get_json("event/")
    assert counter.requests == 2  # a timeout is retried like any other, then given up
    assert counter.chunks < 100  # bounded by the deadline, not by the body's end


async def test_a_float_timeout_is_the_whole_request_deadline() -> None:
    client = CloseClient(BASE, api_key=KEY, timeout=2.5)
    assert client.deadline == 2.5
    await client.aclose()


async def test_a_write_past_the_deadline_is_uncertain_and_not_sent_again() -> None:
    counter = Counter()
    async with client_for(dripping(counter), deadline=0.1) as client:
        with pytest.raises(WriteUncertain):
            await client.post_json("lead/", {"name": "x"})
    assert counter.requests == 1


# ---------------------------------------------------------------------------- deep JSON


async def test_json_nested_100k_deep_is_one_error_not_a_recursion_crash() -> None:
    counter = Counter()
    deep = b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b', "cursor_next": null}'

    def handler(request: httpx.Request) -> httpx.Response:
        counter.requests += 1
        return httpx.Response(200, headers={"content-type": "application/json"}, content=deep)

    async with client_for(handler) as client:
        with pytest.raises(ResponseTooDeep, match="nested too deeply"):
            await client.get_json("event/")
    assert counter.requests == 1


# ---------------------------------------------------------------------------- pacing


def headerless(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"data": [], "cursor_next": None})


def announced(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={"data": [], "cursor_next": None},
        headers={"RateLimit": "limit=100, remaining=99, reset=1"},
    )


async def test_requests_are_paced_when_the_server_announces_no_limit() -> None:
    time = FakeTime()
    async with client_for(headerless, time=time, unannounced_rate=4.0) as client:
        for _ in range(5):
            await client.get_json("event/")
    # The first answer tells there is no header; from then on 4 requests a second.
    assert time.sleeps == [0.25, 0.25, 0.25, 0.25]


async def test_the_default_pace_is_ten_requests_a_second() -> None:
    time = FakeTime()
    async with client_for(headerless, time=time) as client:
        for _ in range(3):
            await client.get_json("event/")
    assert time.sleeps == [0.1, 0.1]


async def test_no_pacing_while_the_server_announces_its_limit() -> None:
    time = FakeTime()
    async with client_for(announced, time=time) as client:
        for _ in range(5):
            await client.get_json("event/")
    assert time.sleeps == []


async def test_pacing_can_be_turned_off() -> None:
    time = FakeTime()
    async with client_for(headerless, time=time, unannounced_rate=None) as client:
        for _ in range(5):
            await client.get_json("event/")
    assert time.sleeps == []


async def test_concurrent_requests_each_take_their_own_slot() -> None:
    time = FakeTime(advance=False)  # all three ask at the same instant
    async with client_for(headerless, time=time, unannounced_rate=10.0) as client:
        await client.get_json("event/")
        await asyncio.gather(*(client.get_json("event/") for _ in range(3)))
    # Reserved one after another from the same instant: 0.1, 0.2, 0.3 s away.
    assert sorted(time.sleeps) == [0.1, 0.2, 0.3]


def test_a_rate_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError):
        CloseClient(BASE, api_key=KEY, unannounced_rate=0)


# ---------------------------------------------------------------------------- secrets


def leaks(text: str, secrets: tuple[str, ...] = (KEY, BASIC, TOKEN)) -> list[str]:
    """Every run of PARTIAL_LEAK characters of a secret found in ``text``."""
    found = []
    for secret in secrets:
        for i in range(len(secret) - PARTIAL_LEAK + 1):
            if secret[i : i + PARTIAL_LEAK] in text:
                found.append(secret[i : i + PARTIAL_LEAK])
    return found


@pytest.mark.parametrize("secret", [KEY, BASIC, f"Basic {BASIC}"], ids=["key", "basic", "header"])
@pytest.mark.parametrize("status", [400, 401, 404, 429, 418])
async def test_an_echoed_credential_straddling_the_clip_never_leaks(
    secret: str, status: int
) -> None:
    # The case: the error text is clipped at 300 characters; a key that straddles
    # the cut used to print 44 of its 49 characters.
    for offset in range(260, 310, 3):
        body = {"error": "e" * offset + secret + " and more"}

        def handler(request: httpx.Request, body: dict[str, str] = body) -> httpx.Response:
            return httpx.Response(status, json=body, headers={"Retry-After": "999"})

        async with client_for(handler, retry=RetryPolicy(max_attempts=1)) as client:
            with pytest.raises(Exception) as caught:
                await client.get_json("event/")
        assert leaks(str(caught.value)) == [], (offset, str(caught.value))
        assert leaks(repr(caught.value)) == []


async def test_field_errors_are_scrubbed_too() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"errors": [], "field-errors": {"k": "x" * 290 + KEY}})

    async with client_for(handler) as client:
        with pytest.raises(BadRequest) as caught:
            await client.get_json("event/")
    assert leaks(str(caught.value)) == []
    assert all(leaks(v) == [] for v in caught.value.field_errors.values())


async def test_a_partial_echo_of_the_key_is_scrubbed() -> None:
    # A proxy that cut the header: only part of the key comes back.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": f"bad key {KEY[:30]}"})

    async with client_for(handler) as client:
        with pytest.raises(Exception) as caught:
            await client.get_json("me/")
    assert leaks(str(caught.value)) == []


async def test_a_body_echoing_the_request_headers_loses_the_credential() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"headers": dict(request.headers)})

    async with client_for(handler) as client:
        body = await client.get_json("me/")
    assert leaks(jsonnum.dumps(body)) == []
    assert body["headers"]["authorization"] == "Basic ***"


async def test_a_bearer_token_echoed_in_a_429_is_scrubbed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        echoed = request.headers["authorization"]
        return httpx.Response(429, json={"error": "x" * 280 + echoed}, headers={"Retry-After": "0"})

    async with client_for(handler, api_key=None, access_token=TOKEN,
                          retry=RetryPolicy(max_attempts=2)) as client:
        with pytest.raises(RateLimited) as caught:
            await client.get_json("event/")
    assert leaks(str(caught.value)) == []


# ---------------------------------------------------------------------------- the property

FILLER = "-"  # not in any secret, so every leak found comes from the secret itself


def check_line(secret: str, before: int, after: int, limit: int) -> None:
    scrubber = Scrubber(credential_forms(KEY, TOKEN))
    text = FILLER * before + secret + FILLER * after
    line = scrubber.line(text, limit)
    assert len(line) <= limit
    assert leaks(line) == [], (before, after, limit, line)
    assert leaks(scrubber.scrub(text)) == []


@pytest.mark.parametrize("secret", [KEY, BASIC, BASIC.rstrip("="), TOKEN])
def test_the_secret_at_every_offset_of_texts_of_every_length(secret: str) -> None:
    """Exhaustive over a clip limit shorter than the secret and one longer: every length
    of text around the secret, every offset of it, every cut."""
    for limit in (17, 64):
        for before in range(0, limit + 2):
            for after in range(0, limit + 2 - before if before <= limit else 1):
                check_line(secret, before, after, limit)


@settings(max_examples=300, deadline=None)
@given(
    secret=st.sampled_from([KEY, BASIC, TOKEN, KEY[5:40], BASIC[:20]]),
    before=st.integers(0, 700),
    after=st.integers(0, 700),
    limit=st.integers(1, 600),
)
def test_scrubbing_then_clipping_never_leaks_any_part(
    secret: str, before: int, after: int, limit: int
) -> None:
    check_line(secret, before, after, limit)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300), cut=st.integers(0, 60))
def test_scrubbing_text_without_secrets_changes_nothing(text: str, cut: int) -> None:
    scrubber = Scrubber(credential_forms(KEY, TOKEN))
    if not leaks(text) and "***" not in text:
        assert scrubber.scrub(text) == text
