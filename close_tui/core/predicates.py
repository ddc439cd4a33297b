"""Local predicates: filter loaded events on what the API cannot filter on.

The event endpoint filters on six fields in fifteen combinations; an investigation often
needs something else (``api_key_id``, ``meta.bulk_action_id``, ``data.status_label``, a
word in a note). The app pages the server query as usual and keeps only the events that
match a :class:`Predicate`, saying so in the UI, since a local filter scans what the
server sends and may need many pages to find a few matches.

Grammar (several terms are AND-ed; nothing here ever raises, whatever is typed):

* ``field=value``   the field equals the value (case-insensitive; a list field matches if
  any element does; ``null`` or nothing after ``=`` matches a missing/null/empty field);
* ``field!=value``  the negation;
* ``field~text``    the field contains the text (strings, list elements, or the JSON of
  an object);
* anything else is free text, searched in the whole event's JSON.

``field`` is any event key or a dotted path into it: ``meta.bulk_action_id``,
``data.status_label``, ``previous_data.custom.cf_abc`` (a dotted key such as
``custom.cf_abc`` is found as one key), with lists fanned out (``data.emails.email``).
Values may be quoted (``data.status_label="Closed Won"``); an unclosed quote runs to the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from close_tui.core import jsonnum
from close_tui.core.jsonnum import is_number
from close_tui.core.models import Event

Op = Literal["eq", "ne", "contains", "text"]

_OPS: Final[tuple[tuple[str, Op], ...]] = (("!=", "ne"), ("=", "eq"), ("~", "contains"))
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_NULLS: Final = frozenset({"", "null", "none"})
#: Paths deeper than this are not followed (a pasted wall of dots must not be slow).
_MAX_PATH_PARTS: Final = 32


@dataclass(frozen=True, slots=True)
class Term:
    """One condition. ``field`` is empty for free text."""

    op: Op
    field: str
    value: str

    def describe(self) -> str:
        if self.op == "text":
            return _quote(self.value)
        symbol = {"eq": "=", "ne": "!=", "contains": "~"}[self.op]
        return f"{self.field}{symbol}{_quote(self.value)}"


def _quote(value: str) -> str:
    if value == "" or any(c.isspace() or c == '"' for c in value):
        return '"' + value.replace('"', "'") + '"'
    return value


@dataclass(frozen=True, slots=True)
class Predicate:
    """Terms that must all hold. The empty predicate matches everything."""

    terms: tuple[Term, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms)

    def describe(self) -> str:
        """The predicate in its canonical typed form, e.g. ``data.status_label=Won note``."""
        return " ".join(term.describe() for term in self.terms)

    def matches(self, event: Event) -> bool:
        """Whether ``event`` satisfies every term (never raises)."""
        if not self.terms:
            return True
        return matches_api(self, event.to_api())


def tokenize(text: str) -> list[str]:
    """Split on whitespace; double quotes group (and are removed); never raises."""
    tokens: list[str] = []
    current: list[str] = []
    started = False
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
            started = True
        elif char.isspace() and not quoted:
            if started:
                tokens.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        tokens.append("".join(current))
    return tokens


def parse(text: str) -> Predicate:
    """The predicate typed in ``text``. Every input parses: what is not ``field<op>value``
    with a plausible field name is free text."""
    terms: list[Term] = []
    for token in tokenize(text):
        terms.append(_term(token))
    return Predicate(tuple(t for t in terms if t.op != "text" or t.value))


def _term(token: str) -> Term:
    best: tuple[int, str, Op] | None = None
    for symbol, op in _OPS:
        at = token.find(symbol)
        if at > 0 and (best is None or at < best[0]):
            best = (at, symbol, op)
    if best is not None:
        at, symbol, op = best
        field = token[:at]
        if _FIELD.match(field) and not field.endswith("."):
            return Term(op, field, token[at + len(symbol):])
    return Term("text", "", token)


# --------------------------------------------------------------------------- matching


def matches_api(predicate: Predicate, event: Mapping[str, Any]) -> bool:
    """:meth:`Predicate.matches` on an event as the API's JSON object."""
    text: str | None = None
    for term in predicate.terms:
        if term.op == "text":
            if text is None:
                text = _json_text(event)
            if term.value.casefold() not in text:
                return False
        elif not _holds(term, event):
            return False
    return True


def _holds(term: Term, event: Mapping[str, Any]) -> bool:
    parts = term.field.split(".")
    if len(parts) > _MAX_PATH_PARTS:
        return False
    values = list(resolve(event, parts))
    wanted = term.value.casefold()
    if term.op == "contains":
        return any(wanted in _contains_text(v) for v in values)
    found = any(_equals(v, wanted) for v in values) or (
        wanted in _NULLS and (not values or any(_is_nothing(v) for v in values))
    )
    return found if term.op == "eq" else not found


def resolve(value: Any, parts: list[str]) -> Iterator[Any]:
    """Every value at the dotted path ``parts`` under ``value``.

    At an object, the longest run of parts that is one key wins first (``custom.cf_x`` is
    a key of ``data``), then shorter runs; a list is fanned out (each element continues
    the path, or a numeric part indexes it).
    """
    if not parts:
        yield value
        return
    if isinstance(value, Mapping):
        for size in range(len(parts), 0, -1):
            key = ".".join(parts[:size])
            if key in value:
                yield from resolve(value[key], parts[size:])
    elif isinstance(value, list):
        head = parts[0]
        if head.isdigit():
            index = int(head)
            if index < len(value):
                yield from resolve(value[index], parts[1:])
            return
        for item in value:
            if isinstance(item, Mapping | list):
                yield from resolve(item, parts)


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value.casefold()
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return jsonnum.dumps(value)
    return _json_text(value)


def _equals(value: Any, wanted: str) -> bool:
    if isinstance(value, list):
        return any(_equals(item, wanted) for item in value if not isinstance(item, list))
    if isinstance(value, Mapping):
        return False
    return _scalar_text(value) == wanted


def _is_nothing(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _contains_text(value: Any) -> str:
    if isinstance(value, list) and all(not isinstance(v, Mapping | list) for v in value):
        return "\x00".join(_scalar_text(v) for v in value)
    return _scalar_text(value)


def _json_text(value: Any) -> str:
    try:
        return jsonnum.dumps(value, ensure_ascii=False, default=str).casefold()
    except (TypeError, ValueError, RecursionError):
        return str(value).casefold()
