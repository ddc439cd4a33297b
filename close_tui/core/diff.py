"""What one event changed, in the form a support person reads at a glance.

The question behind most look-ups in the event log is "who changed what, from what to
what". The raw event answers it only indirectly: ``changed_fields`` names the fields,
``previous_data`` holds their *old* values, ``data`` the whole *new* object. This module
puts them side by side:

* **updates** (and other actions that carry changes, e.g. a completed task): each changed
  field with old → new; nested objects and lists diffed into paths
  (``addresses[0].city``); long text (multi-line or longer than :data:`LONG_TEXT`) as
  ``-``/``+`` lines from :mod:`difflib`;
* **deletes**: the last state (``previous_data``), field by field;
* **creates**: the new object (``data``), field by field;
* notes for what the event itself cannot show: a consolidated event (several edits merged
  into one), and payloads left out by the privacy rule (a non-admin key reads
  ``data``/``previous_data`` only for events younger than one hour), so a blank is never
  mistaken for "nothing changed".

Pure functions over :class:`~close_tui.core.models.Event`; nothing here raises on odd
input (any JSON may sit in ``data``), which the tests check with arbitrary JSON.
"""

from __future__ import annotations

import difflib
import enum
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from close_tui.core.models import Event

#: Strings longer than this (or with a line break) are diffed line by line.
LONG_TEXT: Final = 80
#: A text diff longer than this is cut, with a line saying how much was left out.
MAX_DIFF_LINES: Final = 400
#: Nesting deeper than this is compared whole instead of path by path.
MAX_DEPTH: Final = 64
#: Fields that move on every edit: listed after the fields a person changed.
BOOKKEEPING_FIELDS: Final = frozenset(
    {"date_updated", "updated_by", "updated_by_name", "date_modified"}
)

#: The object's own "last updated" stamp moves on every update: the Changes view says it
#: once (:attr:`EventChanges.touched`, "updated 12:03:04 (was 11:58:10)") instead of
#: listing it among the fields a person changed — unless it is the only field listed.
TOUCH_FIELD: Final = "date_updated"

PRIVACY_NOTE: Final = (
    "not included: this key can only read payloads of events younger than one hour"
)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class _Absent(enum.Enum):
    ABSENT = "absent"

    def __repr__(self) -> str:
        return "ABSENT"


#: "No value here" (the key is not in the object), as opposed to a JSON ``null``.
ABSENT: Final = _Absent.ABSENT

PathPart = str | int
Path = tuple[PathPart, ...]

ChangeKind = Literal["changed", "added", "removed", "unchanged", "unknown"]
"""``changed``: old and new differ. ``added``: no old value (the field was not set).
``removed``: no new value. ``unchanged``: listed in ``changed_fields`` yet equal.
``unknown``: the old or the new value is not in the event (payload left out, or a
listed field missing from ``previous_data``/``data``); whichever is known is set."""

ChangesKind = Literal["update", "create", "delete", "state", "none"]


class _PathLabel:
    """``label`` and ``is_custom`` of a dataclass with a ``path`` (a field or a path in one)."""

    __slots__ = ()
    path: Path

    @property
    def label(self) -> str:
        return path_label(self.path)

    def named_label(self, names: Mapping[str, str]) -> str:
        """``label`` with a custom field's name (``names``: ``cf_…`` -> name)."""
        return path_label(self.path, names)

    @property
    def is_custom(self) -> bool:
        return is_custom_field(self.path)


@dataclass(frozen=True, slots=True)
class FieldChange(_PathLabel):
    """One changed value: a top-level field or a path inside one."""

    path: Path
    kind: ChangeKind
    old: Any = ABSENT
    new: Any = ABSENT
    #: For long text: unified-diff lines starting with ``-``, ``+``, `` `` or ``⋯``.
    text_diff: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldValue(_PathLabel):
    """One field of a whole object (a create's new object, a delete's last state)."""

    path: Path
    value: Any


@dataclass(frozen=True, slots=True)
class EventChanges:
    """Everything the Changes view shows for one event."""

    kind: ChangesKind
    summary: str
    changes: tuple[FieldChange, ...] = ()
    fields: tuple[FieldValue, ...] = ()
    notes: tuple[str, ...] = field(default=())
    #: The object's :data:`TOUCH_FIELD`, old and new, when the update changed other
    #: fields too (it is then not in :attr:`changes`, nor counted in :attr:`summary`).
    #: ``new`` is ``ABSENT`` when ``data`` does not carry it (the event's own
    #: ``date_updated`` is the moment of the update).
    touched: FieldChange | None = None


# ---------------------------------------------------------------------------- labels


def is_custom_field(path: Path) -> bool:
    """Close writes custom fields as top-level keys ``custom.cf_…``."""
    return bool(path) and isinstance(path[0], str) and path[0].startswith("custom.")


def path_label(path: Path, names: Mapping[str, str] | None = None) -> str:
    """A readable path: ``status_label``, ``addresses[0].city``, ``custom field cf_…``
    (``custom field Region`` when ``names`` knows the id), and ``["odd key"]`` for keys
    that are not identifiers."""
    out: list[str] = []
    for position, part in enumerate(path):
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif position == 0 and part.startswith("custom.") and len(part) > len("custom."):
            field_id = part[len("custom.") :]
            name = names.get(field_id) if names else None
            out.append("custom field " + (name if isinstance(name, str) and name else field_id))
        elif _IDENTIFIER.match(part):
            out.append(part if position == 0 else "." + part)
        else:
            out.append("[" + json.dumps(part, ensure_ascii=False) + "]")
    return "".join(out) or "(whole object)"


# ---------------------------------------------------------------------------- values


def is_long_text(value: Any) -> bool:
    return isinstance(value, str) and ("\n" in value or len(value) > LONG_TEXT)


def same(a: Any, b: Any) -> bool:
    """JSON equality that keeps ``1``, ``1.0``-vs-``True`` and ``0``-vs-``False`` apart."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    try:
        return bool(a == b) and (a is None) == (b is None)
    except Exception:  # not JSON: compare nothing rather than fail
        return a is b


def text_diff(old: str, new: str, *, context: int = 1) -> tuple[str, ...]:
    """Line diff of two texts: ``-old line``, ``+new line``, `` context``, ``⋯`` between
    hunks. Cut at :data:`MAX_DIFF_LINES` lines."""
    lines: list[str] = []
    diff = difflib.unified_diff(
        # split("\n"), not splitlines(): the latter also breaks at CR, VT, FF, U+2028…,
        # which must stay visible characters (␍) in the diff, not become line breaks.
        old.split("\n"), new.split("\n"), lineterm="", n=context
    )
    for line in diff:
        if line.startswith(("---", "+++")) and not lines:
            continue
        if line.startswith("@@"):
            if lines:
                lines.append("⋯")
            continue
        lines.append(line)
    if not lines and old != new:  # only trailing newlines/whitespace differ
        lines = ["-" + json.dumps(old[-40:]), "+" + json.dumps(new[-40:])]
    if len(lines) > MAX_DIFF_LINES:
        hidden = len(lines) - MAX_DIFF_LINES
        lines = [*lines[:MAX_DIFF_LINES], f"⋯ {hidden:,} more diff lines"]
    return tuple(lines)


def diff_values(old: Any, new: Any, path: Path = ()) -> list[FieldChange]:
    """The differences between two JSON values, as changes at paths under ``path``."""
    out: list[FieldChange] = []
    _diff(old, new, path, out)
    return out


def _diff(old: Any, new: Any, path: Path, out: list[FieldChange]) -> None:
    if old is ABSENT and new is ABSENT:
        return
    if old is ABSENT:
        out.append(FieldChange(path, "added", new=new))
        return
    if new is ABSENT:
        out.append(FieldChange(path, "removed", old=old))
        return
    if len(path) < MAX_DEPTH:
        if isinstance(old, dict) and isinstance(new, dict):
            for key in _union_keys(new, old):
                _diff(old.get(key, ABSENT), new.get(key, ABSENT), (*path, key), out)
            return
        if isinstance(old, list) and isinstance(new, list):
            _diff_lists(old, new, path, out)
            return
    if same(old, new):
        return
    if isinstance(old, str) and isinstance(new, str) and (is_long_text(old) or is_long_text(new)):
        out.append(FieldChange(path, "changed", old, new, text_diff(old, new)))
        return
    out.append(FieldChange(path, "changed", old, new))


def _union_keys(first: dict[Any, Any], second: dict[Any, Any]) -> list[Any]:
    keys = list(first)
    keys.extend(key for key in second if key not in first)
    return keys


def _diff_lists(old: list[Any], new: list[Any], path: Path, out: list[FieldChange]) -> None:
    if len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            _diff(a, b, (*path, index), out)
        return
    # Items inserted or removed: match equal items so one insertion is one change,
    # not a change at every later index.
    matcher = difflib.SequenceMatcher(
        a=[_fingerprint(x) for x in old], b=[_fingerprint(x) for x in new], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for offset in range(paired):
            _diff(old[i1 + offset], new[j1 + offset], (*path, j1 + offset), out)
        for index in range(i1 + paired, i2):
            out.append(FieldChange((*path, index), "removed", old=old[index]))
        for index in range(j1 + paired, j2):
            out.append(FieldChange((*path, index), "added", new=new[index]))


def _fingerprint(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        return repr(type(value)) + str(id(value))


# ---------------------------------------------------------------------------- events


def event_changes(event: Event) -> EventChanges:
    """What ``event`` did to its object, with notes on what the event cannot show."""
    data_state = event.payload_state("data")
    previous_state = event.payload_state("previous_data")
    data = event.data if isinstance(event.data, dict) else None
    previous = event.previous_data if isinstance(event.previous_data, dict) else None
    notes: list[str] = []
    if event.consolidated:
        span = _span(event)
        notes.append(
            "consolidated: several edits"
            + (f" made over {span}" if span else "")
            + " were merged into this event"
        )
    missing = [name for name, state in (("data", data_state), ("previous_data", previous_state))
               if state == "missing"]
    if missing:
        notes.append(f"{' and '.join(missing)} {PRIVACY_NOTE}")
    for name, value, state in (("data", event.data, data_state),
                               ("previous_data", event.previous_data, previous_state)):
        if state == "present" and not isinstance(value, dict):
            notes.append(f"{name} is not an object: see the JSON tab")

    action = event.action
    has_changes = bool(event.changed_fields) or bool(previous)
    if action == "deleted" or (data_state == "null" and action not in ("created", "updated")):
        return _object_listing("delete", "its last state", previous, previous_state, notes,
                               missing_word="previous_data")
    if action == "created":
        return _object_listing("create", "the new object", data, data_state, notes,
                               missing_word="data")
    if action == "updated" or has_changes:
        return _update(event, data, previous, notes)
    return _object_listing("state", "the object now", data, data_state, notes,
                           missing_word="data")


def _object_listing(
    kind: ChangesKind,
    what: str,
    obj: dict[str, Any] | None,
    state: str,
    notes: list[str],
    *,
    missing_word: str,
) -> EventChanges:
    if obj is None or not obj:
        if state == "null":
            notes.append(f"{missing_word} is null: no {what} recorded")
        elif state == "empty":
            notes.append(f"{missing_word} is empty: no {what} recorded")
        return EventChanges(kind, f"{what}: not available", notes=tuple(notes))
    fields = tuple(FieldValue((key,), value) for key, value in obj.items())
    count = len(fields)
    return EventChanges(
        kind, f"{what}: {count} field{'s' if count != 1 else ''}", fields=fields, notes=tuple(notes)
    )


def _update(
    event: Event,
    data: dict[str, Any] | None,
    previous: dict[str, Any] | None,
    notes: list[str],
) -> EventChanges:
    names = _changed_names(event.changed_fields, previous)
    touched: FieldChange | None = None
    if TOUCH_FIELD in names and len(names) > 1:
        names.remove(TOUCH_FIELD)
        old = previous.get(TOUCH_FIELD, ABSENT) if previous is not None else ABSENT
        new = data.get(TOUCH_FIELD, ABSENT) if data is not None else ABSENT
        kind: ChangeKind = "unknown" if ABSENT in (old, new) else "changed"
        touched = FieldChange((TOUCH_FIELD,), kind, old, new)
    changes: list[FieldChange] = []
    for name in names:
        old = previous.get(name, ABSENT) if previous is not None else ABSENT
        new = data.get(name, ABSENT) if data is not None else ABSENT
        if previous is None or data is None:
            # A payload is left out or not an object: say what is known, no guessing.
            changes.append(FieldChange((name,), "unknown", old, new))
            continue
        if old is ABSENT or new is ABSENT:
            # A listed field missing from one side: the event does not say its value
            # (``data`` is the whole object, so absence there is an abridged payload).
            changes.append(FieldChange((name,), "unknown", old, new))
            continue
        found = diff_values(old, new, (name,))
        changes.extend(found or [FieldChange((name,), "unchanged", old, new)])
    if not names:
        notes.append("no field changes recorded in this event")
    count = len(names)
    summary = f"{count} field{'s' if count != 1 else ''} changed"
    return EventChanges(
        "update", summary, changes=tuple(changes), notes=tuple(notes), touched=touched
    )


def _changed_names(changed_fields: Sequence[Any], previous: dict[str, Any] | None) -> list[str]:
    """``changed_fields`` then any other key of ``previous_data``; bookkeeping last."""
    seen: dict[str, None] = {}
    for name in _strings(changed_fields):
        seen.setdefault(name, None)
    if previous is not None:
        for name in _strings(previous):
            seen.setdefault(name, None)
    names = list(seen)
    return [n for n in names if n not in BOOKKEEPING_FIELDS] + [
        n for n in names if n in BOOKKEEPING_FIELDS
    ]


def _strings(values: Iterable[Any]) -> Iterable[str]:
    return (v if isinstance(v, str) else str(v) for v in values)


def _span(event: Event) -> str:
    seconds = int((event.date_updated - event.date_created).total_seconds())
    if seconds <= 0:
        return ""
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if rest // 60 else f"{hours} h"
