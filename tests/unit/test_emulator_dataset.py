"""The synthetic organization: deterministic, big enough, and shaped like Close's data."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from close_tui.core.catalog import OBJECT_TYPE_ACTIONS
from close_tui.emulator import Emulator

EV_ID = re.compile(r"^ev_[0-9A-Za-z]{22}$")
REQ_ID = re.compile(r"^req_[0-9A-Za-z]{22}$")
LONG_ID = re.compile(r"^(lead|cont|oppo|acti|task|user|orga)_[0-9A-Za-z]{43}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}000$")
DATA_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
KEY = re.compile(r"^api_[0-9A-Za-z]{22}\.[0-9A-Za-z]{22}$")


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts).replace(tzinfo=UTC)


def test_same_seed_same_organization(make_emulator: Any) -> None:
    a, _ = make_emulator(seed=11)
    b, _ = make_emulator(seed=11)
    c, _ = make_emulator(seed=12)
    assert [e["id"] for e in a.events()] == [e["id"] for e in b.events()]
    assert a.events() == b.events()
    assert (a.admin_key, a.member_key) == (b.admin_key, b.member_key)
    assert {e["id"] for e in a.events()}.isdisjoint({e["id"] for e in c.events()})
    assert a.admin_key != c.admin_key


def test_ids_do_not_depend_on_now(make_emulator: Any) -> None:
    a, _ = make_emulator()
    b, _ = make_emulator(now=datetime(2027, 3, 1, 8, 30, tzinfo=UTC))
    assert [e["id"] for e in a.events()] == [e["id"] for e in b.events()]
    assert a.events()[0]["date_updated"] != b.events()[0]["date_updated"]


def test_counts_and_window(default_emulator: Emulator) -> None:
    em = default_emulator
    events = em.events()
    assert len(em.users) >= 5
    assert sum(1 for u in em.users if u["role"] == "admin") == 1
    assert len(em.sim.lead_sims) >= 200
    assert len(em.leads) >= 200
    now = em.now
    oldest = now - timedelta(days=30)
    assert len(events) >= 20_000
    assert all(oldest <= _parse(e["date_updated"]) <= now for e in events)
    # Spread over the whole window, not bunched at one end.
    assert _parse(events[-1]["date_updated"]) < oldest + timedelta(days=2)
    assert _parse(events[0]["date_updated"]) > now - timedelta(days=1)


def test_every_catalog_pair_appears(default_emulator: Emulator) -> None:
    seen = {(e["object_type"], e["action"]) for e in default_emulator.events()}
    missing = [
        (t, a) for t, acts in OBJECT_TYPE_ACTIONS.items() for a in acts if (t, a) not in seen
    ]
    assert missing == []


def test_event_shape(default_emulator: Emulator) -> None:
    em = default_emulator
    org_id = em.organization["id"]
    keys = {
        "id",
        "date_created",
        "date_updated",
        "organization_id",
        "user_id",
        "request_id",
        "api_key_id",
        "object_type",
        "object_id",
        "lead_id",
        "action",
        "changed_fields",
        "data",
        "previous_data",
        "meta",
    }
    for ev in em.events():
        assert set(ev) == keys
        assert EV_ID.match(ev["id"]) and REQ_ID.match(ev["request_id"])
        assert TIMESTAMP.match(ev["date_created"]) and TIMESTAMP.match(ev["date_updated"])
        assert ev["date_created"] <= ev["date_updated"]
        assert ev["organization_id"] == org_id
        assert ev["user_id"] is None or LONG_ID.match(ev["user_id"])
        assert ev["lead_id"] is None or LONG_ID.match(ev["lead_id"])
        assert {"request_method", "request_path"} <= set(ev["meta"])
        if ev["object_type"] == "lead":
            assert ev["lead_id"] == ev["object_id"]
        if ev["action"] == "created":
            assert ev["previous_data"] == {} and ev["changed_fields"] == []
            assert ev["data"]["id"] == ev["object_id"]
        elif ev["action"] == "deleted":
            assert ev["data"] is None
            assert ev["previous_data"]["id"] == ev["object_id"]
        elif ev["action"] == "updated":
            assert ev["changed_fields"]
            assert set(ev["previous_data"]) <= set(ev["changed_fields"]) | {"date_updated"}
        if ev["data"] and "date_updated" in ev["data"]:
            assert DATA_DATE.match(ev["data"]["date_updated"])
    assert LONG_ID.match(org_id)


def test_updates_chain_previous_data_to_prior_data(default_emulator: Emulator) -> None:
    """An update's previous_data holds what the object's prior event said (true order)."""
    by_object: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ev in reversed(default_emulator.events()):  # oldest first, ties in true order
        by_object[ev["object_id"]].append(ev)
    checked = 0
    for events in by_object.values():
        for prior, ev in itertools.pairwise(events):
            if ev["action"] in ("created", "merged") or prior["data"] is None:
                continue
            for field, old in ev["previous_data"].items():
                if ev["action"] == "deleted":
                    assert ev["previous_data"] == prior["data"] or field == "date_updated"
                    break
                assert prior["data"].get(field) == old, (ev["id"], field)
                checked += 1
    assert checked > 5_000


def test_consolidated_events(default_emulator: Emulator) -> None:
    consolidated = [e for e in default_emulator.events() if e["date_created"] < e["date_updated"]]
    assert len(consolidated) >= 100
    assert any(len(e["changed_fields"]) >= 3 for e in consolidated)
    assert {e["object_type"] for e in consolidated} >= {"activity.note", "lead"}


def test_noisy_note_updates(default_emulator: Emulator) -> None:
    updates = Counter(
        e["object_id"]
        for e in default_emulator.events()
        if e["object_type"] == "activity.note" and e["action"] == "updated"
    )
    assert max(updates.values()) >= 4
    assert sum(updates.values()) > 1_000


def test_bursts_share_request_and_millisecond(default_emulator: Emulator) -> None:
    by_request: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ev in default_emulator.events():
        by_request[ev["request_id"]].append(ev)
    bursts = [evs for evs in by_request.values() if len(evs) >= 10]
    assert bursts
    assert any(len({e["date_created"] for e in evs}) == 1 for evs in bursts)
    bulk_edit = [
        evs
        for evs in bursts
        if evs[0]["meta"].get("bulk_action_id")
        and all(e["object_type"] == "lead" and e["action"] == "updated" for e in evs)
    ]
    assert bulk_edit and len({e["date_created"] for e in bulk_edit[0]}) == 1
    assert len({e["lead_id"] for e in bulk_edit[0]}) >= 20


def test_system_and_org_level_events(default_emulator: Emulator) -> None:
    events = default_emulator.events()
    system = [e for e in events if e["user_id"] is None]
    assert len(system) > 200
    assert {"import", "activity.email", "lead"} <= {e["object_type"] for e in system}
    org_level = {e["object_type"] for e in events if e["lead_id"] is None}
    assert {
        "custom_fields.lead",
        "status.lead",
        "email_template",
        "membership",
        "export.lead",
        "import",
        "bulk_action.edit",
    } <= org_level
    assert all(e["lead_id"] is not None for e in events if e["object_type"] == "contact")


def test_lead_merge(default_emulator: Emulator) -> None:
    events = default_emulator.events()
    merged = [e for e in events if e["object_type"] == "lead" and e["action"] == "merged"]
    assert len(merged) == 1
    meta = merged[0]["meta"]
    source, dest = meta["merge_source_lead_id"], meta["merge_destination_lead_id"]
    assert merged[0]["lead_id"] == dest
    same_request = [e for e in events if e["request_id"] == merged[0]["request_id"]]
    actions = Counter((e["object_type"], e["action"]) for e in same_request)
    assert actions[("lead", "deleted")] == 1
    assert actions[("activity.lead_merge", "created")] == 1
    moved = [e for e in same_request if e["action"] == "updated"]
    assert moved and all(e["previous_data"]["lead_id"] == source for e in moved)
    assert all(e["data"]["lead_id"] == dest for e in moved)
    assert all(e["meta"]["merge_source_lead_id"] == source for e in same_request)
    assert source not in default_emulator.leads and dest in default_emulator.leads


def test_lead_deletion_fans_out(default_emulator: Emulator) -> None:
    events = default_emulator.events()
    deletions = [
        e
        for e in events
        if e["object_type"] == "lead"
        and e["action"] == "deleted"
        and "merge_source_lead_id" not in e["meta"]
    ]
    assert len(deletions) >= 5
    fanned = 0
    for lead_deleted in deletions:
        lead_id = lead_deleted["lead_id"]
        assert lead_id not in default_emulator.leads
        children = [
            e
            for e in events
            if e["request_id"] == lead_deleted["request_id"]
            and e["lead_id"] == lead_id
            and e["object_type"] != "lead"
        ]
        for child in children:
            assert child["action"] == "deleted" and child["data"] is None
            assert child["previous_data"]["id"] == child["object_id"]
            assert child["date_created"] == lead_deleted["date_created"]
        kinds = {c["object_type"].split(".")[0] for c in children}
        if {"contact", "activity"} <= kinds:
            fanned += 1
    assert fanned >= 3


def test_api_keys(default_emulator: Emulator) -> None:
    em = default_emulator
    assert KEY.match(em.admin_key) and KEY.match(em.member_key)
    assert em.admin_key != em.member_key
    events = em.events()
    key_ids = Counter(e["api_key_id"] for e in events if e["api_key_id"])
    assert len(key_ids) >= 3
    integration = [k for k in key_ids if k.startswith("api_5xZ")]
    assert integration
    deletes = [
        e
        for e in events
        if e["api_key_id"] == integration[0]
        and e["object_type"] == "contact"
        and e["action"] == "deleted"
    ]
    assert len(deletes) >= 10
    assert em.admin_key.partition(".")[0] in key_ids
