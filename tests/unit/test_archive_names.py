"""``ArchiveNames``: the explorer's names on the archive come from the file, and its
finder looks through them; nothing is ever looked up."""

from __future__ import annotations

from datetime import UTC, datetime

from close_tui.core.archive.names import ArchiveNames
from close_tui.core.directory import LeadMatch, UserMatch
from close_tui.core.models import Event

LEAD_A = "lead_" + "a" * 40
LEAD_B = "lead_" + "b" * 40
USER = "user_" + "c" * 40
STORED = {
    LEAD_A: "Bluth Company",
    LEAD_B: "Sitwell Enterprises",
    USER: "Gob Bluth",
    "cf_x": "Lead Source",
    "lead_" + "d" * 40: "   ",  # a blank name is no name
}


def test_stored_names_are_known_at_once() -> None:
    names = ArchiveNames(STORED)
    assert names.name(LEAD_A) == "Bluth Company"
    assert names.name(USER) == "Gob Bluth"
    assert names.name("cf_x") == "Lead Source"
    assert names.name("lead_" + "d" * 40) is None
    assert (names.limited, names.status_text, names.finder_note) == (False, "", "")


async def test_the_finder_looks_through_the_stored_names() -> None:
    names = ArchiveNames(STORED)
    assert await names.search_leads("blu") == [LeadMatch(LEAD_A, "Bluth Company")]
    assert await names.search_leads("ENTER sit") == [LeadMatch(LEAD_B, "Sitwell Enterprises")]
    assert await names.search_leads("bluth") == [LeadMatch(LEAD_A, "Bluth Company")]  # no user
    assert await names.search_users("bluth") == [UserMatch(USER, "Gob Bluth")]
    assert await names.search_leads("nobody") == []
    assert await names.search_leads("  ") == []


def test_events_shown_add_and_renew_names() -> None:
    changes: list[int] = []
    names = ArchiveNames(STORED, on_change=lambda: changes.append(1))
    when = datetime(2026, 11, 20, tzinfo=UTC).isoformat()
    event = Event.model_validate({
        "id": "ev_1", "object_type": "lead", "action": "updated", "object_id": LEAD_A,
        "lead_id": LEAD_A, "date_created": when, "date_updated": when,
        "data": {"id": LEAD_A, "display_name": "Bluth Company (renamed)"},
        "previous_data": {}, "changed_fields": ["display_name"],
    })
    names.see([event])
    assert names.name(LEAD_A) == "Bluth Company (renamed)"  # a page is newer than a sync
    assert changes == [1]


async def test_a_look_up_is_refused_not_sent_and_names_stay() -> None:
    names = ArchiveNames(STORED)
    await names.users()  # the API directory's user list: refused here, never raises
    assert names.name(USER) == "Gob Bluth"
    assert names.failures == 1 and "ArchiveOffline" in names.last_error
