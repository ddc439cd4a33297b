"""The emulated endpoints: validation, auth, privacy, rate limits, faults, lookups."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from close_tui.core import filters
from close_tui.emulator import Emulator, FakeClock

MakeEmulator = Callable[..., tuple[Emulator, FakeClock]]


def _error(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}
    return str(body["error"])


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "fields",
    [
        {"lead_id", "object_id"},
        {"action"},
        {"object_id"},
        {"request_id", "user_id"},
        {"lead_id", "action"},
    ],
)
def test_unsupported_combination_names_the_nearest(
    default_emulator: Emulator, call: Any, fields: set[str]
) -> None:
    params = {
        f: {
            "lead_id": "lead_x",
            "object_id": "acti_x",
            "user_id": "user_x",
            "request_id": "req_x",
            "action": "created",
        }[f]
        for f in fields
    }
    response = call(default_emulator, "/event/", params)
    assert response.status_code == 400
    assert _error(response) == filters.unsupported_message(fields)
    assert "RateLimit" in response.headers


def test_skip_is_refused(default_emulator: Emulator, call: Any) -> None:
    response = call(default_emulator, "/event/", {"_skip": "50"})
    assert response.status_code == 400
    assert "_skip" in _error(response)


def test_limit_is_clamped_and_defaults_to_50(default_emulator: Emulator, call: Any) -> None:
    assert len(call(default_emulator, "/event/", {"_limit": "500"}).json()["data"]) == 50
    assert len(call(default_emulator, "/event/").json()["data"]) == 50
    assert len(call(default_emulator, "/event/", {"_limit": "3"}).json()["data"]) == 3
    assert call(default_emulator, "/event/", {"_limit": "many"}).status_code == 400


def test_empty_cursor_means_no_cursor(default_emulator: Emulator, call: Any) -> None:
    first = call(default_emulator, "/event/").json()
    same = call(default_emulator, "/event/", {"_cursor": ""}).json()
    assert [e["id"] for e in same["data"]] == [e["id"] for e in first["data"]]
    assert first["cursor_previous"] is None and first["cursor_next"]


def test_unknown_params_are_tolerated(default_emulator: Emulator, call: Any) -> None:
    response = call(default_emulator, "/event/", {"_fields": "id", "whatever": "1"})
    assert response.status_code == 200
    assert len(response.json()["data"]) == 50


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-19",
        "2026-11-19T10:00:00",
        "2026-11-19T10:00:00.123456",
        "2026-11-19T10:00:00Z",
        "2026-11-19T11:00:00+01:00",
    ],
)
def test_date_forms_are_accepted(default_emulator: Emulator, call: Any, value: str) -> None:
    response = call(default_emulator, "/event/", {"date_updated__gte": value})
    assert response.status_code == 200
    start = (
        datetime(2026, 11, 19, 10, tzinfo=UTC)
        if "T" in value
        else datetime(2026, 11, 19, tzinfo=UTC)
    )
    for ev in response.json()["data"]:
        assert datetime.fromisoformat(ev["date_updated"]).replace(tzinfo=UTC) >= start


def test_naive_dates_are_utc(default_emulator: Emulator) -> None:
    naive = default_emulator.expected({"date_updated__lt": "2026-11-19T10:00:00"})
    explicit = default_emulator.expected({"date_updated__lt": "2026-11-19T11:00:00+01:00"})
    assert [e["id"] for e in naive] == [e["id"] for e in explicit]


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "2026-11-19T25:00", "1"])
def test_unparsable_dates_are_refused(default_emulator: Emulator, call: Any, value: str) -> None:
    response = call(default_emulator, "/event/", {"date_updated__gt": value})
    assert response.status_code == 400
    assert "date_updated__gt" in _error(response)


def test_cursor_with_other_filters_is_refused(default_emulator: Emulator, call: Any) -> None:
    lead = next(iter(default_emulator.leads))
    first = call(default_emulator, "/event/", {"lead_id": lead, "_limit": "5"}).json()
    cursor = first["cursor_next"]
    assert cursor
    ok = call(default_emulator, "/event/", {"lead_id": lead, "_cursor": cursor, "_limit": "5"})
    assert ok.status_code == 200
    other = call(default_emulator, "/event/", {"_cursor": cursor})
    assert other.status_code == 400
    other_lead = list(default_emulator.leads)[1]
    assert (
        call(default_emulator, "/event/", {"lead_id": other_lead, "_cursor": cursor}).status_code
        == 400
    )
    dated = call(
        default_emulator,
        "/event/",
        {"lead_id": lead, "_cursor": cursor, "date_updated__gte": "2026-11-01"},
    )
    assert dated.status_code == 400


def test_tampered_cursor_is_refused(default_emulator: Emulator, call: Any) -> None:
    cursor = call(default_emulator, "/event/").json()["cursor_next"]
    for bad in (cursor[:-2] + "xx", "garbage", cursor + "A", "e30.AAAA"):
        response = call(default_emulator, "/event/", {"_cursor": bad})
        assert response.status_code == 400
        assert _error(response) == "invalid or expired cursor"


def test_cursors_expire(make_emulator: MakeEmulator, call: Any) -> None:
    em, clock = make_emulator(cursor_ttl=60.0, empty_page_rate=0.0)
    cursor = call(em, "/event/", {"_limit": "5"}).json()["cursor_next"]
    clock.advance(59)
    assert call(em, "/event/", {"_cursor": cursor, "_limit": "5"}).status_code == 200
    clock.advance(2)
    response = call(em, "/event/", {"_cursor": cursor, "_limit": "5"})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid or expired cursor"}


def test_cursors_are_opaque_and_not_offsets(default_emulator: Emulator, call: Any) -> None:
    body = call(default_emulator, "/event/", {"_limit": "5"}).json()
    cursor = body["cursor_next"]
    assert isinstance(cursor, str) and not cursor.isdigit()
    assert cursor != "5" and "offset" not in cursor


# ---------------------------------------------------------------- one event, lookups


def test_get_one_event(default_emulator: Emulator, call: Any) -> None:
    ev = default_emulator.events()[123]
    response = call(default_emulator, f"/event/{ev['id']}/")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(ev))
    assert default_emulator.event(ev["id"]) == ev
    missing = call(default_emulator, "/event/ev_0000000000000000000000/")
    assert missing.status_code == 404
    assert default_emulator.event("ev_0000000000000000000000") is None
    assert "error" in missing.json()


def test_me_users_and_leads(default_emulator: Emulator, call: Any) -> None:
    em = default_emulator
    me = call(em, "/me/").json()
    assert {"id", "first_name", "last_name", "email"} <= set(me)
    assert me["organizations"] == [{"id": em.organization["id"], "name": em.organization["name"]}]
    member_me = call(em, "/me/", key="member").json()
    assert member_me["id"] != me["id"]

    page1 = call(em, "/user/", {"_limit": "3"}).json()
    page2 = call(em, "/user/", {"_limit": "3", "_skip": "3"}).json()
    rest = call(em, "/user/", {"_limit": "100", "_skip": "6"}).json()
    assert page1["has_more"] and not rest["has_more"]
    ids = [u["id"] for u in page1["data"] + page2["data"] + rest["data"]]
    assert ids == [u["id"] for u in em.users]

    lead_id, lead = next(iter(em.leads.items()))
    full = call(em, f"/lead/{lead_id}/").json()
    assert full["display_name"] == lead["display_name"]
    small = call(em, f"/lead/{lead_id}/", {"_fields": "id,display_name"}).json()
    assert small == {"id": lead_id, "display_name": lead["display_name"]}
    deleted = next(iter(em.sim.deleted_lead_ids))
    assert call(em, f"/lead/{deleted}/").status_code == 404


def test_unknown_paths_and_methods(default_emulator: Emulator, call: Any) -> None:
    assert call(default_emulator, "/nothing/").status_code == 404
    assert call(default_emulator, "/event").status_code == 404
    assert call(default_emulator, "/event/", method="POST").status_code == 405


# ---------------------------------------------------------------- auth and privacy


def test_wrong_or_missing_key_is_401(default_emulator: Emulator, call: Any) -> None:
    for key in (None, "api_wrong.key", default_emulator.admin_key + "x"):
        response = call(default_emulator, "/event/", key=key)
        assert response.status_code == 401
        assert _error(response)
        assert "ratelimit" in response.headers


def test_bearer_token_works(default_emulator: Emulator, call: Any) -> None:
    headers = {"Authorization": f"Bearer {default_emulator.member_key}"}
    response = call(default_emulator, "/me/", key=None, headers=headers)
    assert response.status_code == 200
    assert response.json()["id"] == default_emulator.sim.member_user


def test_member_key_hides_old_payloads(default_emulator: Emulator, call: Any) -> None:
    em = default_emulator
    now = em.clock()
    params = {"date_updated__gte": (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S")}
    seen_recent = seen_old = False
    cursor: str | None = None
    member: list[dict[str, Any]] = []
    while True:
        query = dict(params) | ({"_cursor": cursor} if cursor else {})
        body = call(em, "/event/", query, key="member").json()
        member += body["data"]
        cursor = body["cursor_next"]
        if not cursor:
            break
    assert member == em.expected(params, admin=False)
    for ev in member:
        created = datetime.fromisoformat(ev["date_created"]).replace(tzinfo=UTC)
        if now - created <= timedelta(hours=1):
            assert "data" in ev and "previous_data" in ev
            seen_recent = True
        else:
            assert "data" not in ev and "previous_data" not in ev
            assert {"id", "changed_fields", "meta"} <= set(ev)
            seen_old = True
    assert seen_recent and seen_old
    old = em.events()[-1]
    one = call(em, f"/event/{old['id']}/", key="member").json()
    assert "data" not in one and "previous_data" not in one
    assert "data" in call(em, f"/event/{old['id']}/", key="admin").json()


# ---------------------------------------------------------------- headers and rate limits


def test_ratelimit_and_date_on_every_answer(default_emulator: Emulator, call: Any) -> None:
    for response in (
        call(default_emulator, "/event/"),
        call(default_emulator, "/event/", {"action": "x"}),
        call(default_emulator, "/nope/"),
        call(default_emulator, "/me/", key=None),
    ):
        assert response.headers["ratelimit"].startswith("limit=")
        assert response.headers["date"] == "Fri, 20 Nov 2026 12:00:00 GMT"


def test_429_with_retry_after_and_decimal_reset(make_emulator: MakeEmulator, call: Any) -> None:
    em, clock = make_emulator(rate_limit=3, rate_window=1.0)
    clock.set(datetime(2026, 11, 20, 12, 0, 0, 266000, tzinfo=UTC))
    answers = [call(em, "/me/") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[0].headers["RateLimit"] == "limit=3, remaining=2, reset=0.734"
    assert answers[2].headers["RateLimit"] == "limit=3, remaining=0, reset=0.734"
    limited = answers[3]
    assert limited.headers["ratelimit"] == "limit=3, remaining=0, reset=0.734"
    assert limited.headers["retry-after"] == "1"
    # The other key has its own budget; the next window starts afresh.
    assert call(em, "/me/", key="member").status_code == 200
    clock.advance(0.8)
    again = call(em, "/me/")
    assert again.status_code == 200
    assert again.headers["ratelimit"] == "limit=3, remaining=2, reset=0.934"
    assert [r.status for r in em.request_log] == [200, 200, 200, 429, 200, 200]


def test_retry_after_rounds_up(make_emulator: MakeEmulator, call: Any) -> None:
    em, clock = make_emulator(rate_limit=1, rate_window=10.0)
    clock.set(datetime(2026, 11, 20, 12, 0, 7, 500000, tzinfo=UTC))
    call(em, "/me/")
    limited = call(em, "/me/")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3"
    assert limited.headers["ratelimit"].endswith("reset=2.5")


def test_semicolon_and_canonical_header_styles(make_emulator: MakeEmulator, call: Any) -> None:
    em, _ = make_emulator(rate_limit=100, rate_header_style="semicolon", header_case="canonical")
    response = call(em, "/me/")
    assert response.headers["RateLimit"] == "limit=100; remaining=99; reset=1"
    assert ("RateLimit", "limit=100; remaining=99; reset=1") in [
        (k.decode(), v.decode()) for k, v in response.headers.raw
    ]


def test_no_limit_means_no_429(make_emulator: MakeEmulator, call: Any) -> None:
    em, _ = make_emulator()
    statuses = {call(em, "/me/").status_code for _ in range(30)}
    assert statuses == {200}
    assert call(em, "/me/").headers["ratelimit"] == "limit=1000, remaining=969, reset=1"


# ---------------------------------------------------------------- faults and latency


def _fault_run(em: Emulator, call: Any, n: int) -> list[str]:
    outcomes = []
    for i in range(n):
        try:
            response = call(em, "/event/", {"_limit": str(1 + i % 5)})
        except httpx.RemoteProtocolError:
            outcomes.append("drop")
        except httpx.ReadTimeout:
            outcomes.append("slow")
        else:
            outcomes.append(f"{response.status_code}:{response.headers['content-type']}")
    return outcomes


def test_faults_are_deterministic_per_seed(make_emulator: MakeEmulator, call: Any) -> None:
    a, _ = make_emulator(fault_rate=0.5)
    b, _ = make_emulator(fault_rate=0.5)
    c, _ = make_emulator(fault_rate=0.5, seed=8)
    run_a, run_b, run_c = (_fault_run(em, call, 60) for em in (a, b, c))
    assert run_a == run_b
    assert run_a != run_c
    kinds = {o for o in run_a}
    assert {"drop", "slow", "502:text/html", "503:application/json", "200:text/plain"} <= kinds
    faults = [r.fault for r in a.request_log if r.fault]
    assert len(faults) >= 15
    assert {"html502", "503", "drop", "slow", "truncated", "content_type"} == set(faults)


def test_fault_bodies(make_emulator: MakeEmulator, call: Any) -> None:
    em, _ = make_emulator(fault_rate=1.0, fault_kinds=("truncated",))
    response = call(em, "/event/")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    em2, _ = make_emulator(fault_rate=1.0, fault_kinds=("html502",))
    page = call(em2, "/event/")
    assert page.status_code == 502 and page.text.startswith("<html>")
    assert "ratelimit" in page.headers


def test_faults_have_no_effect(make_emulator: MakeEmulator, call: Any) -> None:
    """Retrying through faults pages to exactly the truth and uses no rate budget."""
    em, _ = make_emulator(fault_rate=0.3, rate_limit=1000, empty_page_rate=0.0)
    lead = next(iter(em.leads))
    params = {"lead_id": lead, "_limit": "4"}
    got: list[str] = []
    cursor: str | None = None
    while True:
        query = params | ({"_cursor": cursor} if cursor else {})
        try:
            response = call(em, "/event/", query)
            body = response.json()
            if response.status_code != 200:
                continue
        except (httpx.HTTPError, ValueError):
            continue
        got += [e["id"] for e in body["data"]]
        cursor = body["cursor_next"]
        if cursor is None:
            break
    assert got == [e["id"] for e in em.expected({"lead_id": lead})]
    clean = [r for r in em.request_log if r.fault is None]
    assert len(clean) < len(em.request_log)
    remaining = call(em, "/me/").headers["ratelimit"]
    # Only the clean requests (+ this one) counted: all at the same FakeClock instant.
    assert remaining.startswith(f"limit=1000, remaining={1000 - len(clean) - 1},") or (
        em.request_log[-1].fault is not None
    )


async def test_handle_async_applies_latency(
    make_emulator: MakeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    em, _ = make_emulator(latency_ms=250.0)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("close_tui.emulator.api.asyncio.sleep", fake_sleep)
    async with httpx.AsyncClient(
        transport=em.transport(),
        base_url="http://emulator.test/api/v1",
        auth=(em.admin_key, ""),
    ) as client:
        response = await client.get("/me/")
    assert response.status_code == 200
    assert slept == [0.25]


# ---------------------------------------------------------------- request log


def test_request_log_records_everything(make_emulator: MakeEmulator, call: Any) -> None:
    em, _ = make_emulator()
    ev = em.events()[0]
    call(em, f"/event/{ev['id']}/", key="member")
    call(em, "/event/", {"lead_id": ev["lead_id"] or "", "_limit": "7"})
    call(em, "/me/", key="nope")
    first, second, third = em.request_log
    assert (first.method, first.path, first.key_kind, first.status) == (
        "GET",
        f"/api/v1/event/{ev['id']}/",
        "member",
        200,
    )
    assert second.params == {"lead_id": ev["lead_id"] or "", "_limit": "7"}
    assert second.key_kind == "admin"
    assert (third.key_kind, third.status) == (None, 401)
