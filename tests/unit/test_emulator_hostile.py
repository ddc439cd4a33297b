"""The hostile variant of the emulator's organization (``EmulatorConfig(hostile=True)``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from close_tui.core import jsonnum
from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.filters import EventFilter
from close_tui.emulator import Emulator, FakeClock, hostile

Make = Callable[..., tuple[Emulator, FakeClock]]
Call = Callable[..., httpx.Response]  # the ``call`` fixture of tests/unit/conftest.py


def test_hostile_records_are_the_newest_and_deterministic(make_emulator: Make) -> None:
    first, _ = make_emulator(hostile=True)
    second, _ = make_emulator(hostile=True)
    assert [e["id"] for e in first.events()] == [e["id"] for e in second.events()]
    newest = {e["object_id"] for e in first.events()[:8]}
    assert {hostile.HOSTILE_LEAD_ID, hostile.HOSTILE_CONTACT_ID, hostile.HOSTILE_NOTE_ID,
            hostile.HOSTILE_OBJECT_ID} <= newest
    plain, _ = make_emulator()
    assert not any("Hostile" in str(e["object_id"]) for e in plain.events())
    assert plain.organization["name"] != hostile.ORGANIZATION_NAME


def test_huge_numbers_go_out_as_json_literals(make_emulator: Make, call: Call) -> None:
    emulator, _ = make_emulator(hostile=True)
    [event] = emulator.expected({"object_id": hostile.HOSTILE_OBJECT_ID,
                                 "object_type": hostile.UNKNOWN_TYPE})
    only = {"object_id": hostile.HOSTILE_OBJECT_ID, "object_type": hostile.UNKNOWN_TYPE}
    for answer in (call(emulator, "/event/", only),
                   call(emulator, f"/event/{event['id']}/")):
        assert b'"huge_float":1E+400' in answer.content  # not Python's "Infinity"
        assert b'"tiny_float":1E-400' in answer.content
        assert b'"long_int":' + b"9" * 5000 + b"," in answer.content
        assert b'"huge_int":1' + b"0" * 400 in answer.content
        body: Any = jsonnum.loads(answer.content)
        data = (body["data"][0] if "cursor_next" in body else body)["data"]
        assert data["huge_int"] == 10**400 and isinstance(data["huge_int"], int)
        assert data["huge_float"] == Decimal("1e400")
        assert data["tiny_float"] == Decimal("1e-400")
        assert data["long_int"] == Decimal("9" * 5000)
        assert len(data["big_array"]) == hostile.ARRAY_LENGTH
        depth, node = 0, data["nested"]
        while "next" in node:
            depth, node = depth + 1, node["next"]
        assert depth == hostile.DEPTH


def test_names_and_texts_carry_every_hostile_fragment(make_emulator: Make, call: Call) -> None:
    emulator, _ = make_emulator(hostile=True)
    me = call(emulator, "/me/").json()
    assert me["organizations"][0]["name"] == hostile.ORGANIZATION_NAME
    users = call(emulator, "/user/").json()["data"]
    assert any(u["first_name"] == hostile.USER_FIRST for u in users)
    lead = call(emulator, f"/lead/{hostile.HOSTILE_LEAD_ID}/").json()
    assert hostile.OSC52 in lead["display_name"] and hostile.CF_KEY in lead
    [note] = emulator.expected({"object_id": hostile.HOSTILE_NOTE_ID})
    assert len(note["data"]["note"].encode()) <= hostile.NOTE_BYTES
    assert len(note["data"]["note"].encode()) > hostile.NOTE_BYTES - 8
    for fragment in (hostile.OSC52, hostile.OSC8, hostile.CLEAR, hostile.BEL, hostile.RLO,
                     hostile.MARKUP_CLICK, hostile.WIDE):
        assert fragment in hostile.EVERYTHING
        assert fragment in note["data"]["note"]


async def test_a_5000_digit_number_in_one_event_does_not_block_its_page() -> None:
    event = {"id": "ev_1", "date_created": "2026-11-20T12:00:00", "object_type": "lead",
             "date_updated": "2026-11-20T12:00:00", "action": "updated"}
    body = json.dumps({"data": [event], "cursor_next": None}).replace(
        '"action"', '"data": {"n": ' + "9" * 5000 + '}, "action"'
    )

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body.encode(),
                              headers={"content-type": "application/json"})

    async def no_sleep(_: float) -> None:
        return None

    client = CloseClient("https://close.example/api/v1", api_key="api_x.y",
                         transport=httpx.MockTransport(answer),
                         retry=RetryPolicy(max_attempts=1), sleep=no_sleep)
    page = await client.list_page(EventFilter())
    assert page.data[0].id == "ev_1"
