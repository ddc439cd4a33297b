"""core.jsonnum: valid JSON numbers survive reading and writing back, exactly.

Python's json turns ``1e400`` into ``inf`` and writes it back as ``Infinity`` (not JSON),
turns ``1e-400`` into ``0.0`` and refuses integers over 4,300 digits. Every export, the
CLI's ``event`` and the app's Copy JSON write through :func:`jsonnum.dumps`, so what the
API sent is what the next tool reads.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from close_tui.core import jsonnum
from close_tui.core.exporter import _Spool
from close_tui.core.models import Event


def strict_loads(text: str | bytes) -> Any:
    """RFC 8259 JSON only: ``NaN``/``Infinity`` are refused, numbers read exactly."""

    def refuse(name: str) -> Any:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse, parse_float=Decimal, parse_int=Decimal)


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("1e400", Decimal("1e400")),
        ("-1.5E+400", Decimal("-1.5e400")),
        ("1e-400", Decimal("1e-400")),
        ("3e-324", Decimal("3e-324")),  # float reads 5e-324: a subnormal is another number
        ("-2.5e-310", Decimal("-2.5e-310")),
        ("-2.50e-999", Decimal("-2.50e-999")),
        ("9" * 5000, Decimal("9" * 5000)),
        ("-" + "1" * 4301, Decimal("-" + "1" * 4301)),
    ],
)
def test_numbers_beyond_int_and_float_are_read_exactly(literal: str, expected: Decimal) -> None:
    value = jsonnum.loads(f'{{"n": {literal}}}')["n"]
    assert isinstance(value, Decimal) and value == expected
    written = jsonnum.dumps({"n": value})
    assert strict_loads(written)["n"] == expected  # valid JSON, same number


@pytest.mark.parametrize(
    ("literal", "expected"),
    [("0", 0), ("-0.0", -0.0), ("0e10", 0.0), ("1.5", 1.5), ("1e308", 1e308),
     ("1" * 4300, int("1" * 4300)), ("12345678901234567890", 12345678901234567890)],
)
def test_ordinary_numbers_stay_int_and_float(literal: str, expected: float) -> None:
    value = jsonnum.loads(literal)
    assert type(value) is type(expected) and value == expected
    assert jsonnum.dumps(value) == json.dumps(expected)


def test_non_standard_constants_are_read_and_written_back_as_they_came() -> None:
    # A Python server writes inf as Infinity: the page stays readable, and we write back
    # exactly what came (we never turn JSON into non-JSON, nor hide what the server sent).
    value = jsonnum.loads('[NaN, Infinity, -Infinity]')
    assert value[1] == float("inf") and value[2] == float("-inf") and value[0] != value[0]
    assert jsonnum.dumps(value) == "[NaN, Infinity, -Infinity]"


def test_dumps_keeps_json_dumps_options_and_a_callers_default() -> None:
    value = {"b": Decimal("1e400"), "a": [Decimal("1e-400"), {1, 2} and "x"]}
    assert jsonnum.dumps(value, sort_keys=True, separators=(",", ":")) == (
        '{"a":[1E-400,"x"],"b":1E+400}'
    )
    assert "\n  " in jsonnum.dumps(value, indent=2)
    assert jsonnum.dumps({"s": {3}}, default=sorted) == '{"s": [3]}'
    with pytest.raises(TypeError):
        jsonnum.dumps({"s": {3}})
    with pytest.raises(ValueError, match="not a JSON number"):
        jsonnum.dumps(Decimal("NaN"))


def test_text_that_looks_like_a_placeholder_is_left_alone() -> None:
    # The placeholder carries a nonce drawn per call: data cannot forge one.
    value = {"a": "jsonnum-0000000000000000-0", "b": Decimal("1e400")}
    assert strict_loads(jsonnum.dumps(value)) == {
        "a": "jsonnum-0000000000000000-0", "b": Decimal("1e400")}


_literals = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-99, 99), st.integers(-2000, 2000)),
    st.integers(4290, 4400).map(lambda n: "7" * n),
)
_documents = st.recursive(
    _literals | st.sampled_from(['"x"', "null", "true", '"jsonnum-"']),
    lambda inner: st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]")
    | st.dictionaries(st.text(max_size=5), inner, max_size=4).map(
        lambda d: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}"),
    max_leaves=12,
)


@given(_documents)
def test_any_json_document_round_trips_to_valid_json_with_the_same_numbers(text: str) -> None:
    once = jsonnum.loads(text)
    written = jsonnum.dumps(once, ensure_ascii=False)
    assert strict_loads(written) == strict_loads(text)
    assert jsonnum.dumps(jsonnum.loads(written)) == jsonnum.dumps(once)


def test_an_event_keeps_big_numbers_through_the_model_and_the_export_spool() -> None:
    raw = ('{"id": "ev_1", "date_created": "2026-11-20T10:00:00.000000", '
           '"date_updated": "2026-11-20T10:00:00.000000", "object_type": "lead", '
           '"object_id": "lead_1", "action": "updated", '
           '"data": {"huge": 1e400, "tiny": 1e-400, "long": ' + "9" * 5000 + "}}")
    event = Event.model_validate(jsonnum.loads(raw))
    assert strict_loads(jsonnum.dumps(event.to_api())) == strict_loads(raw)
    spool = _Spool()
    spool.append(("ev_1", event.date_updated, event), 100)
    spool.spill()  # through the temp file and back
    [(_, _, back)] = spool.take(5)
    assert isinstance(back, Event)
    assert strict_loads(jsonnum.dumps(back.to_api())) == strict_loads(raw)
