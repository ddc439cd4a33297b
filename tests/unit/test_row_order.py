"""Live follow keeps the rows in the log's order: a property of ``RowStore.upsert``.

Any mix of new events and consolidated ones (a known id with a newer ``date_updated``),
in any order and any number of polls, leaves the rows newest first, each id once, and
``remap`` sends every old position to where the same row is now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from close_tui.core.models import Event
from close_tui.core.rows import RowStore

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def event(number: int, seconds: int) -> Event:
    when = (T0 - timedelta(seconds=seconds)).isoformat()
    return Event.model_validate({
        "id": f"ev_{number}", "date_created": when, "date_updated": when,
        "action": "updated", "object_type": "lead", "object_id": f"lead_{number}",
        "lead_id": f"lead_{number}", "user_id": None, "changed_fields": [], "data": {},
        "previous_data": {}, "meta": {}, "organization_id": "orga_1", "request_id": None,
        "api_key_id": None,
    })


polls = st.lists(  # each poll: (event number, seconds before T0) pairs
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 500)), max_size=12),
    min_size=1, max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(first=st.lists(st.integers(0, 500), min_size=0, max_size=30, unique=True), polls=polls)
def test_upserts_keep_the_rows_newest_first_and_unique(first: list[int], polls: list[
        list[tuple[int, int]]]) -> None:
    store = RowStore()
    store.append(event(100 + i, s) for i, s in enumerate(sorted(first)))
    for poll in polls:
        before = [store[i] for i in range(len(store))]
        result = store.upsert([event(n, s) for n, s in poll])
        after = [store[i] for i in range(len(store))]
        stamps = [row.updated for row in after]
        assert stamps == sorted(stamps, reverse=True)
        ids = [row.event_id for row in after]
        assert len(ids) == len(set(ids))
        for old_index, row in enumerate(before):
            assert after[result.remap(old_index)] is row
