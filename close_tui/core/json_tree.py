"""The JSON of one event as a tree to navigate: nodes made on demand, jq paths, search.

Textual-free (the JSON view in ``ui/widgets/json_view.py`` draws it): what a node is,
which jq expression selects it, which ids in it are pivots, what "copy value" copies,
and a search that runs in document order from wherever the cursor is, wrapping, as a
pager's search does. Kept here so the rules can be tested without a terminal, and so
another view (a CLI ``--jq-path``, say) can share them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import islice
from typing import Any, Final

from close_tui.core import jsonnum
from close_tui.core.catalog import ID_PREFIX_FIELD, id_prefix

#: Children of an object or array shown before a "… N more" line; each Enter on it adds as many.
MAX_ITEMS: Final = 100
#: Search stops counting here ("…/10000+").
MAX_MATCHES: Final = 10_000

Path = tuple[str | int, ...]
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def jq_path(path: Path) -> str:
    """The jq expression that selects ``path``: ``.data.items[3]``, ``.data["custom.cf_x"]``.

    Keys that are not identifiers use the bracket form, which every jq version reads
    (``.a["b c"]``; at the top, ``.["b c"]``).
    """
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append("." + part)
        else:
            quoted = json.dumps(part, ensure_ascii=False)
            out.append(f"[{quoted}]" if out else f".[{quoted}]")
    return "".join(out) or "."


def pivot_field(value: Any) -> str | None:
    """The event filter field an id string belongs in (``lead_id``, ``object_id`` …), if any."""
    if not isinstance(value, str) or len(value) > 100 or "_" not in value:
        return None
    prefix = id_prefix(value)
    if prefix is None or len(value) <= len(prefix):
        return None
    return ID_PREFIX_FIELD.get(prefix)


def copy_text(value: Any) -> str:
    """What "copy value" puts on the clipboard: a string as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return jsonnum.dumps(value, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


class Node:
    """One shown JSON value. Children are made the first time they are shown."""

    __slots__ = (
        "children", "depth", "expanded", "index", "is_last", "key", "parent", "shown",
        "text_open", "value",
    )  # fmt: skip

    def __init__(
        self, key: str | int | None, value: Any, parent: Node | None, index: int, is_last: bool
    ) -> None:
        self.key = key
        self.value = value
        self.parent = parent
        self.depth: int = 0 if parent is None else parent.depth + 1
        self.index = index
        self.is_last = is_last
        self.expanded: bool | None = None  # None: decided by the view's default when built
        self.shown = MAX_ITEMS
        self.children: list[Node] | None = None
        self.text_open = False

    @property
    def is_container(self) -> bool:
        return isinstance(self.value, dict | list) and bool(self.value)

    @property
    def path(self) -> Path:
        parts: list[str | int] = []
        node: Node | None = self
        while node is not None and node.key is not None:
            parts.append(node.key)
            node = node.parent
        parts.reverse()
        return tuple(parts)

    def child_nodes(self) -> list[Node]:
        """The shown children, made on first use (never more than ``shown``)."""
        if self.children is None:
            self.children = []
        value = self.value
        total = len(value)
        wanted = min(self.shown, total)
        have = len(self.children)
        if have < wanted:
            if isinstance(value, dict):
                items = islice(value.items(), have, wanted)
                self.children.extend(
                    Node(key, item, self, i, i == total - 1)
                    for i, (key, item) in enumerate(items, start=have)
                )
            else:
                self.children.extend(
                    Node(i, value[i], self, i, i == total - 1) for i in range(have, wanted)
                )
        return self.children


def scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return jsonnum.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _children(path: Path, value: Any) -> Iterator[tuple[Path, Any, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), key, item
    else:
        for index, item in enumerate(value):
            yield (*path, index), None, item


def find_matches(root: Any, pattern: re.Pattern[str], limit: int = MAX_MATCHES) -> list[Path]:
    """Paths whose key or scalar value matches, in document order (iterative: no depth limit)."""
    found: list[Path] = []
    stack: list[Iterator[tuple[Path, Any, Any]]] = [iter([((), None, root)])]
    while stack and len(found) < limit:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        path, key, value = item
        hit = isinstance(key, str) and pattern.search(key) is not None
        if isinstance(value, dict | list):
            stack.append(_children(path, value))
        elif not hit:
            hit = pattern.search(scalar_text(value)) is not None
        if hit:
            found.append(path)
    return found


def document_order(root: Any, path: Path, origin: Path, closing: bool) -> int:
    """-1, 0 or 1: whether ``path`` comes before, at or after ``origin`` in document
    order (``closing``: the origin is its node's closing line, after its children)."""
    container = root
    for mine, theirs in zip(path, origin, strict=False):
        if mine != theirs:
            if isinstance(container, dict):
                keys = list(container)
                return 1 if keys.index(mine) > keys.index(theirs) else -1
            return 1 if int(mine) > int(theirs) else -1  # list indices
        container = container[mine]
    if len(path) == len(origin):
        return -1 if closing else 0  # a node's own line is above its closing line
    if len(path) > len(origin):  # inside the origin's node
        return -1 if closing else 1
    return -1  # an ancestor of the origin: its line is above


class TreeSearch:
    """A literal, case-insensitive search over keys and scalar values of one document.

    Matches are paths in document order; "the first match from here" is a binary search
    with :func:`document_order`, so ``n``/``N`` go to the next match after wherever the
    cursor is (not after the last match visited), wrapping at either end.
    """

    __slots__ = ("index", "match_set", "matches", "pattern", "query", "truncated")

    def __init__(self) -> None:
        self.query = ""
        self.pattern: re.Pattern[str] | None = None
        self.matches: list[Path] = []
        self.match_set: set[Path] = set()
        #: The current match (0-based), -1 for none.
        self.index = -1
        self.truncated = False

    def run(self, root: Any, query: str, limit: int = MAX_MATCHES) -> int:
        """Find ``query`` in ``root``; no match is current yet. Returns the count."""
        self.clear()
        self.query = query
        if query:
            self.pattern = re.compile(re.escape(query), re.IGNORECASE)
            self.matches = find_matches(root, self.pattern, limit)
            self.truncated = len(self.matches) >= limit
            self.match_set = set(self.matches)
        return len(self.matches)

    def clear(self) -> None:
        self.query = ""
        self.pattern = None
        self.matches = []
        self.match_set = set()
        self.index = -1
        self.truncated = False

    def first_from(
        self, root: Any, origin: Path, closing: bool, *, include_origin: bool
    ) -> int:
        """Index of the first match after ``origin`` (at it too with ``include_origin``);
        ``len(matches)`` when none is. ``closing``: the origin is its node's closing line."""
        low, high = 0, len(self.matches)
        while low < high:
            middle = (low + high) // 2
            order = document_order(root, self.matches[middle], origin, closing)
            if order > 0 or (order == 0 and include_origin):
                high = middle
            else:
                low = middle + 1
        return low

    def step(self, root: Any, origin: Path, closing: bool, forward: bool) -> int | None:
        """The match ``n`` (forward) or ``N`` goes to from ``origin``, wrapping; made current."""
        if not self.matches:
            return None
        if forward:
            target = self.first_from(root, origin, closing, include_origin=False)
        else:
            target = self.first_from(root, origin, closing, include_origin=True) - 1
        self.index = target % len(self.matches)
        return self.index

    @property
    def current(self) -> Path | None:
        return self.matches[self.index] if self.index >= 0 else None

    @property
    def status(self) -> str:
        """"3/17", "no match", or "" without a search."""
        if not self.query:
            return ""
        if not self.matches:
            return "no match"
        total = f"{len(self.matches)}{'+' if self.truncated else ''}"
        return f"{self.index + 1}/{total}"
