"""Make untrusted text safe to put on a terminal.

Anyone who can write a note in Close can put text on another person's screen through
close-tui. Markup is handled by never parsing API text as markup (widgets get
``rich.text.Text``/``Content``, never markup strings); this module handles the other
half: control characters. ESC, BEL, BS, CR, C1 controls and the bidi overrides are
replaced by visible stand-ins, so an escape sequence in event data is *shown*, never
*executed*, and a right-to-left override cannot reorder the rest of a line.
"""

from __future__ import annotations

from typing import Final

# C0 controls -> the Unicode "control pictures" block (␀ … ␟), DEL -> ␡.
_TABLE: Final[dict[int, str]] = {code: chr(0x2400 + code) for code in range(0x20)}
_TABLE[0x7F] = "\u2421"
# C1 controls (0x80-0x9F) include CSI (0x9B) and OSC (0x9D) on some terminals.
for _code in range(0x80, 0xA0):
    _TABLE[_code] = f"<U+{_code:04X}>"
# Bidi embeddings, overrides and isolates, and zero-width characters: shown, not obeyed.
for _code in (
    0x200B, 0x200C, 0x200D, 0x200E, 0x200F,
    0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
    0x2066, 0x2067, 0x2068, 0x2069,
    0x2028, 0x2029, 0xFEFF,
):  # fmt: skip
    _TABLE[_code] = f"<U+{_code:04X}>"

_ONE_LINE: Final[dict[int, str]] = dict(_TABLE)

_MULTI_LINE: Final[dict[int, str]] = dict(_TABLE)
del _MULTI_LINE[0x0A]  # keep newlines where the text may span lines
_MULTI_LINE[0x09] = "    "


def visible(text: str) -> str:
    """``text`` on one line with every control character made visible (``\\n`` → ␊)."""
    return text.translate(_ONE_LINE)


def visible_multiline(text: str) -> str:
    """Like :func:`visible` but keeps newlines and expands tabs."""
    return text.translate(_MULTI_LINE)


def has_controls(text: str) -> bool:
    """Whether :func:`visible` would change ``text``."""
    return any(ord(ch) in _TABLE for ch in text)
