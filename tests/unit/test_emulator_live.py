"""Live mode: new events arrive with the (fake) clock, some late, some consolidated."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from close_tui.emulator import Emulator, FakeClock

MakeEmulator = Callable[..., tuple[Emulator, FakeClock]]


def _when(ts: str) -> datetime:
    return datetime.fromisoformat(ts).replace(tzinfo=UTC)


def _recent(em: Emulator, clock: FakeClock) -> list[dict[str, Any]]:
    """The last five minutes: what a follower re-scans on every poll."""
    since = (clock() - timedelta(minutes=5)).replace(tzinfo=None).isoformat()
    return em.expected({"date_updated__gte": since})


def test_fake_clock() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock() == clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    clock.advance(1.5)
    assert clock.now() == datetime(2026, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)
    clock.set(datetime(2026, 2, 1))
    assert clock().tzinfo is not None


def test_not_live_means_frozen(make_emulator: MakeEmulator) -> None:
    em, clock = make_emulator()
    before = em.events()
    clock.advance(3600)
    em.advance_live()
    assert em.events() == before


def test_new_events_arrive_and_never_from_the_future(make_emulator: MakeEmulator) -> None:
    em, clock = make_emulator(live=True)
    start = {e["id"] for e in em.events()}
    for _ in range(30):
        clock.advance(20)
        now = clock()
        assert all(_when(e["date_updated"]) <= now for e in _recent(em, clock))
    assert all(_when(e["date_updated"]) <= clock() for e in em.events())
    new = [e for e in em.events() if e["id"] not in start]
    assert len(new) >= 30
    assert {e["action"] for e in new} >= {"created", "updated"}
    # New objects and old ones alike.
    old_objects = {e["object_id"] for e in em.events() if e["id"] in start}
    assert any(e["object_id"] in old_objects for e in new)
    assert any(e["object_id"] not in old_objects for e in new)


def test_live_is_deterministic_whatever_the_polling(make_emulator: MakeEmulator) -> None:
    a, clock_a = make_emulator(live=True)
    b, clock_b = make_emulator(live=True)
    for _ in range(60):
        clock_a.advance(5)
        a.advance_live()
    clock_b.advance(300)
    assert [e["id"] for e in a.events()] == [e["id"] for e in b.events()]


def test_some_events_become_visible_late(make_emulator: MakeEmulator) -> None:
    em, clock = make_emulator(live=True)
    seen: dict[str, datetime] = {e["id"]: clock() for e in em.events()}
    late = []
    for _ in range(400):
        clock.advance(3)
        for ev in _recent(em, clock):
            if ev["id"] not in seen:
                seen[ev["id"]] = clock()
                if clock() - _when(ev["date_created"]) > timedelta(seconds=10):
                    late.append(ev)
    assert late, "no late-visible event in 20 minutes of live mode"
    assert all(
        timedelta(0) < seen[e["id"]] - _when(e["date_created"]) <= timedelta(seconds=125)
        for e in late
    )


def test_recent_events_get_consolidated_in_place(make_emulator: MakeEmulator) -> None:
    em, clock = make_emulator(live=True)
    first_seen: dict[str, dict[str, Any]] = {}
    moved = []
    for _ in range(600):
        clock.advance(2)
        for ev in _recent(em, clock):
            prior = first_seen.setdefault(ev["id"], ev)
            if prior is not ev and ev["date_updated"] > prior["date_updated"]:
                moved.append((prior, ev))
    assert moved, "no consolidation in 20 minutes of live mode"
    for prior, now in moved:
        assert now["id"] == prior["id"] and now["date_created"] == prior["date_created"]
        assert set(prior["changed_fields"]) <= set(now["changed_fields"])
        assert now["date_created"] < now["date_updated"]
    assert any(len(n["changed_fields"]) > len(p["changed_fields"]) for p, n in moved) or any(
        n["data"] != p["data"] for p, n in moved
    )


def test_paging_while_events_arrive(make_emulator: MakeEmulator, call: Any) -> None:
    """Cursors are positions: arrivals never shift pages; nothing repeats."""
    em, clock = make_emulator(live=True, empty_page_rate=0.1, n_leads=12)
    snapshot = em.events()
    cutoff = clock() - timedelta(minutes=10)
    got: list[str] = []
    cursor: str | None = None
    while True:
        body = call(em, "/event/", {"_limit": "20"} | ({"_cursor": cursor} if cursor else {}))
        assert body.status_code == 200
        got += [e["id"] for e in body.json()["data"]]
        cursor = body.json()["cursor_next"]
        clock.advance(4)
        if cursor is None:
            break
    assert len(got) == len(set(got))
    settled = [e["id"] for e in snapshot if _when(e["date_updated"]) < cutoff]
    assert [i for i in got if i in set(settled)] == settled
    assert len(em.events()) > len(snapshot)
