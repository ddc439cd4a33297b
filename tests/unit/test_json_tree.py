"""The JSON view's Textual-free tree: jq paths, pivot ids, copy text, document order and
the search that steps from wherever the cursor is."""

from __future__ import annotations

import re

from close_tui.core.json_tree import (
    TreeSearch,
    copy_text,
    document_order,
    find_matches,
    jq_path,
    pivot_field,
)


def test_jq_paths() -> None:
    assert jq_path(()) == "."
    assert jq_path(("data", "status_label")) == ".data.status_label"
    assert jq_path(("data", "items", 3)) == ".data.items[3]"
    assert jq_path(("weird key",)) == '.["weird key"]'
    assert jq_path(("data", "custom.cf_x")) == '.data["custom.cf_x"]'
    assert jq_path(("data", 'q"uote')) == '.data["q\\"uote"]'


def test_pivot_fields_by_prefix() -> None:
    assert pivot_field("lead_abc") == "lead_id"
    assert pivot_field("user_abc") == "user_id"
    assert pivot_field("req_abc") == "request_id"
    for value in ("acti_a", "cont_a", "oppo_a", "task_a"):
        assert pivot_field(value) == "object_id"
    not_ids: tuple[object, ...] = ("ev_abc", "orga_abc", "lead_", "hello", 3, None, "stat_x")
    for other in not_ids:
        assert pivot_field(other) is None


def test_copy_text() -> None:
    assert copy_text("raw \x1b text") == "raw \x1b text"
    assert copy_text(None) == "null"
    assert copy_text({"a": [1]}) == '{\n  "a": [\n    1\n  ]\n}'


def test_document_order_of_paths() -> None:
    doc = {"z": {"k": [0, {"y": 1, "x": 2}]}, "a": 3}
    order = document_order
    assert order(doc, ("a",), ("z",), False) == 1  # insertion order, not alphabetical
    assert order(doc, ("z", "k", 1, "x"), ("z", "k", 1, "y"), False) == 1
    assert order(doc, ("z", "k", 0), ("z", "k", 1, "x"), False) == -1
    assert order(doc, ("z", "k"), ("z", "k"), False) == 0
    assert order(doc, ("z", "k"), ("z", "k"), True) == -1  # above its closing line
    assert order(doc, ("z", "k", 1), ("z", "k"), False) == 1  # inside: after its first line
    assert order(doc, ("z", "k", 1), ("z", "k"), True) == -1  # but before its closing line
    assert order(doc, ("z",), ("z", "k", 0), False) == -1  # an ancestor is above




def test_search_steps_from_the_cursor_and_wraps() -> None:
    doc = {"a": "hit", "b": {"c": "HIT", "d": 1}, "e": ["x", "hit"]}
    search = TreeSearch()
    assert search.run(doc, "hit") == 3 and search.status == "0/3"
    assert search.matches == [("a",), ("b", "c"), ("e", 1)]
    assert search.step(doc, ("b",), False, forward=True) == 1  # after b's line: b.c
    assert search.status == "2/3"
    assert search.step(doc, ("b",), True, forward=True) == 2  # after b's closing line
    assert search.step(doc, ("e", 1), False, forward=True) == 0  # wraps to the top
    assert search.step(doc, ("a",), False, forward=False) == 2  # and backwards
    assert search.current == ("e", 1)
    assert search.run(doc, "nothing") == 0 and search.status == "no match"
    assert search.step(doc, (), False, forward=True) is None
    search.clear()
    assert search.status == "" and search.pattern is None


def test_search_is_literal_and_capped() -> None:
    doc = {"k": ["a.b", "axb"] * 10}
    assert TreeSearch().run(doc, "a.b") == 10  # "." is not a wildcard
    search = TreeSearch()
    assert search.run(doc, "a", limit=5) == 5 and search.truncated
    assert search.status.endswith("/5+")
    assert find_matches(doc, re.compile("x"), 100) == [("k", i) for i in range(1, 20, 2)]
