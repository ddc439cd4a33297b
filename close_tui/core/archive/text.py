"""What full-text search sees of an event, and how a typed search becomes an FTS5 query.

An event's *document* has three text columns:

* ``summary``: the one-line sentence of :func:`close_tui.core.summary.summarize`
  ("Opportunity Active → Won ($12,000)"), words a person reads in the table;
* ``names``: the display names of its user, lead and object as known when it was indexed
  (user list, lead events, names carried in payloads), so "Bluth" finds the events of the
  Bluth Company lead even when their own payload never says so;
* ``body``: the distinct strings of ``data`` and ``previous_data``, minus ids and
  timestamps (tokens that only bloat the index: ids are what the filters are for).

Keys, numbers and ``meta`` are left out: "name" or "date" would otherwise match every
event. A payload hidden by the privacy rule contributes nothing, so its event is found
only by summary and names, never by text it did not carry.

and a fourth, ``tags``, that no person searches: one token per filter value of the
event (``l123`` for lead term 123, ``a4`` for action term 4, …). A search combined with
filters is then one FTS5 query (``{summary names body} : (words) AND tags : "l123"``),
and FTS5 intersects the posting lists itself, skipping through both in ``k`` order. The
alternatives measured at 1M events were 1-8 s (walk every match, look each event up)
or 0.2-0.6 s (collect every match, then walk the filter's index) for a common word
with a rare filter; the intersection takes milliseconds.

A search typed by a person (``security questionnaire``, ``"call back"``, ``acme*``) is
turned into an FTS5 expression in which every word is a quoted string, so no character a
user types is ever read as FTS5 syntax (``AND``, ``-``, ``:``, ``^`` and parentheses
included): words must all match (in any column), a quoted phrase must match as a phrase,
and a trailing ``*`` makes a word a prefix.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any, Final

from close_tui.core.archive.errors import ArchiveError
from close_tui.core.models import Event
from close_tui.core.summary import summarize

#: The FTS5 tokenizer: Unicode-aware, case-insensitive, accents folded (é matches e).
TOKENIZER: Final = "unicode61 remove_diacritics 2"
#: Longest body indexed per event: a 64 KB note is searchable by its first 32 KB.
MAX_BODY_CHARS: Final = 32_768
#: Most words in one search (each one is a term the index looks up).
MAX_SEARCH_WORDS: Final = 16

#: ``lead_…``, ``acti_…``: an id (prefix, underscore, base62 tail).
_ID: Final = re.compile(r"[a-z]{2,5}_[A-Za-z0-9]{16,64}\Z")
#: An ISO date-time as the API writes them (``2026-11-20T12:48:23.395000+00:00``).
_TIMESTAMP: Final = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:?\d\d|Z)?\Z")
#: A search word or a quoted phrase, optionally followed by ``*``.
_SEARCH_PART: Final = re.compile(r'"([^"]*)"(\*?)|(\S+)')
#: What FTS5's unicode61 tokenizer keeps as word characters (letters and digits).
_WORD: Final = re.compile(r"[^\W_]+")


class SearchSyntaxError(ArchiveError, ValueError):
    """A search with nothing to look for (only punctuation, say): one clear line."""


def payload_strings(value: Any) -> Iterator[str]:
    """Every string value inside ``value`` (dicts and lists walked, keys skipped).

    Iterative, so payloads nested hundreds deep cannot exhaust the stack.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def body_text(event: Event) -> str:
    """The searchable text of the payload: distinct strings, no ids or timestamps."""
    raw = event.to_api()
    seen: set[str] = set()
    parts: list[str] = []
    size = 0
    for key in ("data", "previous_data"):
        if key not in raw:
            continue  # hidden by the privacy rule: nothing to index, nothing invented
        for text in payload_strings(raw[key]):
            text = text.strip()
            if not text or text in seen or _ID.match(text) or _TIMESTAMP.match(text):
                continue
            seen.add(text)
            parts.append(text)
            size += len(text) + 1
            if size >= MAX_BODY_CHARS:
                return "\n".join(parts)[:MAX_BODY_CHARS]
    return "\n".join(parts)


def names_text(event: Event, names: Mapping[str, str]) -> str:
    """The known names of the event's user, lead and object, one per line."""
    found: list[str] = []
    for ref in (event.user_id, event.lead_id, event.object_id):
        name = names.get(ref) if isinstance(ref, str) else None
        if name and name not in found:
            found.append(name)
    return "\n".join(found)


def document(event: Event, names: Mapping[str, str]) -> tuple[str, str, str]:
    """The ``(summary, names, body)`` columns indexed for ``event``."""
    return summarize(event, names), names_text(event, names), body_text(event)


def _fold(text: str) -> str:
    """Lower case without accents: how the tokenizer compares (for the reference)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The tokens FTS5's unicode61 tokenizer makes of ``text`` (for plain text: letters
    and digits, folded). Used to build queries and by the tests' reference matcher."""
    return _WORD.findall(_fold(text))


#: Prefix of each filter column's tag token (see the module docstring).
TAG_PREFIXES: Final[dict[str, str]] = {
    "lead": "l",
    "usr": "u",
    "otype": "y",
    "obj": "o",
    "act": "a",
    "req": "r",
}
#: The columns a person's search is matched against (never ``tags``).
TEXT_COLUMNS: Final = "{summary names body}"


def tag(column: str, value: int | str) -> str | None:
    """The tag token of one filter value (term integers; request ids by their letters
    and digits, case folded like every token: the query re-checks the exact id)."""
    if column == "req":
        letters = "".join(c for c in str(value).removeprefix("req_") if c.isascii() and c.isalnum())
        return "r" + letters.lower() if letters else None
    return TAG_PREFIXES[column] + str(int(value))


def tags_text(values: Mapping[str, int | str | None]) -> str:
    """The ``tags`` column of an event whose filter columns hold ``values``."""
    tokens = (tag(column, value) for column, value in values.items() if value is not None)
    return " ".join(t for t in tokens if t)


def fts_query(search: str) -> str:
    """The FTS5 MATCH expression for what a person typed; :class:`SearchSyntaxError` when
    nothing searchable is left.

    Each word becomes a quoted FTS5 string (its tokens as a phrase: ``lead_abc`` finds the
    id, ``e-mail`` finds "e mail"), a quoted phrase stays a phrase, ``*`` after either
    makes it a prefix; all of them must match.
    """
    parts: list[str] = []
    for match in _SEARCH_PART.finditer(search):
        phrase, phrase_star, word = match.group(1), match.group(2), match.group(3)
        star = phrase_star
        if word is not None:
            star = "*" if word.endswith("*") else ""
            phrase = word.rstrip("*")
        tokens = words(phrase or "")
        if not tokens:
            continue  # punctuation only: nothing the index holds
        quoted = '"' + " ".join(tokens) + '"'
        parts.append(quoted + star)
    if not parts:
        raise SearchSyntaxError(
            f"nothing to search for in {search!r}: give at least one word of letters or digits"
        )
    if len(parts) > MAX_SEARCH_WORDS:
        raise SearchSyntaxError(f"too many words in the search (at most {MAX_SEARCH_WORDS})")
    return " AND ".join(parts)


def match_expression(search: str, filters: Mapping[str, int | str]) -> str:
    """The whole MATCH expression: the person's words in the text columns, and a tag per
    filter value (values without a tag are left to the query's exact checks)."""
    expression = f"{TEXT_COLUMNS} : ({fts_query(search)})"
    for column, value in filters.items():
        token = tag(column, value)
        if token:
            expression += f' AND tags : "{token}"'
    return expression
