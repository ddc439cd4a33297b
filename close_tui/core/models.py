"""Pydantic models of an event and of a page of the event log.

Two promises shape them:

* **Nothing is lost.** Unknown fields are kept, and the exact JSON the API sent is kept
  beside the typed view, so an event written back out is JSON-equal to what came in
  (even a timestamp in a form we would not write ourselves).
* **Nothing is walked.** ``data``, ``previous_data`` and ``meta`` stay raw JSON values:
  pydantic does not recurse into them, so data nested 200 deep loads as fast as flat data.

``data``/``previous_data`` being *missing* (the non-admin privacy rule), ``null``
(deleted) or ``{}`` (nothing before a create) are three different facts; use
:meth:`Event.payload_state` to tell them apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from close_tui.core.dates import parse_api_datetime

PayloadState = Literal["missing", "null", "empty", "present"]


class Event(BaseModel):
    """One event of Close's event log (``close-event-api.md`` §2)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    date_created: datetime
    date_updated: datetime
    object_type: str
    action: str
    object_id: str | None = None
    lead_id: str | None = None
    user_id: str | None = None
    organization_id: str | None = None
    request_id: str | None = None
    api_key_id: str | None = None
    changed_fields: list[str] = Field(default_factory=list)
    data: Any = None
    previous_data: Any = None
    meta: Any = None

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @field_validator("date_created", "date_updated", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_api_datetime(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @field_validator("changed_fields", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Event:
        event: Event = handler(value)
        if isinstance(value, dict):
            event._raw = value
        return event

    def payload_state(self, name: Literal["data", "previous_data"]) -> PayloadState:
        """Whether ``data``/``previous_data`` was missing, ``null``, empty, or present."""
        if name not in self.model_fields_set:
            return "missing"
        value = getattr(self, name)
        if value is None:
            return "null"
        if value == {} or value == []:
            return "empty"
        return "present"

    def to_api(self) -> dict[str, Any]:
        """The event as the API sent it (JSON-equal), including unknown fields."""
        if self._raw:
            return self._raw
        return self.model_dump(mode="json", exclude_unset=True)

    @property
    def meta_dict(self) -> dict[str, Any]:
        return self.meta if isinstance(self.meta, dict) else {}

    @property
    def consolidated(self) -> bool:
        """Several edits merged into this event after it was first written."""
        return self.date_updated > self.date_created

    def __repr__(self) -> str:  # short: events can hold 64 KB notes
        return (
            f"Event(id={self.id!r}, action={self.action!r}, "
            f"object_type={self.object_type!r}, date_updated={self.date_updated.isoformat()!r})"
        )

    __str__ = __repr__


class EventPage(BaseModel):
    """One answer of ``GET /event/``: events newest first plus opaque cursors."""

    model_config = ConfigDict(extra="allow", frozen=True)

    data: list[Event] = Field(default_factory=list)
    cursor_next: str | None = None
    cursor_previous: str | None = None

    @field_validator("cursor_next", "cursor_previous", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        # An empty string is "no cursor" on the way in (``_cursor=``); treat it so here too.
        return value or None

    @property
    def has_more(self) -> bool:
        """More (older) events may follow: only a ``null`` cursor ends the log."""
        return self.cursor_next is not None
