"""Helpers for the archive tests: virtual time, clients on the emulator, the truth, and a
reference filter that evaluates *any* filter combination (and a search) in plain Python.

The reference is deliberately naive: it scans every event and compares fields one by
one, so the archive's index choice, keyset paging and FTS plans are checked against
something that has none of them.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from close_tui.core.archive.query import ArchiveFilter, date_bounds_us
from close_tui.core.archive.store import encode, to_us
from close_tui.core.archive.text import document, words
from close_tui.core.client import CloseClient, RetryPolicy
from close_tui.core.dates import parse_api_datetime
from close_tui.core.filters import FILTER_FIELDS, EventFilter
from close_tui.core.models import Event
from close_tui.emulator import Emulator, FakeClock

Json = dict[str, Any]


class VirtualTime:
    """One clock for the emulator, the client and the export engine; sleeping moves it."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def monotonic(self) -> float:
        return self.clock().timestamp()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.clock.advance(seconds)
        await asyncio.sleep(0)


def client_for(
    em: Emulator,
    vt: VirtualTime,
    *,
    key: str = "admin",
    transport: Any = None,
    attempts: int = 6,
) -> CloseClient:
    secret = {"admin": em.admin_key, "member": em.member_key}.get(key, key)
    return CloseClient(
        "https://emulator.test/api/v1",
        api_key=secret,
        transport=transport or em.transport(),
        retry=RetryPolicy(max_attempts=attempts, base_delay=0.0, jitter=0.0),
        sleep=vt.sleep,
        monotonic=vt.monotonic,
    )


def truth(em: Emulator, *, admin: bool = True) -> dict[str, str]:
    """id -> the event's JSON as the key sees it now, in the archive's encoding."""
    return {e["id"]: encode(e) for e in em.expected({}, admin=admin)}


def stored(path: Path) -> dict[str, str]:
    """id -> raw JSON of every event in the archive file (read with plain sqlite3)."""
    con = sqlite3.connect(path)
    try:
        return {str(i): str(r) for i, r in con.execute("SELECT id, raw FROM event")}
    finally:
        con.close()


def order_key(event: Json) -> tuple[int, str]:
    """The archive's order, newest first when sorted in reverse: (date_updated, id)."""
    return to_us(parse_api_datetime(event["date_updated"])), event["id"]


def _phrase_in(tokens: list[str], phrase: list[str], prefix: bool) -> bool:
    n = len(phrase)
    for i in range(len(tokens) - n + 1):
        window = tokens[i : i + n]
        if window[:-1] == phrase[:-1] and (
            window[-1].startswith(phrase[-1]) if prefix else window[-1] == phrase[-1]
        ):
            return True
    return False


_TOKENS: dict[tuple[str, str, bool, int], list[list[str]]] = {}


def document_tokens(event: Json, names: Mapping[str, str]) -> list[list[str]]:
    """The tokens of each column of the event's document (cached per event version)."""
    key = (event["id"], event["date_updated"], "data" in event, id(names))
    found = _TOKENS.get(key)
    if found is None:
        found = [words(text) for text in document(Event.model_validate(event), names)]
        _TOKENS[key] = found
    return found


def search_matches(event: Json, search: str, names: Mapping[str, str]) -> bool:
    """Whether every word (or quoted phrase, ``*`` prefix) of ``search`` occurs in one
    column of the event's document, as the tokenizer splits it."""
    columns = document_tokens(event, names)
    parts: list[tuple[list[str], bool]] = []
    rest = search
    while rest.strip():
        rest = rest.strip()
        if rest.startswith('"') and '"' in rest[1:]:
            end = rest.index('"', 1)
            text, rest = rest[1:end], rest[end + 1 :]
            prefix = rest.startswith("*")
            rest = rest[1:] if prefix else rest
        else:
            text, _, rest = rest.partition(" ")
            prefix = text.endswith("*")
            text = text.rstrip("*")
        phrase = words(text)
        if phrase:
            parts.append((phrase, prefix))
    return all(any(_phrase_in(col, p, pre) for col in columns) for p, pre in parts)


def reference(
    events: Iterable[Json], flt: EventFilter, names: Mapping[str, str] | None = None
) -> list[str]:
    """The ids ``flt`` selects from ``events``, newest first in the archive's order."""
    lo, hi = date_bounds_us(flt)
    search = flt.search if isinstance(flt, ArchiveFilter) else None
    chosen = []
    for event in events:
        if any(
            getattr(flt, name) and event.get(name) != getattr(flt, name)
            for name in FILTER_FIELDS
        ):
            continue
        when = to_us(parse_api_datetime(event["date_updated"]))
        if (lo is not None and when < lo) or (hi is not None and when > hi):
            continue
        if search and not search_matches(event, search, names or {}):
            continue
        chosen.append(event)
    chosen.sort(key=order_key, reverse=True)
    return [e["id"] for e in chosen]
