"""Where a pasted or typed id belongs in the event filter, judged by its prefix.

People copy ids from everywhere: a Close web address, a JSON dump with its quotes, a
log line with trailing punctuation. The filter form should put such a value in the right
field without making the user aim first, and refuse what no field of the event endpoint
takes (an ``ev_`` or ``orga_`` id) with a message that says why, instead of letting a
query fail at the server. The rules live here, free of Textual, so the form, the CLI
and the tests share one answer.

Every message this module writes that quotes user text shows it through
:func:`close_tui.core.sanitize.visible` and shortened, so callers can display it as
plain text (never as markup) without further care.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from close_tui.core.catalog import (
    ALL_ACTIONS,
    ID_PREFIX_FIELD,
    OBJECT_ID_FAMILY,
    OBJECT_ID_TYPE,
    OBJECT_TYPE_ACTIONS,
    OTHER_ID_PREFIXES,
    id_prefix,
    object_types_for_id,
)
from close_tui.core.filters import FilterField
from close_tui.core.sanitize import has_controls, visible

#: The filter fields that hold ids (as opposed to a type or an action).
ID_FIELDS: Final[tuple[FilterField, ...]] = ("lead_id", "user_id", "object_id", "request_id")

#: What people call each field, for messages.
FIELD_LABELS: Final[dict[str, str]] = {
    "lead_id": "lead id",
    "user_id": "user id",
    "object_type": "object type",
    "object_id": "object id",
    "action": "action",
    "request_id": "request id",
    "since": "since",
    "until": "until",
}

#: Hosts of Close's web app; a lead address from elsewhere is still read, with a warning.
CLOSE_HOSTS: Final[tuple[str, ...]] = ("close.com", "close.io")

#: Text longer than this is no id; cut before any regex work so hostile pastes stay cheap.
MAX_VALUE_CHARS: Final = 2000

UNKNOWN_TYPE_WARNING: Final = "unknown type (allowed, the API may know it)"

# ``prefix_`` then base62; ``-``/``_`` tolerated in the body so odd test ids still route.
_ID_SHAPE: Final = re.compile(r"[a-z]{1,8}_[A-Za-z0-9][A-Za-z0-9_-]*\Z")
# What object type names look like (known ones and plausible future ones).
_TYPE_SHAPE: Final = re.compile(r"[A-Za-z0-9_.-]+\Z")
_OPENERS: Final = "\"'`<([{"
_CLOSERS: Final = "\"'`>)]},;"


def show(value: str, limit: int = 40) -> str:
    """``value`` made safe and short enough to quote in a one-line message."""
    text = visible(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def label(field: str) -> str:
    return FIELD_LABELS.get(field, field)


@dataclass(frozen=True, slots=True)
class Route:
    """Where a pasted value goes.

    ``field`` is the filter field to fill with ``value``; ``None`` with no ``error``
    means "not an id": the caller inserts ``value`` as ordinary text where it was pasted.
    ``implied_object_type`` is set when an object id's prefix names its type exactly
    (``cont_`` -> ``contact``); ``type_family`` when it only narrows it (``acti_`` ->
    ``activity.``).
    """

    field: FilterField | None
    value: str
    implied_object_type: str | None = None
    type_family: str | None = None
    warning: str | None = None
    error: str | None = None

    @property
    def is_plain_text(self) -> bool:
        return self.field is None and self.error is None


@dataclass(frozen=True, slots=True)
class FieldCheck:
    """Whether a field's value can be sent: errors block Apply, warnings only inform."""

    ok: bool = True
    warning: str | None = None
    error: str | None = None


_OK: Final = FieldCheck()


def _error(message: str) -> FieldCheck:
    return FieldCheck(ok=False, error=message)


def _warning(message: str) -> FieldCheck:
    return FieldCheck(ok=True, warning=message)


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped, and unwrapped from one pair of
    matching quotes: what a one-line field should receive from a paste."""
    line = next((ln for ln in text[: MAX_VALUE_CHARS * 2].splitlines() if ln.strip()), "")
    value = line.strip()[:MAX_VALUE_CHARS]
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
        value = value[1:-1].strip()
    return value


def extract_value(text: str) -> str:
    """The first non-blank line of ``text``, without surrounding quotes, brackets or a
    trailing comma: what is left when someone copies ``"lead_abc",`` out of JSON."""
    value = first_line(text)
    while value and value[0] in _OPENERS:
        value = value[1:].strip()
    while value and value[-1] in _CLOSERS:
        value = value[:-1].strip()
    return value[:MAX_VALUE_CHARS]


def is_id_shaped(value: str) -> bool:
    """Whether ``value`` looks like ``prefix_body`` and is no known type or action name
    (``custom_object`` and ``sequence_subscription`` are types, not ids)."""
    return (
        bool(_ID_SHAPE.match(value))
        and value not in OBJECT_TYPE_ACTIONS
        and value not in ALL_ACTIONS
    )


def _looks_like_url(value: str) -> bool:
    lowered = value.lower()
    return "://" in lowered or lowered.startswith(("app.close.com/", "close.com/", "www."))


def lead_id_from_url(value: str) -> tuple[str | None, str | None]:
    """The lead id in a Close web address and a warning, e.g. for
    ``https://app.close.com/lead/lead_abc/activity/?q=1`` -> ``("lead_abc", None)``."""
    url = value if "://" in value else "https://" + value
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None, None
    lead = next(
        (seg for seg in parts.path.split("/") if seg.startswith("lead_") and _ID_SHAPE.match(seg)),
        None,
    )
    if lead is None:
        return None, None
    close_host = any(host == h or host.endswith("." + h) for h in CLOSE_HOSTS)
    warning = None if close_host else f"{show(host)} is not a Close address; took its lead id"
    return lead, warning


def route_paste(text: str, target: str | None = None) -> Route:
    """Decide where pasted ``text`` goes.

    ``target`` is the form field the paste landed in (``None``: the form as a whole, e.g.
    a button had focus). Ids route by prefix wherever they are pasted (``lead_`` -> lead
    id, ``user_`` -> user id, ``req_`` -> request id, ``acti_``/``cont_``/``oppo_``/``task_``
    -> object id), except that a ``lead_`` id pasted into the object id field stays there
    (a lead is an object too). A Close lead address yields its lead id. Ids that no filter
    takes (``ev_``, ``orga_``, ...) are refused. An id-like value with an unknown prefix
    is accepted with a warning in the id field it was pasted into (object id when pasted
    on the form). Known type and action names go to their fields. Anything else pasted
    into a field is ordinary text for that field.
    """
    value = extract_value(text)
    if not value:
        return Route(field=None, value="")
    # Not an id after all: the text goes in as typed, brackets and all.
    plain = first_line(text)
    if _looks_like_url(value):
        lead, warning = lead_id_from_url(value)
        if lead is None:
            return Route(
                field=None,
                value=value,
                error=f"no lead id in the address {show(value)}",
            )
        return Route(field="lead_id", value=lead, warning=warning)

    text_fields = ("object_type", "action", "since", "until")
    if not is_id_shaped(value):
        if target in text_fields:
            return Route(field=None, value=plain)
        if value in OBJECT_TYPE_ACTIONS:
            return Route(field="object_type", value=value)
        if value in ALL_ACTIONS:
            return Route(field="action", value=value)
        if target is not None:
            return Route(field=None, value=plain)
        return Route(
            field=None,
            value=value,
            error=f"{show(value)} is no id, Close lead address, object type or action",
        )

    prefix = id_prefix(value) or ""
    if prefix in OTHER_ID_PREFIXES:
        return Route(
            field=None,
            value=value,
            error=f"{show(value)} is {OTHER_ID_PREFIXES[prefix]}: no event filter takes it",
        )
    owner = ID_PREFIX_FIELD.get(prefix)
    if owner is not None:
        field: FilterField = owner  # type: ignore[assignment]
        if target == "object_id" and prefix in OBJECT_ID_TYPE:
            field = "object_id"
        if field == "object_id":
            return Route(
                field=field,
                value=value,
                implied_object_type=OBJECT_ID_TYPE.get(prefix),
                type_family=OBJECT_ID_FAMILY.get(prefix),
            )
        return Route(field=field, value=value)

    # An id-like value whose prefix we do not know: Close may have added a kind of id.
    if target in text_fields:
        return Route(field=None, value=plain)
    destination: FilterField = "object_id"
    for candidate in ID_FIELDS:
        if candidate == target:
            destination = candidate
    return Route(
        field=destination,
        value=value,
        warning=f"unknown id prefix {show(prefix)}: put in {label(destination)}"
        " (allowed, the API may know it)",
    )


def types_for_object_id(object_id: str | None) -> tuple[str, ...]:
    """The known object types to offer given the object id (all when it says nothing)."""
    if not object_id:
        return tuple(OBJECT_TYPE_ACTIONS)
    return object_types_for_id(object_id.strip())


def actions_for_context(object_type: str | None, object_id: str | None) -> tuple[str, ...]:
    """The actions to offer: the type's own when it is known, else those of the types the
    object id allows (a ``task_`` id: task actions), else every known action."""
    kind = (object_type or "").strip()
    if kind in OBJECT_TYPE_ACTIONS:
        return OBJECT_TYPE_ACTIONS[kind]
    if kind:
        return ALL_ACTIONS
    types = types_for_object_id(object_id)
    if len(types) == len(OBJECT_TYPE_ACTIONS):
        return ALL_ACTIONS
    found = {action for t in types for action in OBJECT_TYPE_ACTIONS[t]}
    return tuple(a for a in ALL_ACTIONS if a in found)


def check_field_value(
    field: str,
    value: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
) -> FieldCheck:
    """Whether ``value`` may be sent as ``field``, given the other fields for context.

    Errors: an id whose prefix belongs to another field (``user_x`` as lead id), an id no
    filter takes (``ev_``), whitespace or control characters, a known type that the object
    id rules out, an action the known type does not have. Warnings: unknown prefixes,
    types and actions, which Close may know even though we do not.
    """
    v = value.strip()
    if not v:
        return _OK
    if has_controls(v) or any(ch.isspace() for ch in v):
        return _error(f"{show(v)} has spaces or control characters")
    if field in ID_FIELDS:
        return _check_id(field, v)
    if field == "object_type":
        return _check_object_type(v, object_id)
    if field == "action":
        return _check_action(v, object_type, object_id)
    return _OK


def _check_id(field: str, v: str) -> FieldCheck:
    prefix = id_prefix(v)
    if prefix is None:
        return _warning(f"no id prefix in {show(v)} (allowed, the API may know it)")
    if prefix in OTHER_ID_PREFIXES:
        return _error(f"{show(v)} is {OTHER_ID_PREFIXES[prefix]}: no event filter takes it")
    body = v[len(prefix) :]
    owner = ID_PREFIX_FIELD.get(prefix)
    fits = owner == field or (field == "object_id" and prefix in OBJECT_ID_TYPE)
    if owner is not None and not fits:
        article = "an" if label(owner)[0] in "aeio" else "a"
        return _error(f"{show(v)} is {article} {label(owner)}: it goes in {label(owner)}")
    if not body:
        return _error(f"{show(v)} is incomplete")
    if owner is None:
        return _warning(f"unknown id prefix {show(prefix)} (allowed, the API may know it)")
    return _OK


def _check_object_type(v: str, object_id: str | None) -> FieldCheck:
    if v in OBJECT_TYPE_ACTIONS:
        allowed = types_for_object_id(object_id)
        if v not in allowed:
            prefix = id_prefix((object_id or "").strip()) or ""
            family = OBJECT_ID_FAMILY.get(prefix)
            fitting = f"{family}*" if family else " or ".join(allowed)
            return _error(f"{show(object_id or '')} can't be a {v}: use {fitting}")
        return _OK
    if is_id_shaped(v) and (id_prefix(v) in ID_PREFIX_FIELD or id_prefix(v) in OTHER_ID_PREFIXES):
        return _error(f"{show(v)} is an id, not an object type")
    if not _TYPE_SHAPE.match(v):
        return _error(f"{show(v)} is no object type (they look like activity.note)")
    return _warning(UNKNOWN_TYPE_WARNING)


def _check_action(v: str, object_type: str | None, object_id: str | None) -> FieldCheck:
    kind = (object_type or "").strip()
    if kind in OBJECT_TYPE_ACTIONS:
        allowed = OBJECT_TYPE_ACTIONS[kind]
        if v not in allowed:
            return _error(f"{kind} has no action '{show(v)}': use {', '.join(allowed)}")
        return _OK
    if not _TYPE_SHAPE.match(v):
        return _error(f"{show(v)} is no action (they look like created)")
    if kind:  # an unknown type: any action may be right
        return (
            _OK if v in ALL_ACTIONS else _warning("unknown action (allowed, the API may know it)")
        )
    offered = actions_for_context(None, object_id)
    if v not in offered:
        if v in ALL_ACTIONS:
            return _warning(f"{show(v)} is not an action of such objects that we know of")
        return _warning("unknown action (allowed, the API may know it)")
    return _OK
