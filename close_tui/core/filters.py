"""Which filter combinations Close's event endpoint supports, and the filter itself.

The endpoint accepts only certain sets of filter parameters (``close-event-api.md`` §1).
Everything that builds a query — the form, the CLI, the client, the emulator — asks the
pure functions here instead of keeping its own idea of the rules, so the form can never
offer what the server would refuse and the emulator refuses exactly what we document.

A ``date_updated`` range is orthogonal: it may be added to any supported set (and
alone), so it is not part of the combination table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Final, Literal

from close_tui.core.dates import parse_api_datetime, to_api_datetime

FilterField = Literal["lead_id", "user_id", "object_type", "object_id", "action", "request_id"]

#: The filter fields, in the order the form and the CLI show them.
FILTER_FIELDS: Final[tuple[FilterField, ...]] = (
    "lead_id",
    "user_id",
    "object_type",
    "object_id",
    "action",
    "request_id",
)

#: The 15 combinations documented by Close, literally and in the docs' order.
DOCUMENTED_COMBINATIONS: Final[tuple[frozenset[str], ...]] = tuple(
    frozenset(c)
    for c in (
        ("object_type", "object_id"),
        ("object_type", "action"),
        ("object_id", "action"),
        ("lead_id", "object_type"),
        ("lead_id", "object_type", "action"),
        ("lead_id", "user_id", "object_type"),
        ("lead_id", "user_id", "object_type", "action"),
        ("lead_id", "user_id"),
        ("user_id", "object_id"),
        ("user_id", "object_id", "action"),
        ("user_id", "object_type"),
        ("user_id", "object_type", "action"),
        ("lead_id",),
        ("user_id",),
        ("request_id",),
    )
)

#: Every supported set of filter fields: no filter at all, plus the documented ones.
SUPPORTED_COMBINATIONS: Final[tuple[frozenset[str], ...]] = (
    frozenset(),
    *DOCUMENTED_COMBINATIONS,
)

#: The ``date_updated`` range operators, each allowed with any supported set.
DATE_OPERATORS: Final[tuple[str, ...]] = ("gt", "gte", "lt", "lte")


def _as_set(field_names: Iterable[str]) -> frozenset[str]:
    return frozenset(field_names)


def is_supported(field_names: Iterable[str]) -> bool:
    """Whether the endpoint accepts exactly this set of filter fields."""
    return _as_set(field_names) in SUPPORTED_COMBINATIONS


def can_add(field_names: Iterable[str], field: str) -> bool:
    """Whether ``field`` can join the partial set and still lead to a supported one."""
    wanted = _as_set(field_names) | {field}
    return any(wanted <= combo for combo in SUPPORTED_COMBINATIONS)


def completions(field_names: Iterable[str]) -> list[frozenset[str]]:
    """The smallest sets of fields to add to reach a supported combination.

    ``[frozenset()]`` when the set is already supported; ``[]`` when no addition helps
    (something must be removed instead). Sorted for stable messages.
    """
    current = _as_set(field_names)
    additions = [combo - current for combo in SUPPORTED_COMBINATIONS if current <= combo]
    if not additions:
        return []
    smallest = min(len(a) for a in additions)
    return sorted({a for a in additions if len(a) == smallest}, key=_sort_key)


def nearest_supported(field_names: Iterable[str], limit: int = 3) -> list[frozenset[str]]:
    """Supported combinations closest to the given set (fewest fields added or removed).

    Ties prefer keeping more of what the user gave. Used for error messages.
    """
    current = _as_set(field_names)
    ranked = sorted(
        (c for c in DOCUMENTED_COMBINATIONS if c != current),
        key=lambda c: (len(c ^ current), -len(c & current), _sort_key(c)),
    )
    return ranked[:limit]


def _sort_key(combo: frozenset[str]) -> tuple[int, tuple[int, ...]]:
    order: dict[str, int] = {name: i for i, name in enumerate(FILTER_FIELDS)}
    return (len(combo), tuple(order[f] for f in _ordered(combo)))


def _ordered(combo: Iterable[str]) -> list[str]:
    order: dict[str, int] = {name: i for i, name in enumerate(FILTER_FIELDS)}
    return sorted(combo, key=lambda n: order.get(n, len(order)))


def describe(combo: Iterable[str]) -> str:
    """``lead_id + user_id``; ``no filter`` for the empty set."""
    names = _ordered(combo)
    return " + ".join(names) if names else "no filter"


def unsupported_message(field_names: Iterable[str]) -> str:
    """One line saying why a set is refused and which supported sets are nearest."""
    current = _as_set(field_names)
    adds = completions(current)
    if adds and adds != [frozenset()]:
        hint = " or ".join("add " + describe(a) for a in adds)
        return f"unsupported filter combination {describe(current)}: {hint}"
    near = ", ".join(describe(c) for c in nearest_supported(current))
    return (
        f"unsupported filter combination {describe(current)}; nearest supported: {near}"
        " (any of them may add a date_updated range)"
    )


def why_disabled(field_names: Iterable[str], field: str) -> str | None:
    """Why ``field`` cannot join the set, or ``None`` when it can."""
    current = _as_set(field_names)
    if can_add(current, field):
        return None
    # Name the fields that clash with it one-on-one; when only the whole set clashes
    # (each pair is fine, the triple is not), name the whole set.
    blockers = [f for f in _ordered(current) if not can_add({f}, field)]
    return f"{field} cannot be combined with {describe(blockers or current)}"


class UnsupportedFilter(ValueError):
    """A filter whose fields form no supported combination."""


@dataclass(frozen=True, slots=True)
class EventFilter:
    """One query of the event log: the equality filters plus a ``date_updated`` range.

    Datetimes are timezone-aware (UTC when built by our parsers); they go out as naive
    UTC ISO strings, the events' own form, and no ``X-TZ-Offset`` header is ever sent.
    """

    lead_id: str | None = None
    user_id: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    action: str | None = None
    request_id: str | None = None
    date_updated__gt: datetime | None = None
    date_updated__gte: datetime | None = None
    date_updated__lt: datetime | None = None
    date_updated__lte: datetime | None = None

    @property
    def field_names(self) -> frozenset[str]:
        """The equality filter fields that are set."""
        return frozenset(name for name in FILTER_FIELDS if getattr(self, name))

    @property
    def is_supported(self) -> bool:
        return is_supported(self.field_names)

    def validate(self) -> EventFilter:
        """Return self, or raise :class:`UnsupportedFilter` with a helpful message."""
        if not self.is_supported:
            raise UnsupportedFilter(unsupported_message(self.field_names))
        return self

    def to_params(self) -> dict[str, str]:
        """The query parameters for ``GET /event/`` (filters only; no cursor or limit)."""
        params: dict[str, str] = {}
        for name in FILTER_FIELDS:
            value = getattr(self, name)
            if value:
                params[name] = value
        for op in DATE_OPERATORS:
            when = getattr(self, f"date_updated__{op}")
            if when is not None:
                params[f"date_updated__{op}"] = to_api_datetime(when)
        return params

    def replace(self, **changes: object) -> EventFilter:
        return replace(self, **changes)  # type: ignore[arg-type]

    def without_dates(self) -> EventFilter:
        return replace(
            self,
            date_updated__gt=None,
            date_updated__gte=None,
            date_updated__lt=None,
            date_updated__lte=None,
        )

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> EventFilter:
        """Build a filter from query parameters (unknown keys ignored)."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = params.get(f.name)
            if raw is None or raw == "":
                continue
            values[f.name] = (
                parse_api_datetime(raw) if f.name.startswith("date_updated__") else raw
            )
        return cls(**values)  # type: ignore[arg-type]

    def describe(self) -> str:
        """A short human label of the filter, e.g. ``lead_id=lead_… · since …``."""
        parts = [f"{k}={v}" for k, v in self.to_params().items()]
        return " · ".join(parts) if parts else "all events"


def utc_now() -> datetime:
    return datetime.now(UTC)
