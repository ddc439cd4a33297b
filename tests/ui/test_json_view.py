"""The JSON view, driven by keys: folding, search, copy, pivots, hostile text, big data."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from textual.app import App, ComposeResult

from close_tui.core.json_tree import MAX_ITEMS
from close_tui.ui.widgets.json_view import JsonLines, JsonView

DOC: dict[str, Any] = {
    "id": "ev_1",
    "object_type": "opportunity",
    "object_id": "oppo_abc",
    "lead_id": "lead_xyz",
    "data": {
        "status_label": "Won",
        "contact_id": "cont_123",
        "items": ["a", "b", "c", "status"],
        "custom.cf_region": "EMEA",
        "nested": {"deeper": {"status": 1}},
    },
}


class Host(App[None]):
    def __init__(self, value: Any, object_types: dict[str, str] | None = None) -> None:
        super().__init__()
        self.value = value
        self.object_types = object_types
        self.pivots: list[JsonView.PivotRequested] = []

    def compose(self) -> ComposeResult:
        yield JsonView(id="json")

    def on_mount(self) -> None:
        view = self.query_one(JsonView)
        view.load(self.value, object_types=self.object_types)
        view.focus()

    def on_json_view_pivot_requested(self, message: JsonView.PivotRequested) -> None:
        self.pivots.append(message)

    @property
    def lines(self) -> JsonLines:
        return self.query_one(JsonView).lines


def cursor_at(lines: JsonLines) -> tuple[str | int, ...]:
    """The cursor's path (a call, so mypy does not narrow it across key presses)."""
    return lines.cursor_path


def go_to(lines: JsonLines, path: tuple[str | int, ...]) -> None:
    assert lines.reveal(path)
    assert cursor_at(lines) == path


# ----------------------------------------------------------------------- folding


async def test_fold_and_unfold_with_keys() -> None:
    app = Host(DOC)
    async with app.run_test(size=(80, 30)) as pilot:
        lines = app.lines
        text = lines.text()
        assert '"status_label": "Won"' in text and '"deeper"' in text
        go_to(lines, ("data",))
        before = lines.line_count
        await pilot.press("enter")  # fold
        assert lines.line_count < before
        assert "{…}" in lines.text() and "5 keys" in lines.text()
        assert '"status_label"' not in lines.text()
        await pilot.press("space")  # unfold
        assert lines.line_count == before
        await pilot.press("left")  # fold
        assert lines.line_count < before
        await pilot.press("right")  # unfold
        assert lines.line_count == before
        await pilot.press("right")  # into the first child
        assert cursor_at(lines) == ("data", "status_label")
        await pilot.press("left")  # to the parent
        assert cursor_at(lines) == ("data",)


async def test_fold_all_and_unfold_all() -> None:
    app = Host(DOC)
    async with app.run_test(size=(80, 30)) as pilot:
        lines = app.lines
        full = lines.line_count
        await pilot.press("z")
        # The root and its five keys, the closing brace.
        assert lines.line_count == 1 + len(DOC) + 1
        await pilot.press("Z")
        assert lines.line_count == full


async def test_cursor_moves_and_header_shows_the_path() -> None:
    app = Host(DOC)
    async with app.run_test(size=(80, 30)) as pilot:
        lines = app.lines
        assert cursor_at(lines) == ()
        await pilot.press("down", "down")
        assert cursor_at(lines) == ("object_type",)
        await pilot.press("G")
        assert lines.cursor_index == lines.line_count - 1
        await pilot.press("g")
        assert lines.cursor_index == 0
        go_to(lines, ("data", "items", 2))
        await pilot.pause()
        header = "".join(s.text for s in lines.render_line(0))
        assert header.strip().startswith(".data.items[2]")


# ----------------------------------------------------------------------- search


async def test_search_counts_and_steps_through_matches() -> None:
    app = Host(DOC)
    async with app.run_test(size=(80, 30)) as pilot:
        lines = app.lines
        await pilot.press("slash")
        view = app.query_one(JsonView)
        assert view.search_field.has_focus
        await pilot.press(*"status")
        # Keys: status_label, status (nested key); values: "status" in items.
        assert lines.match_count == 3
        assert lines.match_status == "1/3"
        assert cursor_at(lines) == ("data", "status_label")
        await pilot.press("enter")
        assert lines.has_focus and lines.search_query == "status"
        await pilot.press("n")
        assert lines.match_status == "2/3" and cursor_at(lines) == ("data", "items", 3)
        await pilot.press("n")
        assert cursor_at(lines) == ("data", "nested", "deeper", "status")
        await pilot.press("n")
        assert lines.match_status == "1/3"
        await pilot.press("N")
        assert lines.match_status == "3/3"
        header = "".join(s.text for s in lines.render_line(0))
        assert "3/3" in header
        await pilot.press("escape")  # clears the search first
        assert lines.match_status == ""


async def test_search_starts_at_the_cursor_and_wraps() -> None:
    # Matches of "status", in document order: data.status_label (key), data.items[3]
    # (value), data.nested.deeper.status (key).
    app = Host(DOC)
    async with app.run_test(size=(80, 30)) as pilot:
        lines = app.lines
        go_to(lines, ("data", "contact_id"))  # past the first match
        await pilot.press("slash", *"stat")
        # Every keystroke searches from where "/" was pressed, not from the last hit.
        assert cursor_at(lines) == ("data", "items", 3) and lines.match_status == "2/3"
        await pilot.press(*"us", "enter")
        assert cursor_at(lines) == ("data", "items", 3) and lines.match_status == "2/3"
        go_to(lines, ("data", "custom.cf_region"))  # the user moves on, then n / N
        await pilot.press("n")
        assert cursor_at(lines) == ("data", "nested", "deeper", "status")
        await pilot.press("n")  # wraps to the top
        assert cursor_at(lines) == ("data", "status_label") and lines.match_status == "1/3"
        go_to(lines, ("data", "custom.cf_region"))
        await pilot.press("N")
        assert cursor_at(lines) == ("data", "items", 3)
        go_to(lines, ("id",))
        await pilot.press("N")  # wraps to the bottom
        assert lines.match_status == "3/3"


async def test_search_from_a_closing_line_skips_what_it_closes() -> None:
    value = {"a": {"hit": 1, "b": {"hit": 2}}, "c": {"hit": 3}}
    app = Host(value)
    async with app.run_test(size=(80, 30)) as pilot:
        lines = app.lines
        closing = [i for i in range(lines.line_count)
                   if lines.row_text(i).strip() == "}," and i > 3]  # "a"'s closing line
        lines.move_cursor(closing[-1])
        assert lines.cursor_position == (("a",), True)
        assert lines.search("hit") == 3
        assert cursor_at(lines) == ("c", "hit")
        lines.move_cursor(closing[-1])
        await pilot.press("N")
        assert cursor_at(lines) == ("a", "b", "hit")


async def test_search_finds_and_unfolds_hidden_matches() -> None:
    value = {"big": [*range(5000), "needle"], "folded": {"x": {"needle": 1}}}
    app = Host(value)
    async with app.run_test(size=(80, 30)) as pilot:
        lines = app.lines
        await pilot.press("z")
        assert lines.search("needle") == 2
        assert cursor_at(lines) == ("big", 5000)
        await pilot.press("n")
        assert cursor_at(lines) == ("folded", "x", "needle")
        assert lines.search("no such thing") == 0
        assert lines.match_status == "no match"


async def test_search_is_literal_and_case_insensitive() -> None:
    app = Host({"a": "Price (USD) [x]", "b": "price"})
    async with app.run_test(size=(80, 30)):
        assert app.lines.search("(usd) [") == 1
        assert app.lines.search("PRICE") == 2


# ----------------------------------------------------------------------- copy


async def test_copy_value_and_jq_path() -> None:
    app = Host(DOC)
    async with app.run_test(size=(80, 30)) as pilot:
        lines = app.lines
        go_to(lines, ("data", "status_label"))
        await pilot.press("c")
        assert app.clipboard == "Won"
        await pilot.press("p")
        assert app.clipboard == ".data.status_label"
        go_to(lines, ("data", "items", 3))
        await pilot.press("p")
        assert app.clipboard == ".data.items[3]"
        go_to(lines, ("data", "custom.cf_region"))
        await pilot.press("p")
        assert app.clipboard == '.data["custom.cf_region"]'
        go_to(lines, ("data", "nested"))
        await pilot.press("c")
        assert app.clipboard == '{\n  "deeper": {\n    "status": 1\n  }\n}'


# ----------------------------------------------------------------------- pivots


async def test_enter_on_an_id_asks_for_a_pivot() -> None:
    app = Host(DOC, object_types={"oppo_abc": "opportunity"})
    async with app.run_test(size=(80, 30)) as pilot:
        lines = app.lines
        go_to(lines, ("lead_id",))
        await pilot.press("enter")
        go_to(lines, ("object_id",))
        await pilot.press("enter")
        go_to(lines, ("data", "contact_id"))
        await pilot.press("enter")
        go_to(lines, ("data", "status_label"))  # not an id: nothing
        await pilot.press("enter")
        await pilot.pause()
        got = [(m.field, m.value, m.object_type, m.path) for m in app.pivots]
        assert got == [
            ("lead_id", "lead_xyz", None, ".lead_id"),
            ("object_id", "oppo_abc", "opportunity", ".object_id"),
            ("object_id", "cont_123", "contact", ".data.contact_id"),
        ]
        go_to(lines, ("id",))  # an event id is no filter
        await pilot.press("enter")
        await pilot.pause()
        assert len(app.pivots) == 3


# ----------------------------------------------------------------------- hostile text


async def test_hostile_keys_and_values_are_shown_literally() -> None:
    osc = "\x1b]52;c;ZXZpbA==\x07"
    value = {"[bold]x[/]": "[@click=app.quit]boom[/]", "osc": osc, osc: "\u202eevil"}
    app = Host(value)
    async with app.run_test(size=(100, 20)) as pilot:
        lines = app.lines
        text = lines.text()
        assert '"[bold]x[/]"' in text
        assert "[@click=app.quit]boom[/]" in text
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "␛]52;c;ZXZpbA==␇" in text
        assert "<U+202E>evil" in text
        # What reaches the terminal: no control characters in any drawn segment.
        drawn = "".join(
            seg.text for y in range(lines.size.height) for seg in lines.render_line(y)
        )
        assert "\x1b" not in drawn and "[@click=app.quit]boom[/]" in drawn
        go_to(lines, ("osc",))
        await pilot.press("c")
        assert app.clipboard == osc  # the real value, copied (OSC 52 base64-encodes it)
        assert app.is_running


# ----------------------------------------------------------------------- big data


async def test_deep_nesting_loads_and_unfolds() -> None:
    deep: Any = "bottom"
    for level in range(200):
        deep = {f"level{level}": deep}
    app = Host({"data": deep})
    async with app.run_test(size=(80, 30)) as pilot:
        lines = app.lines
        assert lines.line_count == 2 * 201 + 1  # opens, closes, one leaf
        assert "bottom" in lines.text()
        await pilot.press("G", "up")
        await pilot.press("z")
        assert lines.line_count == 3
        assert lines.search("bottom") == 1
        assert len(lines.cursor_path) == 201
        await pilot.press("p")
        assert app.clipboard.startswith(".data.level199.level198")


async def test_long_arrays_show_the_first_items_and_more_on_demand() -> None:
    app = Host({"items": list(range(10_000))})
    async with app.run_test(size=(80, 30)) as pilot:
        lines = app.lines
        root = lines.cursor_node
        assert root is not None
        # Only what is shown was made: the root, "items", and its first MAX_ITEMS.
        items = root.children[0] if root.children else None
        assert items is not None and items.children is not None
        assert len(items.children) == MAX_ITEMS
        assert "… 9,900 more items" in lines.text()
        await pilot.press("G")  # the closing brace; the "more" line is two lines up
        await pilot.press("up", "up")
        await pilot.press("enter")
        assert cursor_at(lines) == ("items", MAX_ITEMS)
        assert "… 9,800 more items" in lines.text()


async def test_numbers_too_long_for_their_rows_fold_like_strings() -> None:
    # jsonnum keeps a 5,000-digit integer exact; shown whole it would be ~70 rows.
    app = Host({"long": Decimal("9" * 5000), "short": Decimal("1e400"), "n": 12})
    async with app.run_test(size=(80, 30)) as pilot:
        lines = app.lines
        collapsed_rows = lines.row_count
        assert collapsed_rows < 10
        text = lines.text()
        assert " characters (space: expand)" in text and "1E+400" in text
        go_to(lines, ("long",))
        await pilot.press("space")
        assert "".join(lines.text().split()).count("9" * 5000) == 1  # every digit, wrapped
        assert lines.row_count > 50
        await pilot.press("left")  # fold
        assert lines.row_count == collapsed_rows
        go_to(lines, ("short",))
        await pilot.press("space")  # short numbers do not fold
        assert lines.row_count == collapsed_rows


async def test_long_strings_are_collapsed_and_expand_on_demand() -> None:
    note = "\n".join(f"line {i} " + "x" * 50 for i in range(1500))  # ~90 KB
    app = Host({"note": note})
    async with app.run_test(size=(80, 30)) as pilot:
        lines = app.lines
        collapsed_rows = lines.row_count
        assert collapsed_rows < 10
        assert " chars (space: expand)" in lines.text()
        go_to(lines, ("note",))
        await pilot.press("space")
        assert lines.row_count > 1500
        assert "line 1499" in lines.text()
        await pilot.press("enter")  # not an id: Enter toggles too
        assert lines.row_count == collapsed_rows
