"""Make untrusted text safe to put on a terminal.

Anyone who can write a note in Close can put text on another person's screen through
close-tui. Markup is handled by never parsing API text as markup (widgets get
``rich.text.Text``/``Content``, never markup strings); this module handles the other
half: control characters. ESC, BEL, BS, CR, C1 controls and the bidi overrides are
replaced by visible stand-ins, so an escape sequence in event data is *shown*, never
*executed*, and a right-to-left override cannot reorder the rest of a line.

The other thing that must never reach a terminal (or a log, or a file) is the credential:
:class:`Scrubber` removes the API key, the base64 of its Basic header and a Bearer token,
whole or in part, before any message is clipped or formatted.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
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


# ---------------------------------------------------------------------------- secrets

#: A run of this many characters of a secret counts as a leak of it. Shorter runs are
#: allowed: ``mask_key`` itself shows the public ``api_`` prefix and the last four.
PARTIAL_LEAK: Final = 8
#: What a scrubbed secret becomes.
MASK: Final = "***"


def credential_forms(api_key: str | None = None, token: str | None = None) -> tuple[str, ...]:
    """Every form in which the credential travels: the key itself, the base64 of ``key:``
    that the Basic header carries (with and without its ``=`` padding), and a Bearer
    token. Each is a secret in its own right: the base64 decodes to the key."""
    forms: list[str] = []
    if api_key:
        basic = base64.b64encode(f"{api_key}:".encode()).decode("ascii")
        forms += [api_key, basic, basic.rstrip("=")]
    if token:
        forms.append(token)
    return tuple(dict.fromkeys(f for f in forms if f))


class Scrubber:
    """Removes secrets from text *before* anything clips, pads or formats it.

    Two passes. Every whole occurrence of each secret becomes ``***``. Then every run of
    :data:`PARTIAL_LEAK` or more characters that is part of a secret (a server that echoed
    a truncated header, a proxy that cut the key in half) is masked too: a window of that
    length is looked up among the secret's own windows, so the cost is one slice and one
    set look-up per character. Scrub first, clip after (:meth:`line`): clipping first is
    what let a key straddling the cut leak 44 of its 49 characters.
    """

    __slots__ = ("_bytes", "_grams", "_secrets")

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets: tuple[str, ...] = tuple(
            sorted({s for s in secrets if s}, key=len, reverse=True)
        )
        self._bytes = tuple(s.encode("utf-8") for s in self._secrets)
        self._grams: frozenset[str] = frozenset(
            s[i : i + PARTIAL_LEAK]
            for s in self._secrets
            for i in range(len(s) - PARTIAL_LEAK + 1)
        )

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __repr__(self) -> str:
        return f"Scrubber({len(self._secrets)} secrets)"

    def scrub(self, text: str) -> str:
        """``text`` without any secret, whole or in part (runs of ``PARTIAL_LEAK``+)."""
        if not self._secrets:
            return text
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        grams = self._grams
        if not grams or len(text) < PARTIAL_LEAK:
            return text
        spans: list[list[int]] = []
        for i in range(len(text) - PARTIAL_LEAK + 1):
            if text[i : i + PARTIAL_LEAK] in grams:
                end = i + PARTIAL_LEAK
                if spans and i <= spans[-1][1]:
                    spans[-1][1] = end
                else:
                    spans.append([i, end])
        if not spans:
            return text
        out: list[str] = []
        at = 0
        for start, end in spans:
            out += [text[at:start], MASK]
            at = end
        out.append(text[at:])
        return "".join(out)

    def scrub_bytes(self, body: bytes) -> bytes:
        """A response body with every whole secret replaced (a server echoing the
        ``Authorization`` header). Cheap on any size: one ``in`` per secret."""
        for secret in self._bytes:
            if secret in body:
                body = body.replace(secret, MASK.encode())
        return body

    def line(self, text: str, limit: int) -> str:
        """One line for a message: scrubbed, control characters made visible, then clipped
        to ``limit`` characters (with ``…``), in that order."""
        text = text if not self._secrets else self._scrub_long(text, limit)
        return clip(visible(text), limit)

    def _scrub_long(self, text: str, limit: int) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        # Anything past ``limit`` characters is clipped off below (visible() never
        # shortens), so the partial scan need not read a 60 MB error body whole. The cut
        # is a run of PARTIAL_LEAK past the limit, so a partial secret crossing the limit
        # is still long enough here to be recognised.
        cut = limit + PARTIAL_LEAK
        if len(text) <= cut:
            return self.scrub(text)
        return self.scrub(text[:cut]) + "…"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when cut."""
    if limit <= 0:
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
