"""The investigation history: back/forward, bounds, memory budget; pivots from events."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from close_tui.core.filters import EventFilter
from close_tui.core.history import History, NoPivot, pivot_from_event, pivot_from_field
from close_tui.core.models import Event


@dataclass
class Entry:
    name: str
    rows: int


def make(max_entries: int = 5, budget: int = 100) -> History[Entry]:
    def shed(entry: Entry) -> None:
        entry.rows = 0

    return History(max_entries=max_entries, row_budget=budget,
                   weight=lambda e: e.rows, shed=shed)


def test_back_forward_and_a_new_step_drops_the_forward_entries() -> None:
    history = make()
    for name in "abc":
        history.push(Entry(name, 1))
    assert [e.name for e in history.trail] == ["a", "b", "c"]
    back = history.back()
    assert back is not None and back.name == "b"
    assert history.can_go_forward()
    history.push(Entry("d", 1))
    assert [e.name for e in history.entries] == ["a", "b", "d"]
    assert not history.can_go_forward()
    assert history.forward() is None
    assert [history.back(), history.back(), history.back()][-1] is None
    assert history.current is not None and history.current.name == "a"


def test_bounded_in_entries() -> None:
    history = make(max_entries=3)
    for i in range(10):
        history.push(Entry(str(i), 1))
    assert [e.name for e in history.entries] == ["7", "8", "9"]


def test_the_memory_budget_sheds_the_farthest_entries_first_never_the_current() -> None:
    history = make(budget=100)
    for name in "abcd":
        history.push(Entry(name, 40))
    rows = {e.name: e.rows for e in history.entries}
    assert rows["d"] == 40 and rows["a"] == 0 and rows["b"] == 0
    assert history.total_weight() <= 100


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError):
        History(max_entries=0)


def _event(**fields: object) -> Event:
    base: dict[str, object] = {
        "id": "ev_1", "date_created": "2026-11-20T12:00:00", "date_updated":
        "2026-11-20T12:00:00", "object_type": "contact", "action": "updated",
        "object_id": "cont_1", "lead_id": "lead_1", "user_id": "user_1", "request_id": "req_1",
    }
    base.update(fields)
    return Event.model_validate(base)


def test_pivots_are_supported_combinations() -> None:
    ev = _event()
    assert pivot_from_event("lead", ev).filter == EventFilter(lead_id="lead_1")
    assert pivot_from_event("object", ev).filter == EventFilter(object_type="contact",
                                                                object_id="cont_1")
    assert pivot_from_event("request", ev).filter == EventFilter(request_id="req_1")
    assert pivot_from_event("user", ev).filter == EventFilter(user_id="user_1")
    for kind in ("lead", "object", "request", "user"):
        assert pivot_from_event(kind, ev).filter.is_supported


@pytest.mark.parametrize(
    ("kind", "missing", "says"),
    [("lead", "lead_id", "no lead"), ("user", "user_id", "system"),
     ("request", "request_id", "request"), ("object", "object_id", "object")],
)
def test_a_missing_field_says_so(kind: str, missing: str, says: str) -> None:
    with pytest.raises(NoPivot, match=says):
        pivot_from_event(kind, _event(**{missing: None}))


def test_an_object_id_without_a_type_is_no_pivot() -> None:
    with pytest.raises(NoPivot, match="unknown"):
        pivot_from_field("object_id", "acti_1")
    assert pivot_from_field("object_id", "acti_1", object_type="activity.note").filter == (
        EventFilter(object_type="activity.note", object_id="acti_1"))
    with pytest.raises(NoPivot):
        pivot_from_field("organization_id", "orga_1")
