"""One line that says what an event did, for the table and for headless listings.

The event log carries whole objects (``data``/``previous_data``) whose shape depends on the
object type and is not guaranteed: fields come and go, non-admin keys lose the payload
after an hour, a deleted object has ``data: null``, and anything can be a list, a string or
a number where we expect an object. A summary is a convenience, so :func:`summarize` must
never raise on any of it: it reads what it recognises and otherwise says less.

The result is one line, already made safe for a terminal (``sanitize.visible``) and capped
in length, because the table keeps one such string per loaded row (memory) and callers
print it as is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from close_tui.core.models import Event
from close_tui.core.sanitize import visible

#: Longest summary kept: a row is one screen line, and 1M rows must stay small.
MAX_SUMMARY_CHARS: Final = 160

#: Fields that change on every edit and say nothing about *what* changed.
_NOISE_FIELDS: Final = frozenset(
    {"date_updated", "updated_by", "updated_by_name", "date_modified", "modified_by"}
)
#: Fields covered by the "status A → B" part when that part is shown.
_STATUS_FIELDS: Final = frozenset({"status_id", "status_label", "status_type", "status"})

#: Where each kind of object keeps the text a person would call its name, best first.
_NAME_KEYS: Final = (
    "display_name",
    "name",
    "title",
    "subject",
    "label",
    "lead_name",
    "text",
    "note",
    "email",
    "phone",
    "file_name",
    "filename",
)


def summarize(event: Event) -> str:
    """A one-line, terminal-safe description of ``event``; ``""`` when nothing useful."""
    try:
        text = _summarize(event)
    except Exception:  # a summary is never worth a crash: fall back to saying nothing
        text = ""
    return _one_line(text)


def _summarize(event: Event) -> str:
    data = _as_dict(event.data)
    previous = _as_dict(event.previous_data)
    action = event.action if isinstance(event.action, str) else ""
    object_type = event.object_type if isinstance(event.object_type, str) else ""
    changed = _changed_fields(event.changed_fields)

    if action == "deleted":
        name = _name(previous) or _name(data)
        return f"deleted {name}" if name else "deleted"

    if action == "merged":
        meta = _as_dict(event.meta)
        source = _text(meta.get("merge_source_lead_id"))
        destination = _text(meta.get("merge_destination_lead_id"))
        if source and destination:
            return f"merged {source} into {destination}"
        name = _name(data)
        return f"merged into {name}" if name else "merged"

    parts: list[str] = []
    if object_type in ("activity.note", "note"):
        note = _first_line(_text(data.get("note")) or _text(previous.get("note")))
        if note:
            parts.append(note)

    status = _status_change(data, previous)
    if status:
        parts.append(status)

    if action == "updated" or (changed and action not in ("created",)):
        shown = [
            field
            for field in changed
            if field not in _NOISE_FIELDS and not (status and field in _STATUS_FIELDS)
        ]
        if shown:
            parts.append("changed: " + ", ".join(shown))

    if not parts:
        described = _describe(object_type, data)
        if described:
            parts.append(described)

    if not parts and _payload_missing(event):
        return "(payload hidden: older than 1 h for a non-admin key)"
    return " · ".join(parts)


def _status_change(data: Mapping[str, Any], previous: Mapping[str, Any]) -> str:
    """``status Active → Won`` from an update's old/new values or a status-change activity."""
    old = _text(previous.get("status_label"))
    new = _text(data.get("status_label"))
    if old and new and old != new:
        return f"status {old} → {new}"
    old = _text(data.get("old_status_label"))
    new = _text(data.get("new_status_label"))
    if old or new:
        return f"status {old or '?'} → {new or '?'}"
    return ""


def _describe(object_type: str, data: Mapping[str, Any]) -> str:
    """What the object *is*, for creates and other actions without a change list."""
    if not data:
        return ""
    if object_type == "opportunity":
        pieces = [
            _text(data.get("lead_name")),
            _text(data.get("value_formatted")),
            _text(data.get("status_label")),
        ]
        return " ".join(piece for piece in pieces if piece)
    if object_type == "activity.call":
        direction = _text(data.get("direction"))
        duration = _text(data.get("duration"))
        call = f"{direction} call" if direction else "call"
        return f"{call} {duration}s" if duration else call
    return _name(data)


def _name(data: Mapping[str, Any]) -> str:
    for key in _NAME_KEYS:
        value = _first_line(_text(data.get(key)))
        if value:
            return value
    first = _text(data.get("first_name"))
    last = _text(data.get("last_name"))
    return " ".join(part for part in (first, last) if part)


def _payload_missing(event: Event) -> bool:
    try:
        return event.payload_state("data") == "missing" and (
            event.payload_state("previous_data") == "missing"
        )
    except Exception:
        return False


def _changed_fields(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping | bytes):
        return []
    return [item for item in value if isinstance(item, str) and item]


def _as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    """Scalars as text; containers, ``None`` and booleans are not names."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _first_line(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped:
            return stripped
    return ""


def _one_line(text: str) -> str:
    line = visible(text.replace("\t", " "))
    if len(line) > MAX_SUMMARY_CHARS:
        line = line[: MAX_SUMMARY_CHARS - 1] + "…"
    return line
