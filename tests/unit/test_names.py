"""NameDirectory: display names for user, lead and custom field ids.

Against the emulator in-process (the real client, the real endpoints) for the happy
paths and deletions, and against scripted ``httpx.MockTransport`` servers for errors.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from close_tui.core import names as names_module
from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.models import Event
from close_tui.core.names import NameDirectory
from close_tui.emulator import Emulator

BASE_URL = "http://127.0.0.1:9/api/v1"
KEY = "api_test.secret"


async def no_sleep(_: float) -> None:
    return None


def client_for(transport: httpx.AsyncBaseTransport, key: str = KEY) -> CloseClient:
    return CloseClient(
        BASE_URL,
        api_key=key,
        transport=transport,
        retry=RetryPolicy(max_attempts=1, base_delay=0.0, jitter=0.0),
        sleep=no_sleep,
    )


def emulator_client(emulator: Emulator) -> CloseClient:
    return client_for(emulator.transport(), emulator.admin_key)


def lookups(emulator: Emulator, since: int, prefix: str) -> list[Any]:
    return [r for r in emulator.request_log[since:] if r.path.startswith(prefix)]


def events_of(emulator: Emulator, predicate: Callable[[dict[str, Any]], bool]) -> list[Event]:
    return [Event.model_validate(raw) for raw in emulator.events() if predicate(raw)]


def make_event(**fields: Any) -> Event:
    raw: dict[str, Any] = {
        "id": "ev_00000000000000000000aa",
        "date_created": "2026-11-20T12:00:00.000000",
        "date_updated": "2026-11-20T12:00:00.000000",
        "object_type": "activity.note",
        "action": "created",
        "object_id": "acti_1",
        "lead_id": "lead_1",
        "data": {},
        "previous_data": {},
    }
    raw.update(fields)
    return Event.model_validate(raw)


class Scripted:
    """A fake server: ``answer(request) -> httpx.Response``; records every request."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return self.answer(request)

        return httpx.MockTransport(handle)


def json_response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


# ---------------------------------------------------------------------- users


async def test_users_are_paged_with_skip_and_limit_and_loaded_once(
    default_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(names_module, "USER_PAGE_SIZE", 3)
    directory = NameDirectory(emulator_client(default_emulator))
    start = len(default_emulator.request_log)
    first, second = await asyncio.gather(directory.users(), directory.users())
    again = await directory.users()
    expected = {u["id"]: f"{u['first_name']} {u['last_name']}" for u in default_emulator.users}
    assert first == second == again == expected
    pages = [r.params for r in lookups(default_emulator, start, "/api/v1/user/")]
    assert pages == [
        {"_skip": "0", "_limit": "3"},
        {"_skip": "3", "_limit": "3"},
        {"_skip": "6", "_limit": "3"},
    ]
    assert all(directory.names()[uid] == name for uid, name in expected.items())
    assert directory.failures == 0


async def test_a_failing_user_list_gives_no_names_and_a_counted_failure() -> None:
    server = Scripted(lambda request: json_response(500, {"error": "boom"}))
    changes: list[int] = []
    directory = NameDirectory(client_for(server.transport()), on_change=lambda: changes.append(1))
    assert await directory.users() == {}
    assert await directory.users() == {}
    assert len(server.requests) == 1  # not hammered: the client already retried
    assert directory.failures == 1 and "500" in directory.last_error
    assert changes == []


async def test_a_user_list_of_the_wrong_shape_is_a_failure_not_a_crash() -> None:
    server = Scripted(lambda request: json_response(200, ["not", "an", "object"]))
    directory = NameDirectory(client_for(server.transport()))
    assert await directory.users() == {}
    assert directory.failures == 1


async def test_users_keep_what_earlier_pages_gave_when_a_later_page_fails() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params["_skip"] == "0":
            user = {"id": "user_a", "first_name": "Gob", "last_name": "Bluth"}
            return json_response(200, {"data": [user], "has_more": True})
        return json_response(503, {"error": "down"})

    directory = NameDirectory(client_for(Scripted(answer).transport()))
    assert await directory.users() == {"user_a": "Gob Bluth"}
    assert directory.failures == 1


async def test_a_user_without_a_name_is_named_by_email() -> None:
    users = [{"id": "user_a", "first_name": "", "last_name": None, "email": "a@x.example"}]
    server = Scripted(lambda request: json_response(200, {"data": users, "has_more": False}))
    directory = NameDirectory(client_for(server.transport()))
    assert await directory.users() == {"user_a": "a@x.example"}


# ---------------------------------------------------------------------- learning from events


async def test_learn_names_leads_users_and_custom_fields_from_payloads(
    default_emulator: Emulator,
) -> None:
    changes: list[int] = []
    directory = NameDirectory(
        emulator_client(default_emulator), on_change=lambda: changes.append(1)
    )
    events = [Event.model_validate(raw) for raw in default_emulator.events()]
    directory.learn(events)
    names = directory.names()
    assert changes == [1] and directory.version == 1  # one notification per call
    for lead_id, sim in default_emulator.sim.lead_sims.items():
        if lead_id in names:
            assert names[lead_id] == sim.lead.state["display_name"]
    # Users named inside activities (user_id/user_name, created_by/created_by_name).
    active = {raw["user_id"] for raw in default_emulator.events() if raw["user_id"]}
    for user_id in active:
        assert names[user_id] == default_emulator.sim.user_names[user_id]
    # Custom fields: id -> name, from the custom_fields.* events.
    field_events = [e for e in events if e.object_type.startswith("custom_fields.")]
    assert field_events and all(e.object_id in names for e in field_events)
    directory.learn(events)  # nothing new: no notification
    assert changes == [1]
    assert directory.requests == 0  # learning never makes a request


async def test_deleted_leads_are_named_from_the_deletion_events_previous_data(
    default_emulator: Emulator,
) -> None:
    deletions = events_of(
        default_emulator, lambda raw: raw["object_type"] == "lead" and raw["action"] == "deleted"
    )
    assert deletions
    directory = NameDirectory(emulator_client(default_emulator))
    directory.learn(deletions)
    for event in deletions:
        assert directory.name(event.object_id) == event.previous_data["display_name"]


def test_the_newest_name_wins_and_a_leads_own_name_beats_a_childs_copy() -> None:
    directory = NameDirectory(client_for(Scripted(lambda r: json_response(404, {})).transport()))
    old = make_event(
        object_type="lead", object_id="lead_1", action="updated",
        data={"display_name": "Acme"}, date_updated="2026-11-19T10:00:00",
    )  # fmt: skip
    new = make_event(
        object_type="lead", object_id="lead_1", action="updated",
        data={"display_name": "Acme Inc"}, date_updated="2026-11-20T10:00:00",
    )  # fmt: skip
    child = make_event(
        object_type="task.lead", data={"lead_name": "ACME (old copy)"},
        date_updated="2026-11-21T10:00:00",
    )  # fmt: skip
    directory.learn([new, old])  # newest first, as pages come
    assert directory.name("lead_1") == "Acme Inc"
    directory.learn([child])
    assert directory.name("lead_1") == "Acme Inc"
    directory.learn(
        [
            make_event(
                object_type="lead",
                object_id="lead_1",
                action="updated",
                data={"display_name": "Acme Corp"},
                date_updated="2026-11-22T10:00:00",
            )
        ]
    )  # live follow brings a newer event later
    assert directory.name("lead_1") == "Acme Corp"


def test_learn_survives_any_payload_and_on_change_errors() -> None:
    def broken() -> None:
        raise RuntimeError("app bug")

    directory = NameDirectory(
        client_for(Scripted(lambda r: json_response(404, {})).transport()), on_change=broken
    )
    # model_construct skips validation: wrong types and no dates at all reach learn().
    junk: dict[str, Any] = {
        "id": "ev_x", "object_type": None, "action": None, "data": [1],
        "previous_data": "x", "lead_id": 5,
    }  # fmt: skip
    epoch_event = Event.model_construct(**junk)
    odd = [
        make_event(data=None, previous_data=None),
        make_event(data=[1, 2], previous_data="text"),
        make_event(object_type="lead", object_id="lead_2", data={"display_name": ["x"]}),
        make_event(data={"user_id": 7, "user_name": {"a": 1}}),
        epoch_event,
        make_event(object_type="lead", object_id="lead_3", data={"display_name": "Fine"}),
    ]
    directory.learn(odd)
    assert directory.name("lead_3") == "Fine"
    assert directory.last_error.startswith("on_change failed")


# ---------------------------------------------------------------------- leads by id


async def test_leads_are_resolved_once_each_with_only_the_fields_needed(
    default_emulator: Emulator,
) -> None:
    alive = [lid for lid, sim in default_emulator.sim.lead_sims.items() if not sim.deleted][:12]
    changes: list[int] = []
    directory = NameDirectory(
        emulator_client(default_emulator), on_change=lambda: changes.append(1)
    )
    start = len(default_emulator.request_log)
    first, second = await asyncio.gather(
        directory.resolve_leads(alive), directory.resolve_leads(reversed(alive))
    )
    again = await directory.resolve_leads([*alive, *alive])
    expected = {
        lid: default_emulator.sim.lead_sims[lid].lead.state["display_name"] for lid in alive
    }
    assert first == second == again == expected
    requests = lookups(default_emulator, start, "/api/v1/lead/")
    assert sorted(r.path for r in requests) == sorted(f"/api/v1/lead/{lid}/" for lid in alive)
    assert all(r.params == {"_fields": "id,display_name"} for r in requests)
    assert directory.requests == len(alive)
    assert len(changes) >= 1 and directory.failures == 0


async def test_named_leads_and_odd_ids_cause_no_request(default_emulator: Emulator) -> None:
    directory = NameDirectory(emulator_client(default_emulator))
    directory.learn([make_event(object_type="lead", object_id="lead_1", data={"name": "Acme"})])
    start = len(default_emulator.request_log)
    result = await directory.resolve_leads(["lead_1", "lead_../../me", "cont_x", "", "lead_a/b"])
    assert result == {"lead_1": "Acme"}
    assert lookups(default_emulator, start, "/api/v1/") == []


async def test_a_deleted_lead_answers_404_and_is_named_by_its_deletion_event(
    default_emulator: Emulator,
) -> None:
    deleted_id = sorted(default_emulator.sim.deleted_lead_ids)[0]
    directory = NameDirectory(emulator_client(default_emulator))
    start = len(default_emulator.request_log)
    assert await directory.resolve_leads([deleted_id]) == {}
    assert deleted_id in directory.missing_leads
    assert directory.failures == 0  # a deleted lead is a fact, not a failure
    deletion = events_of(
        default_emulator,
        lambda raw: raw["object_id"] == deleted_id and raw["action"] == "deleted",
    )
    directory.learn(deletion)
    assert await directory.resolve_leads([deleted_id]) == {
        deleted_id: default_emulator.sim.lead_sims[deleted_id].lead.state["display_name"]
    }
    assert len(lookups(default_emulator, start, "/api/v1/lead/")) == 1  # negative-cached


@pytest.mark.parametrize(
    "answer",
    [
        json_response(500, {"error": "boom"}),
        json_response(403, {"error": "no access"}),
        json_response(200, {"id": "lead_x"}),  # no name in the answer
        json_response(200, ["a list"]),
        httpx.Response(200, content=b"<html>", headers={"content-type": "text/html"}),
    ],
    ids=["500", "403", "no-name", "list", "html"],
)
async def test_lead_errors_are_counted_negative_cached_and_never_raised(
    answer: httpx.Response,
) -> None:
    server = Scripted(lambda request: answer)
    directory = NameDirectory(client_for(server.transport()))
    assert await directory.resolve_leads(["lead_x", "lead_y"]) == {}
    assert await directory.resolve_leads(["lead_x", "lead_y"]) == {}
    assert len(server.requests) == 2  # one per lead, never again
    assert directory.failures == 2
    assert "lead_" in directory.last_error and KEY not in directory.last_error


async def test_lead_lookups_run_with_limited_concurrency() -> None:
    in_flight = 0
    most = 0
    release = asyncio.Event()

    class SlowServer:
        async def get_json(self, path: str, params: Any = None) -> Any:
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            await release.wait()
            in_flight -= 1
            return {"id": path.split("/")[1], "display_name": "Lead " + path.split("/")[1]}

    directory = NameDirectory(SlowServer(), lead_concurrency=3)
    ids = [f"lead_{n}" for n in range(10)]
    task = asyncio.ensure_future(directory.resolve_leads(ids))
    for _ in range(5):
        await asyncio.sleep(0)
    assert most == 3
    release.set()
    result = await task
    assert result == {lead_id: f"Lead {lead_id}" for lead_id in ids}
    assert most == 3


async def test_a_cancelled_caller_leaves_the_lookups_to_finish_for_the_next() -> None:
    release = asyncio.Event()
    calls: list[str] = []

    class SlowServer:
        async def get_json(self, path: str, params: Any = None) -> Any:
            calls.append(path)
            await release.wait()
            return {"display_name": "Acme"}

    directory = NameDirectory(SlowServer())
    first = asyncio.ensure_future(directory.resolve_leads(["lead_1"]))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    release.set()
    assert await directory.resolve_leads(["lead_1"]) == {"lead_1": "Acme"}
    assert calls == ["lead/lead_1/"]


async def test_api_names_beat_names_from_events(default_emulator: Emulator) -> None:
    lead_id = next(lid for lid, sim in default_emulator.sim.lead_sims.items() if not sim.deleted)
    directory = NameDirectory(emulator_client(default_emulator))
    await directory.resolve_leads([lead_id])
    directory.learn([make_event(lead_id=lead_id, object_type="task.lead",
                                data={"lead_name": "stale copy"})])  # fmt: skip
    assert (
        directory.name(lead_id)
        == default_emulator.sim.lead_sims[lead_id].lead.state["display_name"]
    )


async def test_reset_forgets_everything(default_emulator: Emulator) -> None:
    directory = NameDirectory(emulator_client(default_emulator))
    await directory.users()
    directory.learn([make_event(object_type="lead", object_id="lead_1", data={"name": "A"})])
    version = directory.version
    directory.reset()
    assert dict(directory.names()) == {} and directory.version > version
    assert await directory.users()  # loads again
