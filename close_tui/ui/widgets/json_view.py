"""A navigable JSON view: fold, search, copy a value or its jq path, pivot on ids.

Why our own widget: Rich's ``JSON`` in a ``Static`` cannot fold, search or hold a cursor;
``Tree.add_json`` builds a widget node per value up front (10,000 of them for a long
array) and parses labels as markup; ``TextArea(language="json")`` needs tree-sitter.

How it stays fast on a 64 KB note, data nested 200 deep or a 10,000-element array:

* the JSON is kept as it came; :class:`Node` objects are made only for what is shown,
  the first time it is shown (a folded object's children are never made; an array shows
  its first :data:`MAX_ITEMS` items and a "… 9,900 more" line);
* what is unfolded is flattened into a list of *rows* (one logical line may wrap over
  several rows) and :meth:`JsonLines.render_line` draws only the rows on screen, from
  ``Segment``s built directly out of sanitized text (never markup), with an LRU of strips;
* long strings show a few rows and a count of what is hidden; Enter or space expands the
  one under the cursor.

Layout of the body's virtual canvas: line 0 is a pinned header (the cursor's jq path and
the search position, "3/17"); rows start on line 1.

Ids in the JSON are pivots: Enter on a ``lead_…``/``user_…``/``req_…`` string, or an object
id (``acti_``/``cont_``/``oppo_``/``task_``), posts :class:`JsonView.PivotRequested`; the app
decides what to do with it (run the filter, keep a history).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Final

from rich.cells import cell_len, get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events, on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input

from close_tui.core import jsonnum
from close_tui.core.catalog import OBJECT_ID_TYPE, id_prefix
from close_tui.core.json_tree import (
    MAX_ITEMS,
    MAX_MATCHES,
    Node,
    Path,
    TreeSearch,
    copy_text,
    jq_path,
    pivot_field,
    scalar_text,
)
from close_tui.core.sanitize import visible
from close_tui.ui.keys import bindings_for

#: A collapsed long string takes at most about this many rows.
STRING_ROWS: Final = 3
#: Containers are unfolded by default until the view holds this many lines.
DEFAULT_EXPAND_LINES: Final = 3000
#: "Unfold all" stops unfolding past this many lines (a million-line view helps nobody).
UNFOLD_ALL_LINES: Final = 50_000
#: Keys longer than this are cut (a key is never expanded).
MAX_KEY_CHARS: Final = 500
INDENT: Final = 2
#: Rows are wrapped to this width while the view has no size (hidden in an inactive tab).
FALLBACK_WIDTH: Final = 60

# Logical line kinds.
OPEN: Final = 0  # a non-empty object/array: its first line (or the whole of it, folded)
CLOSE: Final = 1  # "}" / "]"
LEAF: Final = 2  # a scalar, or an empty container
MORE: Final = 3  # "… 9,900 more items"

_BREAK: Final = "\n"  # a piece with this role starts a new row (lines of an expanded string)

Piece = tuple[str, str]  # (text, role)


def _split_cells(text: str, room: int) -> tuple[str, str]:
    """``text`` cut after at most ``room`` cells."""
    if text.isascii():
        return text[:room], text[room:]
    used = 0
    for position, char in enumerate(text):
        size = get_character_cell_size(char)
        if used + size > room:
            return text[:position], text[position:]
        used += size
    return text, ""


def _wrap(pieces: list[Piece], first: int, rest: int) -> list[list[Piece]]:
    """Pieces laid into rows of ``first`` then ``rest`` cells (a ``_BREAK`` piece forces a row)."""
    rows: list[list[Piece]] = [[]]
    room = first
    for text, role in pieces:
        if role == _BREAK:
            rows.append([])
            room = rest
            continue
        while text:
            size = len(text) if text.isascii() else cell_len(text)
            if size <= room:
                rows[-1].append((text, role))
                room -= size
                break
            if role == "note" and size <= rest and rows[-1]:
                rows.append([])  # a note reads better whole on the next row than cut
                room = rest
                continue
            head, tail = _split_cells(text, max(room, 0))
            if not head:
                if rows[-1]:  # nothing more fits on this row
                    rows.append([])
                    room = rest
                    continue
                head, tail = text[0], text[1:]  # a row narrower than one character
            rows[-1].append((head, role))
            text = tail
            rows.append([])
            room = rest
    if len(rows) > 1 and not rows[-1]:
        rows.pop()
    return rows


class JsonLines(ScrollView, can_focus=True):
    """The body of :class:`JsonView`: rows of the unfolded JSON, a cursor on a value."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("json")  # the one key table

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "json-view--header",
        "json-view--cursor",
        "json-view--key",
        "json-view--string",
        "json-view--number",
        "json-view--literal",
        "json-view--punct",
        "json-view--note",
        "json-view--pivot",
        "json-view--gutter",
        "json-view--match",
        "json-view--match-current",
    }

    DEFAULT_CSS = """
    JsonLines {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        scrollbar-gutter: stable;
        height: 1fr;
        &:focus {
            background-tint: $foreground 5%;
            & > .json-view--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
            }
        }
        & > .json-view--header { background: $panel; color: $text-muted; }
        & > .json-view--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        & > .json-view--key { color: $accent; text-style: bold; }
        & > .json-view--string { color: $success; }
        & > .json-view--number { color: $warning; }
        & > .json-view--literal { color: $secondary; text-style: italic; }
        & > .json-view--punct { color: $text-muted; }
        & > .json-view--note { color: $text-warning; text-style: italic; }
        & > .json-view--pivot { color: $success; text-style: underline; }
        & > .json-view--gutter { color: $text-muted; }
        & > .json-view--match { background: $warning 40%; }
        & > .json-view--match-current { background: $warning; color: $background; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._value: Any = None
        self._root: Node | None = None
        self._object_types: dict[str, str] = {}
        self._default_expand = True
        self._expand_budget = DEFAULT_EXPAND_LINES
        # The flattened view, rebuilt when folding, width or the document change.
        self._lines: list[tuple[Node, int]] = []
        self._line_first_row: list[int] = []
        self._rows: list[tuple[int, str, tuple[Piece, ...]]] = []  # (line, indent, pieces)
        self._line_of: dict[int, int] = {}  # id(node) -> its OPEN/LEAF line
        self._built_width = -1
        self._cursor = 0
        self._generation = 0
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(2048)
        self._styles: dict[str, Style] = {}
        self._search = TreeSearch()

    # ------------------------------------------------------------------ document

    def load(self, value: Any, *, object_types: Mapping[str, str] | None = None) -> None:
        """Show ``value`` from the top: everything unfolded (within a budget), no search.

        ``object_types`` maps ids whose object type is known from context (the event's
        own ``object_id``) to that type, for :class:`JsonView.PivotRequested`.
        """
        self._value = value
        self._root = Node(None, value, None, 0, True)
        self._root.expanded = True
        self._object_types = dict(object_types or {})
        self._default_expand = True
        self._expand_budget = DEFAULT_EXPAND_LINES
        self._cursor = 0
        self._search.clear()
        self._invalidate()
        self.scroll_to(y=0, animate=False, immediate=True)

    @property
    def value(self) -> Any:
        return self._value

    @property
    def line_count(self) -> int:
        self._ensure_built()
        return len(self._lines)

    @property
    def row_count(self) -> int:
        self._ensure_built()
        return len(self._rows)

    @property
    def cursor_index(self) -> int:
        return self._cursor

    @property
    def cursor_node(self) -> Node | None:
        self._ensure_built()
        if not self._lines:
            return None
        return self._lines[self._cursor][0]

    @property
    def cursor_path(self) -> Path:
        node = self.cursor_node
        return node.path if node is not None else ()

    @property
    def cursor_jq_path(self) -> str:
        return jq_path(self.cursor_path)

    @property
    def cursor_value(self) -> Any:
        node = self.cursor_node
        return node.value if node is not None else None

    def row_text(self, row: int) -> str:
        """The plain text of one row (tests, debugging)."""
        self._ensure_built()
        _, indent, pieces = self._rows[row]
        return indent + "".join(text for text, _ in pieces)

    def row_texts(self) -> list[str]:
        self._ensure_built()
        return [self.row_text(i) for i in range(len(self._rows))]

    def text(self) -> str:
        return "\n".join(self.row_texts())

    # ------------------------------------------------------------------ folding

    def move_cursor(self, line: int) -> None:
        self._ensure_built()
        if not self._lines:
            return
        line = max(0, min(line, len(self._lines) - 1))
        if line != self._cursor:
            self._cursor = line
            self._strips.clear()
            self.refresh()
        self._scroll_cursor_into_view()

    def set_expanded(self, node: Node, expanded: bool) -> None:
        if node.is_container and node.expanded != expanded:
            node.expanded = expanded
            self._rebuild(keep=node)

    def fold_all(self) -> None:
        """Everything folded but the top level: the quickest overview of a big payload."""
        if self._root is None:
            return
        for node in self._materialized():
            node.expanded = node is self._root
        self._default_expand = False
        self._rebuild(keep=self.cursor_node)

    def unfold_all(self) -> None:
        if self._root is None:
            return
        for node in self._materialized():
            if node.is_container:
                node.expanded = True
        self._default_expand = True
        self._expand_budget = UNFOLD_ALL_LINES
        self._rebuild(keep=self.cursor_node)

    def show_more(self, node: Node) -> None:
        """The next :data:`MAX_ITEMS` children of ``node``; the cursor goes to the first."""
        first_new = node.shown
        node.shown += MAX_ITEMS
        children = node.child_nodes()
        target = children[first_new] if first_new < len(children) else node
        self._rebuild(keep=target)

    def reveal(self, path: Path) -> bool:
        """Unfold and show enough to put the cursor on ``path``. False if it is not there."""
        node = self._root
        if node is None:
            return False
        for part in path:
            value = node.value
            if isinstance(value, dict):
                position = next((i for i, key in enumerate(value) if key == part), None)
            elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
                position = part
            else:
                position = None
            if position is None:
                return False
            node.expanded = True
            if position >= node.shown:
                node.shown = (position // MAX_ITEMS + 1) * MAX_ITEMS
            node = node.child_nodes()[position]
        self._rebuild(keep=node)
        return True

    def _materialized(self) -> Iterator[Node]:
        stack = [self._root] if self._root is not None else []
        while stack:
            node = stack.pop()
            yield node
            if node.children:
                stack.extend(node.children)

    # ------------------------------------------------------------------ search

    @property
    def search_query(self) -> str:
        return self._search.query

    @property
    def match_count(self) -> int:
        return len(self._search.matches)

    @property
    def match_position(self) -> int:
        """1-based position of the current match; 0 when none is current."""
        return self._search.index + 1

    @property
    def match_status(self) -> str:
        """"3/17", "no match", or "" without a search."""
        return self._search.status

    @property
    def cursor_position(self) -> tuple[Path, bool]:
        """Where the cursor is in document order: its node's path, and whether it is on
        that node's closing line (after the node's children)."""
        self._ensure_built()
        if not self._lines:
            return (), False
        node, kind = self._lines[self._cursor]
        return node.path, kind in (CLOSE, MORE)

    def search(self, query: str, origin: tuple[Path, bool] | None = None) -> int:
        """Find ``query`` (case-insensitive, literal) in keys and values and go to the
        first match at or after ``origin`` (default: the cursor), wrapping to the top —
        as a pager's search does. The search field passes the cursor from when it opened,
        so each keystroke searches from the same place."""
        if origin is None:
            origin = self.cursor_position
        search = self._search
        count = search.run(self._value, query, MAX_MATCHES)
        if count:
            first = search.first_from(self._value, *origin, include_origin=True)
            self._go_to_match(first % count)
        self._strips.clear()
        self.refresh()
        return count

    def clear_search(self) -> None:
        self._search.clear()
        self._strips.clear()
        self.refresh()

    def next_match(self) -> None:
        """The first match after the cursor (wherever the user moved it), wrapping."""
        index = self._search.step(self._value, *self.cursor_position, forward=True)
        if index is not None:
            self._go_to_match(index)

    def previous_match(self) -> None:
        """The last match before the cursor, wrapping."""
        index = self._search.step(self._value, *self.cursor_position, forward=False)
        if index is not None:
            self._go_to_match(index)

    def _go_to_match(self, index: int) -> None:
        self._search.index = index
        self.reveal(self._search.matches[index])
        self._strips.clear()
        self.refresh()

    # ------------------------------------------------------------------ actions

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        self._move_rows(-self._page_rows())

    def action_page_down(self) -> None:
        self._move_rows(self._page_rows())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._lines) - 1)

    def action_activate(self) -> None:
        """Enter: pivot on an id; otherwise the same as :meth:`action_toggle_node`."""
        node = self.cursor_node
        if node is None:
            return
        kind = self._lines[self._cursor][1]
        field = pivot_field(node.value) if kind == LEAF else None
        if field is not None:
            value: str = node.value
            object_type = None
            if field == "object_id":
                prefix = id_prefix(value) or ""
                object_type = self._object_types.get(value) or OBJECT_ID_TYPE.get(prefix)
            self._post_to_view(
                JsonView.PivotRequested(
                    field, value, object_type=object_type, path=jq_path(node.path)
                )
            )
            return
        self.action_toggle_node()

    def action_toggle_node(self) -> None:
        """Fold/unfold a container, expand/collapse a long string, show more items."""
        node = self.cursor_node
        if node is None:
            return
        kind = self._lines[self._cursor][1]
        if kind == MORE:
            self.show_more(node)
        elif kind == CLOSE:
            self.set_expanded(node, False)
        elif kind == OPEN:
            self.set_expanded(node, not node.expanded)
        elif self._foldable_text(node):
            node.text_open = not node.text_open
            self._rebuild(keep=node)

    def action_unfold(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        kind = self._lines[self._cursor][1]
        if kind == OPEN and not node.expanded:
            self.set_expanded(node, True)
        elif kind == OPEN:
            self.move_cursor(self._cursor + 1)
        elif kind == MORE:
            self.show_more(node)
        elif kind == LEAF and self._foldable_text(node) and not node.text_open:
            node.text_open = True
            self._rebuild(keep=node)

    def action_fold(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        kind = self._lines[self._cursor][1]
        if kind in (OPEN, CLOSE) and node.expanded and node.parent is not None:
            self.set_expanded(node, False)
        elif kind == LEAF and node.text_open:
            node.text_open = False
            self._rebuild(keep=node)
        else:
            parent = node if kind == MORE else node.parent
            if parent is not None and id(parent) in self._line_of:
                self.move_cursor(self._line_of[id(parent)])

    def action_fold_all(self) -> None:
        self.fold_all()

    def action_unfold_all(self) -> None:
        self.unfold_all()

    def action_search(self) -> None:
        view = self._view
        if view is not None:
            view.open_search()

    def on_key(self, event: events.Key) -> None:
        """Keys typed quickly after ``/`` reach the body before the focus has moved to the
        search field (each widget has its own queue, and a binding runs only after the key
        has bubbled up to the app). So: the search key opens the search here, at once;
        keys that arrive here while the search is open go on to the search field."""
        view = self._view
        if view is None:
            return
        if view.search_open:
            event.stop()
            event.prevent_default()
            view.search_field.post_message(events.Key(event.key, event.character))
            return
        bound = self.screen.active_bindings.get(event.key)
        if bound is not None and bound.binding.id == "json.search":
            event.stop()
            event.prevent_default()
            view.open_search()

    def action_next_match(self) -> None:
        self.next_match()

    def action_previous_match(self) -> None:
        self.previous_match()

    def action_clear_search(self) -> None:
        """Esc: forget the search first; with no search, let Esc mean what it means outside."""
        if not self._search.query:
            raise SkipAction()
        self.clear_search()

    def action_copy_value(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        self.app.copy_to_clipboard(copy_text(node.value))
        self.app.notify(f"Copied the value of {jq_path(node.path)}", timeout=2, markup=False)

    def action_copy_path(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        path = jq_path(node.path)
        self.app.copy_to_clipboard(path)
        self.app.notify(f"Copied {path}", timeout=2, markup=False)

    @property
    def _view(self) -> JsonView | None:
        parent = self.parent
        return parent if isinstance(parent, JsonView) else None

    def _post_to_view(self, message: Message) -> None:
        (self._view or self).post_message(message)

    # ------------------------------------------------------------------ events

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        self._ensure_built()
        row = int(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self._rows):
            event.stop()
            line = self._rows[row][0]
            if line == self._cursor:
                self.action_toggle_node()  # a second click acts (never pivots: that is Enter's)
            else:
                self.move_cursor(line)

    def on_resize(self, event: events.Resize) -> None:
        if self._content_width() != self._built_width and self._lines:
            self._rebuild(keep=self._lines[self._cursor][0])

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()

    # ------------------------------------------------------------------ building

    def _invalidate(self) -> None:
        self._built_width = -1
        self._lines = []
        self._rows = []
        self._strips.clear()
        self._generation += 1
        if self.is_mounted:
            self._ensure_built()
        self.refresh()

    def _content_width(self) -> int:
        """The width rows are wrapped to. A hidden view (an inactive tab) has none yet:
        lay out for a typical pane so cursor and search work, re-wrap when shown."""
        return self.scrollable_content_region.width or FALLBACK_WIDTH

    def _ensure_built(self) -> None:
        width = self._content_width()
        if self._built_width == width and (self._lines or self._root is None):
            return
        self._build(width)

    def _rebuild(self, keep: Node | None) -> None:
        """Flatten again after a fold change, keeping the cursor on ``keep`` (or the nearest
        shown ancestor of it)."""
        self._build(self._content_width())
        node = keep
        while node is not None and id(node) not in self._line_of:
            node = node.parent
        if node is not None:
            self._cursor = self._line_of[id(node)]
        self._cursor = max(0, min(self._cursor, len(self._lines) - 1))
        self._scroll_cursor_into_view()

    def _build(self, width: int) -> None:
        self._built_width = width
        self._generation += 1
        self._strips.clear()
        lines: list[tuple[Node, int]] = []
        first_rows: list[int] = []
        rows: list[tuple[int, str, tuple[Piece, ...]]] = []
        line_of: dict[int, int] = {}
        self._lines, self._line_first_row, self._rows, self._line_of = (
            lines, first_rows, rows, line_of
        )
        root = self._root
        if root is not None:
            stack: list[tuple[int, Node]] = [(-1, root)]  # -1: visit
            budget = self._expand_budget
            while stack:
                kind, node = stack.pop()
                if kind == -1:
                    if not node.is_container:
                        self._add_line(node, LEAF, width)
                        continue
                    if node.expanded is None:
                        node.expanded = self._default_expand and len(lines) < budget
                    self._add_line(node, OPEN, width)
                    if node.expanded:
                        children = node.child_nodes()
                        stack.append((CLOSE, node))
                        if len(node.value) > len(children):
                            stack.append((MORE, node))
                        stack.extend((-1, child) for child in reversed(children))
                else:
                    self._add_line(node, kind, width)
        self._cursor = max(0, min(self._cursor, len(lines) - 1))
        self.virtual_size = Size(0, 1 + len(rows))
        self.refresh()

    def _add_line(self, node: Node, kind: int, width: int) -> None:
        line = len(self._lines)
        self._lines.append((node, kind))
        self._line_first_row.append(len(self._rows))
        if kind in (OPEN, LEAF):
            self._line_of[id(node)] = line
        depth = node.depth + (1 if kind == MORE else 0)
        indent = self._indent(depth, width)
        indent_cells = cell_len(indent)
        pieces = self._pieces(node, kind, width - indent_cells)
        first = max(1, width - indent_cells)
        rest_indent = indent + "    "
        rest = max(10, width - indent_cells - 4)
        for number, row in enumerate(_wrap(pieces, first, rest)):
            self._rows.append((line, indent if number == 0 else rest_indent, tuple(row)))

    @staticmethod
    def _indent(depth: int, width: int) -> str:
        """Two cells per level; past half the width, the depth as a number instead."""
        cells = depth * INDENT
        limit = max(8, width // 2)
        if cells <= limit:
            return " " * cells
        return f"{depth}›".rjust(limit)

    def _pieces(self, node: Node, kind: int, room: int) -> list[Piece]:
        value = node.value
        comma = [] if node.is_last or node.parent is None else [(",", "punct")]
        if kind == CLOSE:
            return [("  ", "gutter"), ("}" if isinstance(value, dict) else "]", "punct"), *comma]
        if kind == MORE:
            hidden = len(value) - min(node.shown, len(value))
            noun = "keys" if isinstance(value, dict) else "items"
            step = min(MAX_ITEMS, hidden)
            return [("  ", "gutter"),
                    (f"… {hidden:,} more {noun} (Enter: show {step:,} more)", "note")]
        pieces: list[Piece] = []
        if kind == OPEN:
            pieces.append(("▾ " if node.expanded else "▸ ", "gutter"))
        else:
            pieces.append(("  ", "gutter"))
        if isinstance(node.key, str):
            key = node.key
            cut = len(key) > MAX_KEY_CHARS
            shown = visible(key[:MAX_KEY_CHARS]) + ("…" if cut else "")
            pieces.append((json.dumps(shown, ensure_ascii=False), "key"))
            pieces.append((": ", "punct"))
        if kind == OPEN:
            size = len(value)
            if isinstance(value, dict):
                opener, closer, noun = "{", "}", "key" if size == 1 else "keys"
            else:
                opener, closer, noun = "[", "]", "item" if size == 1 else "items"
            if node.expanded:
                pieces.append((opener, "punct"))
            else:
                pieces.append((f"{opener}…{closer}", "punct"))
                pieces.extend(comma)
                pieces.append((f"  {size:,} {noun}", "note"))
            return pieces
        pieces.extend(self._value_pieces(node, room))
        pieces.extend(comma)
        return pieces

    def _value_pieces(self, node: Node, room: int) -> list[Piece]:
        value = node.value
        if isinstance(value, str):
            role = "pivot" if pivot_field(value) else "string"
            if node.text_open:
                out: list[Piece] = []
                for number, part in enumerate(value.split("\n")):
                    if number:
                        out.append(("", _BREAK))
                    out.append((visible(part), role))
                out.append(("  (space: collapse)", "note"))
                return out
            limit = self._collapsed_chars(room)
            if len(value) <= limit:
                return [(json.dumps(visible(value), ensure_ascii=False), role)]
            shown = json.dumps(visible(value[:limit]), ensure_ascii=False)[:-1] + "…"
            return [(shown, role), (f" +{len(value) - limit:,} chars (space: expand)", "note")]
        if isinstance(value, dict):
            return [("{}", "punct")]
        if isinstance(value, list):
            return [("[]", "punct")]
        if value is None or isinstance(value, bool):
            return [(json.dumps(value), "literal")]
        if jsonnum.is_number(value):
            text = scalar_text(value)
            if node.text_open:
                return [(text, "number"), ("  (space: collapse)", "note")]
            limit = self._collapsed_chars(room)
            if len(text) <= limit:
                return [(text, "number")]
            # A number thousands of digits long folds like a long string.
            return [(text[:limit] + "…", "number"),
                    (f" +{len(text) - limit:,} characters (space: expand)", "note")]
        return [(visible(repr(value)), "note")]  # not JSON: shown, never trusted

    @staticmethod
    def _collapsed_chars(room: int) -> int:
        return max(40, STRING_ROWS * max(20, room) - 40)

    def _foldable_text(self, node: Node) -> bool:
        """A long string, or a number too long for its rows: space folds and unfolds it."""
        value = node.value
        if jsonnum.is_number(value):
            value = scalar_text(value)
        elif not isinstance(value, str):
            return False
        width = self._built_width - cell_len(self._indent(node.depth, self._built_width))
        return node.text_open or "\n" in value or len(value) > self._collapsed_chars(width)

    # ------------------------------------------------------------------ rendering

    def render_line(self, y: int) -> Strip:
        self._ensure_built()
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header_strip(width)
        row = int(self.scroll_y) + y - 1
        if not 0 <= row < len(self._rows):
            if row == 0 and self._root is None:
                return Strip([Segment(" (nothing to show)".ljust(width), self._style("note"))])
            return Strip.blank(width, self._style("base"))
        line = self._rows[row][0]
        cursor = line == self._cursor
        node = self._lines[line][0]
        match = 0
        search = self._search
        if search.match_set and self._lines[line][1] in (OPEN, LEAF):
            path = node.path
            if path in search.match_set:
                match = 2 if path == search.current else 1
        key = (row, width, cursor, match, self._generation)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._row_strip(row, width, cursor, match)
            self._strips[key] = strip
        return strip

    def _row_strip(self, row: int, width: int, cursor: bool, match: int) -> Strip:
        _, indent, pieces = self._rows[row]
        base = self._style("cursor") if cursor else self._style("base")
        segments = [Segment(indent, base)]
        highlight = self._style("match-current" if match == 2 else "match")
        pattern = self._search.pattern if match else None
        for text, role in pieces:
            style = self._style(role, cursor)
            if pattern is not None and role in ("key", "string", "pivot", "number", "literal"):
                segments.extend(_highlighted(text, pattern, style, style + highlight))
            else:
                segments.append(Segment(text, style))
        return Strip(segments).crop_extend(0, width, base)

    def _header_strip(self, width: int) -> Strip:
        key = ("header", width, self._cursor, self._generation, self.match_status)
        strip = self._strips.get(key)
        if strip is None:
            style = self._style("header")
            status = self.match_status
            if status:
                status = f"/{visible(self._search.query[:20])}  {status} "
            path = visible(self.cursor_jq_path) if self._lines else ""
            room = max(0, width - cell_len(status) - 2)
            if cell_len(path) > room:
                path = "…" + path[-max(0, room - 1):] if room > 1 else ""
            text = " " + path
            gap = max(1, width - cell_len(text) - cell_len(status))
            strip = Strip([Segment(text + " " * gap + status, style)]).crop_extend(0, width, style)
            self._strips[key] = strip
        return strip

    def _style(self, role: str, cursor: bool = False) -> Style:
        name = f"{role}:{cursor}"
        style = self._styles.get(name)
        if style is None:
            if role == "base":
                style = self.rich_style
            elif role in ("cursor", "header"):
                style = self.rich_style + self.get_component_rich_style(f"json-view--{role}")
            elif role in ("match", "match-current"):
                style = self.get_component_rich_style(f"json-view--{role}", partial=True)
            else:
                style = self.rich_style + self.get_component_rich_style(
                    f"json-view--{role}", partial=True
                )
                if cursor:
                    cursor_style = self.get_component_rich_style("json-view--cursor")
                    style = style + Style(bgcolor=cursor_style.bgcolor)
            self._styles[name] = style
        return style

    # ------------------------------------------------------------------ scrolling

    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _move_rows(self, delta: int) -> None:
        """Page moves: by rows on screen, landing on the line at that row."""
        self._ensure_built()
        if not self._rows:
            return
        row = self._line_first_row[self._cursor] + delta
        row = max(0, min(row, len(self._rows) - 1))
        self.scroll_to(y=max(0, self.scroll_y + delta), animate=False, immediate=True)
        self.move_cursor(self._rows[row][0])

    def _scroll_cursor_into_view(self) -> None:
        if not self._lines:
            return
        first = self._line_first_row[self._cursor]
        following = self._cursor + 1
        last = (self._line_first_row[following] if following < len(self._lines)
                else len(self._rows)) - 1
        top = int(self.scroll_y)
        height = max(1, self.scrollable_content_region.height - 1)
        if first < top:
            self.scroll_to(y=first, animate=False, immediate=True)
        elif last >= top + height:
            self.scroll_to(y=max(first if last - first >= height else last - height + 1, 0),
                           animate=False, immediate=True)


def _highlighted(
    text: str, pattern: re.Pattern[str], style: Style, match_style: Style
) -> Iterator[Segment]:
    position = 0
    for found in pattern.finditer(text):
        if found.start() == found.end():
            continue
        if found.start() > position:
            yield Segment(text[position : found.start()], style)
        yield Segment(found.group(), match_style)
        position = found.end()
    if position < len(text):
        yield Segment(text[position:], style)


class JsonSearch(Input):
    """The search field under the JSON; Enter keeps the search, Esc closes it too."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("json_search")

    def action_close(self) -> None:
        view = self.parent
        if isinstance(view, JsonView):
            view.close_search()


class JsonView(Vertical):
    """The JSON of one event, navigable: the body (:class:`JsonLines`) and a search field
    that appears with ``/``."""

    DEFAULT_CSS = """
    JsonView { height: 1fr; }
    JsonView > JsonSearch { display: none; height: 1; border: none; padding: 0 1; }
    JsonView > JsonSearch.-open { display: block; }
    """

    class PivotRequested(Message):
        """Enter on an id: show the events of ``value`` through filter ``field``.

        ``field`` is ``lead_id``, ``user_id``, ``request_id`` or ``object_id``;
        ``object_type`` is set for an object id whose type is known (from the event, or
        exactly implied by the prefix: ``cont_`` → contact); ``path`` is the jq path of
        the value in the JSON.
        """

        def __init__(
            self, field: str, value: str, *, object_type: str | None = None, path: str = ""
        ) -> None:
            super().__init__()
            self.field = field
            self.value = value
            self.object_type = object_type
            self.path = path

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines_widget = JsonLines(id="json-lines")
        self._search_field = JsonSearch(placeholder="search keys and values", id="json-search")
        self._search_origin: tuple[Path, bool] | None = None  # the cursor when "/" opened

    def compose(self) -> ComposeResult:
        yield self._lines_widget
        yield self._search_field

    @property
    def lines(self) -> JsonLines:
        return self._lines_widget

    @property
    def search_field(self) -> JsonSearch:
        return self._search_field

    def load(self, value: Any, *, object_types: Mapping[str, str] | None = None) -> None:
        self.close_search(focus=False)
        self._search_field.value = ""
        self._lines_widget.load(value, object_types=object_types)

    def focus(self, scroll_visible: bool = True) -> JsonView:
        """Focus the body (or the search field while it is open), at once."""
        self._set_focus(self._search_field if self.search_open else self._lines_widget)
        return self

    @property
    def search_open(self) -> bool:
        return self._search_field.has_class("-open")

    def open_search(self) -> None:
        field = self._search_field
        self._search_origin = self._lines_widget.cursor_position
        field.add_class("-open")
        field.value = self._lines_widget.search_query
        field.cursor_position = len(field.value)
        # Now, not after the keys already queued (Widget.focus() is deferred): see
        # JsonLines.on_key for the keys that were on their way to the body meanwhile.
        self._set_focus(field)

    def close_search(self, *, focus: bool = True) -> None:
        self._search_field.remove_class("-open")
        if focus:
            self._set_focus(self._lines_widget)

    def _set_focus(self, widget: Widget) -> None:
        if self.is_attached:
            self.screen.set_focus(widget)
        else:
            widget.focus()

    @on(Input.Changed, "#json-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.value != self._lines_widget.search_query:
            self._lines_widget.search(event.value, self._search_origin)

    @on(Input.Submitted, "#json-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value != self._lines_widget.search_query:
            self._lines_widget.search(event.value, self._search_origin)
        self.close_search()
