"""The emulated lookup endpoints: organization, custom fields, statuses, search, groups."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from close_tui.emulator import Emulator, FakeClock
from close_tui.emulator.lookups import DELETED_FIELD_NAME, rate_group
from tests.unit.conftest import call_emulator
from tests.unit.test_emulator_api import MakeEmulator


def post(em: Emulator, body: Any, *, key: str = "admin") -> httpx.Response:
    secret = {"admin": em.admin_key, "member": em.member_key}[key]
    return em.handle(httpx.Request(
        "POST", "http://emulator.test/api/v1/data/search/",
        headers={"Authorization": httpx.BasicAuth(secret, "")._auth_header,
                 "Content-Type": "application/json"},
        content=json.dumps(body).encode(),
    ))


def name_query(text: str, mode: str = "beginning_of_words", **extra: Any) -> dict[str, Any]:
    return {
        "query": {"type": "and", "queries": [
            {"type": "object_type", "object_type": "lead"},
            {"type": "field_condition",
             "field": {"type": "regular_field", "object_type": "lead",
                       "field_name": "display_name"},
             "condition": {"type": "text", "mode": mode, "value": text}}]},
        "_fields": {"lead": ["id", "display_name"]},
        **extra,
    }


def test_organization_names_active_and_inactive_members(default_emulator: Emulator) -> None:
    em = default_emulator
    org_id = em.organization["id"]
    body = call_emulator(em, f"/organization/{org_id}/",
                         {"_fields": "memberships,inactive_memberships"}).json()
    assert set(body) == {"memberships", "inactive_memberships"}
    active = {m["user_id"] for m in body["memberships"]}
    inactive = {m["user_id"] for m in body["inactive_memberships"]}
    assert inactive == {em.sim.left_user}
    assert active | inactive == {u["id"] for u in em.users}
    member = body["inactive_memberships"][0]
    assert member["user_full_name"] == em.sim.user_names[em.sim.left_user]
    assert {"user_first_name", "user_last_name", "user_email", "role_id"} <= set(member)
    # The deactivated user has events in the log.
    assert any(e["user_id"] == em.sim.left_user for e in em.events())
    assert call_emulator(em, "/organization/orga_nope/").status_code == 404


def test_custom_fields_are_offset_paged_and_the_deleted_field_is_absent(
    default_emulator: Emulator,
) -> None:
    em = default_emulator
    first = call_emulator(em, "/custom_field/lead/", {"_limit": "2"}).json()
    assert len(first["data"]) == 2 and first["has_more"] is True
    rest = call_emulator(em, "/custom_field/lead/", {"_skip": "2", "_limit": "100"}).json()
    assert rest["has_more"] is False
    ids = {f["id"] for f in first["data"] + rest["data"]}
    names = {f["name"] for f in first["data"] + rest["data"]}
    assert em.sim.cf_region.removeprefix("custom.") in ids and "Region" in names
    deleted = em.lookups.deleted_field_id
    assert deleted == em.sim.cf_source.removeprefix("custom.")
    assert deleted not in ids and DELETED_FIELD_NAME not in names
    for kind in ("contact", "opportunity", "activity", "shared"):
        listed = call_emulator(em, f"/custom_field/{kind}/").json()["data"]
        assert deleted not in {f["id"] for f in listed}
    # ...yet events still carry it.
    assert any(f"custom.{deleted}" in (e["data"] or {}) for e in em.events()[:500])
    assert call_emulator(em, "/custom_field/nope/").status_code == 404


def test_statuses(default_emulator: Emulator) -> None:
    em = default_emulator
    lead = call_emulator(em, "/status/lead/").json()["data"]
    assert [s["label"] for s in lead][:5] == ["Potential", "Bad Fit", "Qualified", "Customer",
                                               "Churned"]
    assert {s["id"] for s in lead} >= {sid for sid, _ in em.sim.lead_statuses}
    opp = call_emulator(em, "/status/opportunity/").json()["data"]
    assert {s["type"] for s in opp} == {"active", "won", "lost"}
    assert all(s["pipeline_id"].startswith("pipe_") for s in opp)


def test_name_search_modes(default_emulator: Emulator) -> None:
    em = default_emulator
    lead = next(iter(em.leads.values()))
    name = lead["display_name"]
    head, _, tail = name.partition(" ")
    for mode, text, hit in (
        ("beginning_of_words", head[:3], True),
        ("full_words", head[:3], False),
        ("full_words", f"{tail} {head}", True),
        ("phrase", name, True),
        ("phrase", f"{tail} {head}", False),
    ):
        data = post(em, name_query(text, mode, _limit=200)).json()["data"]
        assert (lead["id"] in {d["id"] for d in data}) is hit, (mode, text)
        assert all(d["__object_type"] == "lead" and set(d) == {"__object_type", "id",
                                                               "display_name"} for d in data)


def test_search_by_ids_cursor_and_results_limit(default_emulator: Emulator) -> None:
    em = default_emulator
    wanted = list(em.leads)[:7]
    body = {"query": {"type": "or", "queries": [{"type": "id", "value": i} for i in wanted]},
            "_fields": {"lead": ["id", "display_name"]}, "_limit": 3}
    got: list[str] = []
    answer = post(em, body).json()
    for _ in range(5):
        got += [d["id"] for d in answer["data"]]
        if answer["cursor"] is None:
            break
        answer = post(em, {**body, "cursor": answer["cursor"]}).json()
    assert sorted(got) == sorted(wanted)
    capped = post(em, {**body, "results_limit": 4, "_limit": 10}).json()
    assert len(capped["data"]) == 4 and capped["cursor"] is None
    # Without _fields only the type and id.
    bare = post(em, {"query": {"type": "id", "value": wanted[0]}}).json()
    assert bare["data"] == [{"__object_type": "lead", "id": wanted[0]}]


def test_contacts_are_searchable_and_negate_works(default_emulator: Emulator) -> None:
    em = default_emulator
    sim = next(s for s in em.sim.lead_sims.values() if not s.deleted and s.contacts)
    contact = sim.contacts[0].state
    body = {"query": {"type": "and", "queries": [
        {"type": "object_type", "object_type": "contact"},
        {"type": "text", "value": contact["name"], "mode": "phrase"}]},
        "_fields": {"contact": ["id", "name", "lead_id"]}, "_limit": 200}
    data = post(em, body).json()["data"]
    assert {"__object_type": "contact", "id": contact["id"], "name": contact["name"],
            "lead_id": sim.lead.id} in data
    body["query"]["queries"][1]["negate"] = True
    assert contact["id"] not in {d["id"] for d in post(em, body).json()["data"]}


@pytest.mark.parametrize("body, words", [
    (name_query("x", "fuzzy"), "unknown text mode 'fuzzy'"),
    ({"query": {"type": "regex", "value": "x"}}, "unknown query type"),
    ({"query": {"type": "object_type", "object_type": "task"}}, "not searchable"),
    ({**name_query("x"), "surprise": 1}, "unknown key"),
    ({"_limit": 5}, "query is required"),
    ({**name_query("x"), "cursor": "forged.cursor"}, "invalid or expired cursor"),
    ({**name_query("x"), "_limit": 0}, "_limit"),
])
def test_search_says_400_for_what_it_does_not_understand(
    default_emulator: Emulator, body: dict[str, Any], words: str
) -> None:
    answer = post(default_emulator, body)
    assert answer.status_code == 400
    assert words in answer.json()["error"]


def test_search_cursor_expires_after_30_seconds(make_emulator: MakeEmulator) -> None:
    em, clock = make_emulator()
    body = name_query("a", _limit=1)
    body["query"] = {"type": "object_type", "object_type": "lead"}
    cursor = post(em, body).json()["cursor"]
    assert cursor
    clock.advance(31)
    assert post(em, {**body, "cursor": cursor}).status_code == 400


def test_rate_limits_are_per_group_and_the_header_describes_the_requests_group(
    make_emulator: MakeEmulator,
) -> None:
    em, clock = make_emulator(rate_limit=20, group_rate_limits={"search": 2}, rate_groups=True)
    clock.set(datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC))
    events = [call_emulator(em, "/event/", {"_limit": "1"}) for _ in range(3)]
    assert events[-1].headers["ratelimit"] == "limit=20, remaining=17, reset=1"
    other = call_emulator(em, "/status/lead/")
    assert other.headers["ratelimit"] == "limit=20, remaining=19, reset=1"
    searches = [post(em, name_query("a")) for _ in range(3)]
    assert [s.status_code for s in searches] == [200, 200, 429]
    assert searches[0].headers["ratelimit"] == "limit=2, remaining=1, reset=1"
    # The event group is untouched by the searches.
    assert call_emulator(em, "/event/", {"_limit": "1"}).headers["ratelimit"].startswith(
        "limit=20, remaining=16,")
    assert rate_group("GET", "/api/v1/event/ev_x/") == "events"
    assert rate_group("POST", "/api/v1/data/search/") == "search"
    assert rate_group("GET", "/api/v1/lead/lead_x/") == "other"


def test_a_shared_bucket_counts_everything_together(make_emulator: MakeEmulator) -> None:
    em, _ = make_emulator(rate_limit=20)  # rate_groups off: one budget per key
    call_emulator(em, "/event/", {"_limit": "1"})
    post(em, name_query("a"))
    assert call_emulator(em, "/me/").headers["ratelimit"].startswith("limit=20, remaining=17,")


@pytest.mark.parametrize("status", [403, 404, 405])
def test_endpoints_can_be_switched_off(make_emulator: MakeEmulator, status: int) -> None:
    off = {name: status for name in ("organization", "custom_field", "status", "search",
                                     "lead", "user")}
    em, _ = make_emulator(endpoints_off=off)
    org = em.organization["id"]
    lead = next(iter(em.leads))
    for path in (f"/organization/{org}/", "/custom_field/lead/", "/status/lead/",
                 f"/lead/{lead}/", "/user/"):
        assert call_emulator(em, path).status_code == status, path
    assert post(em, name_query("a")).status_code == status
    assert call_emulator(em, "/event/", {"_limit": "1"}).status_code == 200


def test_user_list_may_leave_out_the_deactivated_user(make_emulator: MakeEmulator) -> None:
    em, _ = make_emulator(user_list_includes_inactive=False)
    listed = {u["id"] for u in call_emulator(em, "/user/").json()["data"]}
    assert em.sim.left_user is not None and em.sim.left_user not in listed
    assert len(listed) == len(em.users) - 1


def test_lookups_do_not_change_the_events(make_emulator: MakeEmulator) -> None:
    em, _ = make_emulator()
    before = em.events()
    _ = em.lookups.data  # built from the simulation
    post(em, name_query("a"))
    assert em.events() == before
    clock = FakeClock(datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC))
    again = Emulator(em.config, clock=clock)
    assert [e["id"] for e in again.events()] == [e["id"] for e in before]
