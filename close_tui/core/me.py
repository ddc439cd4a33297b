"""Who a key belongs to: the one reading of a ``GET /me/`` answer.

The login screen, the app (the organization in the status bar) and ``close-tui auth``
all need the same three facts from ``/me/``: the person, their e-mail, and the
organization the key works in. One parser, so the three never disagree (they did: one
took the first organization listed, another the one ``organization_id`` names).

Every string here comes from the API (anyone in the organization can set a name), so
:meth:`Me.user_label` and :meth:`Me.organization_label` are made visible; the raw
``person``/``organization`` are for storing in the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from close_tui.core.sanitize import visible

UNKNOWN_USER = "(unknown user)"
UNKNOWN_ORGANIZATION = "(unknown organization)"


@dataclass(frozen=True, slots=True)
class Me:
    """The facts of one ``/me/`` answer; empty strings where the answer has none."""

    person: str = ""
    email: str = ""
    user_id: str = ""
    organization: str | None = None

    @property
    def user_label(self) -> str:
        """``Jane Doe <jane@acme.com>``, or whichever part is known, made visible."""
        if self.person and self.email:
            return visible(f"{self.person} <{self.email}>")
        return visible(self.person or self.email or self.user_id or UNKNOWN_USER)

    @property
    def organization_label(self) -> str:
        return visible(self.organization or UNKNOWN_ORGANIZATION)


def parse_me(body: Mapping[str, Any]) -> Me:
    """Read a ``/me/`` body, tolerant of missing or oddly typed fields.

    The organization is the one ``organization_id`` names (a key works in one
    organization; ``organizations`` lists all of the user's memberships), else the first
    listed.
    """
    parts = (str(body.get(part) or "").strip() for part in ("first_name", "last_name"))
    person = " ".join(p for p in parts if p)
    listed = body.get("organizations")
    orgs = [o for o in listed if isinstance(o, Mapping)] if isinstance(listed, list) else []
    wanted = body.get("organization_id")
    chosen = next((o for o in orgs if wanted and o.get("id") == wanted), orgs[0] if orgs else None)
    organization = None
    if chosen is not None:
        organization = str(chosen.get("name") or chosen.get("id") or "") or None
    return Me(
        person=person,
        email=str(body.get("email") or "").strip(),
        user_id=str(body.get("id") or ""),
        organization=organization,
    )
