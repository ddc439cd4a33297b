"""Summaries and the Changes view with the directory's names: custom fields by name,
statuses by label, a deleted field by its marked id (only the name look-ups here; the
wording of the sentences is test_summary.py's)."""

from __future__ import annotations

from typing import Any

from close_tui.core.diff import event_changes, path_label
from close_tui.core.directory import deleted_field_label
from close_tui.core.models import Event
from close_tui.core.summary import summarize

REGION = "cf_TtxdwAbCdEfGhIjKlMnOpQrStUvWxYz0123456liy"
SOURCE = "cf_a5PRNOiOFTgF14Asp7dp95ftvsTdAgRqebf0m1oleZC"
POTENTIAL = "stat_nQuh6w8tTKXnsysT53q7F6wX7rPSqD5KSsDgb8cf4J1"
WON = "stat_S3oThL4h5YKFTaWnbdX6PjDOFJHoO7lQP2xakNSXW9A"
NAMES = {REGION: "Region", SOURCE: deleted_field_label(SOURCE), POTENTIAL: "Potential",
         WON: "Won"}


def update(object_type: str, previous: dict[str, Any], data: dict[str, Any]) -> Event:
    return Event.model_validate({
        "id": "ev_1", "date_created": "2026-11-20T11:00:00",
        "date_updated": "2026-11-20T11:00:00", "object_type": object_type,
        "action": "updated", "changed_fields": sorted(data), "lead_id": "lead_1",
        "previous_data": previous, "data": data,
    })


def test_a_custom_field_reads_by_its_name() -> None:
    event = update("lead", {f"custom.{REGION}": "EMEA"}, {f"custom.{REGION}": "APAC"})
    assert summarize(event) == "Lead custom.cf_Ttx…liy: EMEA → APAC"
    assert summarize(event, NAMES) == "Lead Region: EMEA → APAC"


def test_a_deleted_field_reads_as_its_marked_id() -> None:
    event = update("lead", {f"custom.{SOURCE}": None}, {f"custom.{SOURCE}": "Referral"})
    assert summarize(event, NAMES) == "Lead cf_a5P…eZC (deleted field) set: Referral"


def test_a_status_id_alone_reads_as_its_label() -> None:
    event = update("lead", {"status_id": POTENTIAL}, {"status_id": WON})
    assert summarize(event, NAMES) == "Lead status Potential → Won"
    assert "Potential" not in summarize(event)  # without names: no invented label


def test_the_changes_view_names_custom_fields() -> None:
    event = update("lead", {f"custom.{REGION}": "EMEA"}, {f"custom.{REGION}": "APAC"})
    (change,) = event_changes(event).changes
    assert change.label == f"custom field {REGION}"
    assert change.named_label(NAMES) == "custom field Region"
    assert path_label((f"custom.{SOURCE}",), NAMES) == "custom field cf_a5P…eZC (deleted field)"
    assert path_label(("status_label",), NAMES) == "status_label"
