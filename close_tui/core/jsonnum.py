"""JSON in and out without losing numbers.

Python reads a JSON number into an ``int`` or a ``float``. Two kinds of valid JSON numbers
do not survive that: a literal whose magnitude is beyond a double (``1e400`` becomes
``inf``, ``1e-400`` becomes ``0.0``), and an integer over 4,300 digits (Python refuses to
read it at all, a guard against slow parsing). ``json.dumps`` then writes ``inf`` as
``Infinity``, which is not JSON: an export or a copied event would be unreadable by the next
tool, and the value would be gone.

:func:`loads` reads such a literal as a :class:`~decimal.Decimal` holding it exactly;
:func:`dumps` writes a ``Decimal`` back as a JSON number (``1E+400``: the same number,
valid JSON). Everything else is read and written exactly as the ``json`` module does,
including the non-standard constants ``NaN``/``Infinity`` a server may send (read as
floats, written back as they came; we never turn JSON input into non-JSON output).

The cost is one Python call per float literal in a document (see ``bench/table.py``:
page decode); integers already went through one for the 4,300-digit guard.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import sys
from decimal import Decimal
from typing import Any

__all__ = ["Decimal", "dumps", "is_number", "loads", "number_text"]

_MAX_INT_DIGITS = 4300  # CPython's default int-from-str limit (sys.int_info)
_NONZERO_DIGIT = re.compile(r"[1-9]")


def _parse_float(literal: str) -> float | Decimal:
    value = float(literal)
    if math.isinf(value):
        return Decimal(literal)
    if value == 0.0 and _NONZERO_DIGIT.search(literal.partition("e")[0].partition("E")[0]):
        return Decimal(literal)  # underflow: 1e-400 is not zero
    if value != 0.0 and abs(value) < sys.float_info.min:
        # A subnormal keeps only a few bits: 3e-324 reads as 5e-324, another number.
        return Decimal(literal)
    return value


def _parse_int(literal: str) -> int | Decimal:
    return int(literal) if len(literal.lstrip("-")) <= _MAX_INT_DIGITS else Decimal(literal)


def loads(data: str | bytes | bytearray) -> Any:
    """``json.loads``, keeping numbers a float or an int cannot hold as ``Decimal``."""
    return json.loads(data, parse_float=_parse_float, parse_int=_parse_int)


def number_text(value: Decimal) -> str:
    """A finite ``Decimal`` as a JSON number literal (``str`` gives ``1E+400``: valid)."""
    if not value.is_finite():  # only a caller-made Decimal; loads never makes one
        raise ValueError(f"{value} is not a JSON number")
    return str(value)


def is_number(value: Any) -> bool:
    """True for JSON numbers as :func:`loads` returns them (not booleans)."""
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that writes a ``Decimal`` as its exact JSON number.

    The encoder cannot emit a raw literal, so each ``Decimal`` is written as a placeholder
    string carrying a random per-call nonce, then replaced; text in the data cannot forge
    a placeholder it cannot guess. A ``default`` passed in still handles other types.
    """
    found: list[str] = []
    nonce = ""
    user_default = kwargs.pop("default", None)

    def default(obj: Any) -> Any:
        nonlocal nonce
        if isinstance(obj, Decimal):
            if not nonce:
                nonce = secrets.token_hex(8)
            found.append(number_text(obj))
            return f"jsonnum-{nonce}-{len(found) - 1}"
        if user_default is not None:
            return user_default(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    text = json.dumps(value, default=default, **kwargs)
    if not found:
        return text
    return re.sub(f'"jsonnum-{nonce}-([0-9]+)"', lambda m: found[int(m.group(1))], text)
