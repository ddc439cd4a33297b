"""One sentence per event, for the table's summary column and for headless listings.

A support person scans the log for *what happened*: "Opportunity Active → Won ($12,000)",
"Contact deleted: Jane Doe", "Call completed (3m 12s)". The event carries that only
indirectly (an object type, an action, whole objects in ``data``/``previous_data`` and a
list of changed fields), so this module turns each object-type family of
:mod:`close_tui.core.catalog` into a short sentence, and anything else (unknown types,
unknown actions, legacy names such as ``note``) into a sensible generic one.

The payload's shape is not guaranteed: fields come and go, non-admin keys lose the payload
after an hour (the sentence then says so), a deleted object has ``data: null``, and any
value can be a list, a string or a number where an object is expected. A summary is a
convenience, so :func:`summarize` never raises: it reads what it recognises and otherwise
says less.

The result is one line, made safe for a terminal (``sanitize.visible``) and capped in
length, because the table keeps one such string per loaded row (memory) and callers print
it as is. Quoted user text (a note, a subject) is cut shorter still, so the *kind* of event
stays readable in a narrow column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from close_tui.core.catalog import ALL_ACTIONS
from close_tui.core.dates import format_duration
from close_tui.core.jsonnum import is_number
from close_tui.core.models import Event
from close_tui.core.sanitize import visible

#: Longest summary kept: a row is one screen line, and 1M rows must stay small.
MAX_SUMMARY_CHARS: Final = 160
#: Longest quoted user text ("Note added: '…'"): the sentence's verb must stay visible.
MAX_QUOTE_CHARS: Final = 48
#: Longest value in "field: old → new".
MAX_VALUE_CHARS: Final = 24
#: Field names listed in "N fields changed: a, b, c" before "…".
MAX_LISTED_FIELDS: Final = 5

#: Appended when the privacy rule left the payload out (non-admin key, event > 1 h old).
HIDDEN_NOTE: Final = "payload hidden (>1 h old, non-admin key)"

#: "No value" (null or blank) in "old → new": said as "set"/"cleared", not shown.
_EMPTY: Final = "\x00empty"

#: Fields that change on every edit and say nothing about *what* changed.
NOISE_FIELDS: Final = frozenset(
    {"date_updated", "updated_by", "updated_by_name", "date_modified", "modified_by"}
)

#: Fields shown under one label, with the value a person reads (labels, formatted money).
_FIELD_GROUPS: Final[dict[str, tuple[str, str]]] = {
    "status_id": ("status", "status_label"),
    "status_label": ("status", "status_label"),
    "status_type": ("status", "status_label"),
    "value": ("value", "value_formatted"),
    "value_formatted": ("value", "value_formatted"),
    "value_currency": ("value", "value_formatted"),
}

#: Where each kind of object keeps the text a person would call its name, best first.
_NAME_KEYS: Final = (
    "display_name",
    "name",
    "title",
    "subject",
    "label",
    "lead_name",
    "text",
    "note",
    "email",
    "phone",
    "number",
    "file_name",
    "filename",
)

_TASK_NOUNS: Final[dict[str, str]] = {
    "lead": "Task",
    "incoming_email": "Incoming email task",
    "email_followup": "Email follow-up task",
    "missed_call": "Missed call task",
    "answered_detached_call": "Detached call task",
    "voicemail": "Voicemail task",
    "opportunity_due": "Opportunity due task",
    "incoming_sms": "Incoming SMS task",
    "outgoing_call": "Outgoing call task",
}

#: object_type -> the noun a sentence starts with.
_NOUNS: Final[dict[str, str]] = {
    "lead": "Lead",
    "contact": "Contact",
    "opportunity": "Opportunity",
    **{f"task.{kind}": noun for kind, noun in _TASK_NOUNS.items()},
    "activity.note": "Note",
    "note": "Note",  # a legacy name in Close's own examples
    "activity.email": "Email",
    "activity.sms": "SMS",
    "activity.call": "Call",
    "activity.meeting": "Meeting",
    "activity.email_thread": "Email thread",
    "activity.whatsapp_message": "WhatsApp message",
    "activity.form_submission": "Form submission",
    "activity.custom_activity": "Custom activity",
    "activity.lead_status_change": "Lead status change",
    "activity.opportunity_status_change": "Opportunity status change",
    "status_change.lead": "Lead status change",
    "status_change.opportunity": "Opportunity status change",
    "activity.lead_merge": "Lead merge",
    "activity.task_completed": "Task completion",
    "unsubscribed_email": "Email unsubscribe",
    "import": "Import",
    "export.lead": "Lead export",
    "export.opportunity": "Opportunity export",
    "bulk_action.delete": "Bulk delete",
    "bulk_action.edit": "Bulk edit",
    "bulk_action.email": "Bulk email",
    "bulk_action.sequence_subscription": "Bulk sequence subscription",
    "custom_fields.lead": "Lead custom field",
    "custom_fields.contact": "Contact custom field",
    "custom_fields.opportunity": "Opportunity custom field",
    "custom_fields.activity": "Activity custom field",
    "custom_fields.custom_object": "Custom object field",
    "custom_fields.shared": "Shared custom field",
    "custom_activity_type": "Custom activity type",
    "custom_object_type": "Custom object type",
    "custom_object": "Custom object",
    "status.lead": "Lead status",
    "status.opportunity": "Opportunity status",
    "group": "Group",
    "saved_search": "Saved search",
    "phone_number": "Phone number",
    "email_template": "Email template",
    "sms_template": "SMS template",
    "sequence": "Sequence",
    "sequence_subscription": "Sequence subscription",
    "comment": "Comment",
    "comment_thread": "Comment thread",
    "membership": "Member",
}

#: Verbs that read better than the action's own word for some objects.
_CREATED_AS_ADDED: Final = frozenset({"activity.note", "note", "comment", "unsubscribed_email"})


def summarize(event: Event, names: Mapping[str, str] | None = None) -> str:
    """A one-line, terminal-safe sentence describing ``event``.

    ``names`` (id -> display name, e.g. :meth:`NameDirectory.names`) names what the event
    only refers to by id: custom fields (``cf_…``), the user of a membership, the source
    lead of a merge. Never raises; the worst case is a bare "<Noun> <action>".
    """
    try:
        text = _Sentence(event, names if names is not None else {}).build()
    except Exception:  # a summary is never worth a crash: fall back to type and action
        text = _fallback(event)
    return _one_line(text)


#: How an unknown sub-type of a known family reads: ``activity.custom_thing`` is a
#: "Custom thing", ``task.site_visit`` a "Site visit task".
_FAMILY_NOUNS: Final[dict[str, str]] = {
    "activity": "{}",
    "task": "{} task",
    "custom_fields": "{} custom field",
    "status": "{} status",
    "status_change": "{} status change",
    "export": "{} export",
    "bulk_action": "Bulk {}",
}
#: Words that are event verbs, never part of an object's noun: an unknown type named
#: after its event (``activity.created``) must not read "Activity created created".
_VERB_WORDS: Final = frozenset({*ALL_ACTIONS, "added", "edited", "removed"})


def noun_for(object_type: str) -> str:
    """The noun a sentence about ``object_type`` starts with ("Note", "Lead export").

    Unknown types are read from their words: a known family's sub-type by the family's
    pattern (``activity.custom_thing`` → "Custom thing"), verbs dropped from the end
    (``activity.created`` → "Activity"), so the sentence's own verb is never doubled.
    """
    noun = _NOUNS.get(object_type)
    if noun is not None:
        return noun
    family, dot, rest = object_type.partition(".")
    family_words = _without_trailing_verbs(_words(family))
    rest_words = _without_trailing_verbs(_words(rest)) if dot else []
    pattern = _FAMILY_NOUNS.get(family.lower())
    if pattern is not None and rest_words:
        text = pattern.format(" ".join(rest_words))
    else:
        text = " ".join(family_words + rest_words)
    if not text:
        return "Object"
    return text[:1].upper() + text[1:]


def _words(text: str) -> list[str]:
    return text.replace(".", " ").replace("_", " ").replace("-", " ").split()


def _without_trailing_verbs(words: list[str]) -> list[str]:
    while words and words[-1].lower() in _VERB_WORDS:
        words = words[:-1]
    return words


def _fallback(event: Event) -> str:
    try:
        object_type = event.object_type if isinstance(event.object_type, str) else ""
        action = event.action if isinstance(event.action, str) else ""
        return f"{noun_for(object_type)} {action}".strip()
    except Exception:
        return ""


class _Sentence:
    """The reading of one event: its parts, made safe to use, and the builders."""

    def __init__(self, event: Event, names: Mapping[str, str]) -> None:
        self.event = event
        self.names = names
        self.data = _as_dict(event.data)
        self.previous = _as_dict(event.previous_data)
        self.meta = _as_dict(event.meta)
        self.action = event.action if isinstance(event.action, str) else ""
        self.object_type = event.object_type if isinstance(event.object_type, str) else ""
        self.noun = noun_for(self.object_type)
        self.changed = _changed_fields(event.changed_fields)
        self.hidden = _payload_hidden(event)

    # ------------------------------------------------------------------ entry

    def build(self) -> str:
        builder = self._builder()
        text = builder() if builder is not None else ""
        if not text:
            text = self._generic()
        if self.hidden:
            text = f"{text} · {HIDDEN_NOTE}"
        return text

    def _builder(self) -> Callable[[], str] | None:
        object_type = self.object_type
        family = object_type.partition(".")[0]
        if object_type == "lead":
            return self._lead
        if object_type == "opportunity":
            return self._opportunity
        if family == "task":
            return self._task
        if object_type in ("activity.note", "note"):
            return self._note
        if object_type in ("activity.email", "activity.sms", "activity.whatsapp_message"):
            return self._message
        if object_type == "activity.call":
            return self._call
        if object_type in (
            "activity.lead_status_change",
            "activity.opportunity_status_change",
            "status_change.lead",
            "status_change.opportunity",
        ):
            return self._status_change_activity
        if object_type == "activity.lead_merge":
            return self._lead_merge
        if object_type == "activity.task_completed":
            return self._task_completed
        if object_type == "activity.form_submission":
            return self._form_submission
        if object_type == "activity.custom_activity":
            return self._custom_activity
        if object_type in ("comment", "activity.comment"):
            return self._comment
        if object_type == "membership":
            return self._membership
        if object_type == "unsubscribed_email":
            return self._unsubscribed
        if object_type in ("import",) or family in ("export", "bulk_action"):
            return self._job
        return None

    # ------------------------------------------------------------------ the generic sentence

    def _generic(self) -> str:
        """Updates say what changed; every other action "<Noun> <action>: <name>"."""
        if self.action == "updated":
            return self._changes() or f"{self.noun} updated"
        return self._verb_sentence(self._object_name())

    def _verb_sentence(self, detail: str) -> str:
        verb = self._verb()
        if self.noun.lower().endswith(f" {verb.lower()}"):  # never "… deleted deleted"
            verb = ""
        head = f"{self.noun} {verb}".strip()
        return f"{head}: {detail}" if detail else head

    def _verb(self) -> str:
        action = self.action
        if action == "created" and self.object_type in _CREATED_AS_ADDED:
            return "added"
        return action

    def _object_name(self) -> str:
        """The object's name from its new state, or its last state when deleted."""
        if self.action == "deleted":
            return _name(self.previous) or _name(self.data)
        return _name(self.data) or _name(self.previous)

    # ------------------------------------------------------------------ changes

    def _shown_fields(self) -> list[str]:
        """Changed fields a person cares about, grouped (``status_*`` → ``status``)."""
        labels: list[str] = []
        for field in self.changed:
            if field in NOISE_FIELDS:
                continue
            label = _FIELD_GROUPS.get(field, (field, field))[0]
            if label not in labels:
                labels.append(label)
        return labels

    def _changes(self) -> str:
        """``status: Active → Won`` for one field; ``3 fields changed: a, b, c`` for more."""
        fields = self._shown_fields()
        if not fields:
            return ""
        if self._merge_move(fields):
            destination = self._merge_destination_name()
            where = f" to {destination}" if destination else ""
            return f"{self.noun} moved{where} (lead merge)"
        if len(fields) == 1:
            field = fields[0]
            label = self._field_label(field)
            old, new = self._old_new(field)
            if old is None or new is None or old == new:
                return f"{self.noun} {label} changed"
            if old is _EMPTY:
                return f"{self.noun} {label} set: {new}"
            if new is _EMPTY:
                return f"{self.noun} {label} cleared (was {old})"
            return f"{self.noun} {label}: {old} → {new}"
        listed = [self._field_label(field) for field in fields[:MAX_LISTED_FIELDS]]
        more = ", …" if len(fields) > MAX_LISTED_FIELDS else ""
        return f"{len(fields)} fields changed: {', '.join(listed)}{more}"

    def _merge_move(self, fields: list[str]) -> bool:
        return fields == ["lead_id"] and bool(self.meta.get("merge_destination_lead_id"))

    def _merge_destination_name(self) -> str:
        destination = _text(self.meta.get("merge_destination_lead_id"))
        return _one_line_text(self.names.get(destination, "")) if destination else ""

    def _old_new(self, field: str) -> tuple[str | None, str | None]:
        """Readable old and new values of ``field``: ``None`` when unknown or not a
        scalar, :data:`_EMPTY` when null or blank."""
        key = _FIELD_GROUPS.get(field, (field, field))[1]

        def read(state: Mapping[str, Any]) -> str | None:
            for name in (key, field):
                if name in state:
                    value = state[name]
                    if value is None or (isinstance(value, str) and not value.strip()):
                        return _EMPTY
                    return _value(value)
            return None

        return read(self.previous), read(self.data)

    def _field_label(self, field: str) -> str:
        if field.startswith("custom."):
            return self._custom_field_label(field)
        return field

    def _custom_field_label(self, field: str) -> str:
        """A custom field's name: from ``names``, from the object's ``custom`` map, or
        the id shortened (``custom.cf_a5P…4As``)."""
        field_id = field.removeprefix("custom.")
        name = _text(self.names.get(field_id)) or _text(self.names.get(field))
        if name:
            return name
        for state in (self.data, self.previous):
            name = _custom_name_from_state(state, field)
            if name:
                return name
        return "custom." + _short(field_id)

    # ------------------------------------------------------------------ families

    def _lead(self) -> str:
        action = self.action
        if action == "merged":
            destination = _name(self.data) or self._merge_destination_name()
            source_id = _text(self.meta.get("merge_source_lead_id"))
            source = _one_line_text(self.names.get(source_id, "")) if source_id else ""
            head = f"Lead {source} merged" if source else "Lead merged"
            return f"{head} into {destination}" if destination else head
        if action == "updated":
            status = self._status_pair()
            if status:
                return f"Lead status {status}"
        return ""

    def _opportunity(self) -> str:
        action = self.action
        value = _label(self.data.get("value_formatted")) or _label(
            self.previous.get("value_formatted")
        )
        if action == "updated":
            status = self._status_pair()
            if status:
                return f"Opportunity {status}" + (f" ({value})" if value else "")
            return ""
        if action in ("created", "deleted"):
            state = self.previous if action == "deleted" else self.data
            value = _label(state.get("value_formatted"))
            status_label = _label(state.get("status_label"))
            details = ", ".join(part for part in (value, status_label) if part)
            head = f"Opportunity {action}"
            return f"{head} ({details})" if details else head
        return ""

    def _task(self) -> str:
        text = _first_line(_text(self.data.get("text")) or _text(self.previous.get("text")))
        if self.action == "updated":
            fields = self._shown_fields()
            if fields == ["is_complete"] and self.data.get("is_complete") is True:
                return self._with_quote_free(f"{self.noun} completed", text)
            return ""
        if self.action in ("created", "completed", "deleted"):
            return self._with_quote_free(f"{self.noun} {self.action}", text)
        return ""

    def _note(self) -> str:
        text = self._state_text("note")
        verbs = {"created": "added", "updated": "edited", "deleted": "deleted"}
        verb = verbs.get(self.action)
        if verb is None:
            return ""
        return f"Note {verb}: {_quote(text)}" if text else f"Note {verb}"

    def _message(self) -> str:
        """Email, SMS, WhatsApp: sent/received/draft, with the subject or text quoted."""
        action = self.action
        if self.object_type == "activity.email":
            text = self._state_text("subject")
        elif self.object_type == "activity.sms":
            text = self._state_text("text")
        else:
            text = self._state_text("message_markdown") or self._state_text("text")
        state = self.previous if action == "deleted" else self.data
        direction = _text(state.get("direction")).lower()
        status = _text(state.get("status")).lower()
        if action == "sent":
            verb = "sent"
        elif action == "created":
            if direction in ("incoming", "inbound") or status == "inbox":
                verb = "received"
            elif status == "draft":
                verb = "draft created"
            elif status in ("outbox", "scheduled"):
                verb = "queued"
            elif direction in ("outgoing", "outbound"):
                verb = "sent" if status == "sent" else "created"
            else:
                verb = "created"
        elif action == "updated":
            fields = self._shown_fields()
            edited = {"body_text", "body_html", "subject", "text", "message_markdown"}
            if fields and set(fields) <= edited:
                verb = "edited"
            else:
                return ""
        elif action == "deleted":
            verb = "deleted"
        else:
            return ""
        head = f"{self.noun} {verb}"
        return f"{head}: {_quote(text)}" if text else head

    def _call(self) -> str:
        action = self.action
        state = self.previous if action == "deleted" else self.data
        direction = _text(state.get("direction")).lower()
        direction = {"outgoing": "outbound", "incoming": "inbound"}.get(direction, direction)
        if action == "created":
            return f"Call started ({direction})" if direction else "Call started"
        if action == "answered":
            return f"Call answered ({direction})" if direction else "Call answered"
        if action == "completed":
            status = _text(state.get("status")).lower()
            seconds = _number(state.get("duration"))
            if status in ("no-answer", "no_answer", "busy", "failed", "missed"):
                return f"Call completed ({status.replace('_', '-')})"
            if seconds:
                return f"Call completed ({format_duration(seconds)})"
            return "Call completed"
        if action == "updated":
            fields = self._shown_fields()
            if fields == ["note"]:
                note = self._state_text("note")
                return f"Call note: {_quote(note)}" if note else "Call note changed"
            return ""
        if action == "deleted":
            seconds = _number(state.get("duration"))
            return f"Call deleted ({format_duration(seconds)})" if seconds else "Call deleted"
        return ""

    def _status_change_activity(self) -> str:
        if self.action != "created":
            return ""
        old = _label(self.data.get("old_status_label"))
        new = _label(self.data.get("new_status_label"))
        if not (old or new):
            return ""
        pair = f"{old or '?'} → {new or '?'}"
        if "opportunity" in self.object_type:
            value = _label(self.data.get("opportunity_value_formatted"))
            return f"Opportunity {pair}" + (f" ({value})" if value else "")
        return f"Lead status {pair}"

    def _lead_merge(self) -> str:
        if self.action != "created":
            return ""
        source = _label(self.data.get("source_lead_name"))
        if not source:
            source_id = _text(self.data.get("source_lead_id"))
            source = _one_line_text(self.names.get(source_id, "")) if source_id else ""
        return f"Lead {source} merged in" if source else "Lead merged in"

    def _task_completed(self) -> str:
        text = _first_line(
            _text(self.data.get("task_text")) or _text(self.previous.get("task_text"))
        )
        if self.action == "created":
            return self._with_quote_free("Task completed", text)
        if self.action == "deleted":
            return self._with_quote_free("Task completion deleted", text)
        return ""

    def _form_submission(self) -> str:
        form = self._state_text("form_name") or self._state_text("form")
        if self.action == "created":
            return f"Form submitted: {form}" if form else "Form submitted"
        return ""

    def _custom_activity(self) -> str:
        kind = (
            self._state_text("activity_type")
            or self._state_text("custom_activity_type_name")
            or self._state_text("custom_activity_type")
        )
        if self.action in ("created", "deleted"):
            return self._with_quote_free(f"Custom activity {self.action}", kind)
        return ""

    def _comment(self) -> str:
        body = self._state_text("body") or self._state_text("text")
        verbs = {"created": "added", "updated": "edited", "deleted": "deleted"}
        verb = verbs.get(self.action)
        if verb is None or not body:
            return ""
        return f"Comment {verb}: {_quote(body)}"

    def _membership(self) -> str:
        state = self.data or self.previous
        user_id = _text(state.get("user_id"))
        name = _one_line_text(self.names.get(user_id, "")) if user_id else ""
        name = name or _label(state.get("user_name")) or (_short(user_id) if user_id else "")
        head = f"Member {self.action}".strip()
        return f"{head}: {name}" if name else head

    def _unsubscribed(self) -> str:
        state = self.previous if self.action == "deleted" else self.data
        email = _label(state.get("email")) or _label(state.get("email_address"))
        verb = {"created": "unsubscribed", "deleted": "resubscribed"}.get(self.action)
        if verb is None:
            return ""
        head = f"Email {verb}"
        return f"{head}: {email}" if email else head

    def _job(self) -> str:
        """Imports, exports and bulk actions: their lifecycle verbs plus a size."""
        action = self.action
        if action == "updated":
            return ""
        state = self.previous if action == "deleted" else self.data
        name = _first_line(_text(state.get("file_name")) or _text(state.get("filename")))
        if not name and self.object_type.startswith("bulk_action.") and action == "created":
            name = _cut(_first_line(_text(state.get("query"))), MAX_QUOTE_CHARS)
        count = ""
        for key, unit in (("n_leads", "leads"), ("n_objects", "objects")):
            number = int(_number(state.get(key)))
            if number:
                count = f"{number:,} {unit}"
                break
        verb = "started" if action == "created" and self.object_type != "import" else action
        head = f"{self.noun} {verb}".strip()
        if name and count:
            return f"{head}: {name} ({count})"
        if name:
            return f"{head}: {name}"
        return f"{head} ({count})" if count and action == "completed" else head

    # ------------------------------------------------------------------ helpers

    def _status_pair(self) -> str:
        """``Active → Won`` when an update changed the status label (or only the
        ``status_id``, labelled through ``names``: ``stat_…`` -> label)."""
        old = _label(self.previous.get("status_label")) or self._status_name(self.previous)
        new = _label(self.data.get("status_label")) or self._status_name(self.data)
        if old and new and old != new:
            return f"{old} → {new}"
        return ""

    def _status_name(self, state: Mapping[str, Any]) -> str:
        status_id = _text(state.get("status_id"))
        return _label(self.names.get(status_id, "")) if status_id else ""

    def _state_text(self, key: str) -> str:
        state = self.previous if self.action == "deleted" else self.data
        return _first_line(_text(state.get(key))) or _first_line(
            _text((self.data or self.previous).get(key))
        )

    @staticmethod
    def _with_quote_free(head: str, text: str) -> str:
        return f"{head}: {_cut(text, MAX_QUOTE_CHARS)}" if text else head


def _custom_name_from_state(state: Mapping[str, Any], field: str) -> str:
    """The custom field's name when the object also carries Close's ``custom`` map
    (name -> value) and exactly one entry there holds this field's value."""
    custom = state.get("custom")
    if not isinstance(custom, Mapping) or field not in state:
        return ""
    value = state.get(field)
    if value is None or isinstance(value, bool | Mapping | list):
        return ""
    matches = [key for key, candidate in custom.items() if candidate == value]
    if len(matches) == 1 and isinstance(matches[0], str):
        return _first_line(matches[0])
    return ""


def _name(data: Mapping[str, Any]) -> str:
    for key in _NAME_KEYS:
        value = _first_line(_text(data.get(key)))
        if value:
            return _cut(value, MAX_QUOTE_CHARS)
    first = _text(data.get("first_name"))
    last = _text(data.get("last_name"))
    return " ".join(part for part in (first, last) if part)


def _payload_hidden(event: Event) -> bool:
    """Both payload keys absent: the privacy rule, not an empty change."""
    try:
        return event.payload_state("data") == "missing" and (
            event.payload_state("previous_data") == "missing"
        )
    except Exception:
        return False


def _changed_fields(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping | bytes):
        return []
    return [item for item in value if isinstance(item, str) and item]


def _as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    """Scalars as text; containers, ``None`` and booleans are not names."""
    if isinstance(value, str):
        return value.strip()
    if is_number(value):
        return str(value)
    return ""


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return 0.0
    if is_number(value):
        return float(value) if value == value and abs(value) < 1e15 else 0.0  # no NaN/inf
    return 0.0


def _value(value: Any) -> str | None:
    """A scalar as a person reads it in "old → new"; ``None`` for containers."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) or is_number(value):
        text = _first_line(str(value)) if isinstance(value, str) else str(value)
        return _cut(text, MAX_VALUE_CHARS) if text else None
    return None


def _label(value: Any) -> str:
    """A scalar's first line, cut to a value's length; ``""`` for null and containers."""
    return _cut(_first_line(_text(value)), MAX_VALUE_CHARS)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped:
            return stripped
    return ""


def _one_line_text(value: Any) -> str:
    return _first_line(value) if isinstance(value, str) else ""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _quote(text: str) -> str:
    return f"'{_cut(_first_line(text), MAX_QUOTE_CHARS)}'"


def _short(value: str) -> str:
    """``cf_a5PRNOiO…`` → ``cf_a5P…4As``: enough to tell ids apart on one screen."""
    prefix, sep, rest = value.partition("_")
    if not sep or len(prefix) > 8 or len(rest) <= 7:
        return value
    return f"{prefix}_{rest[:3]}…{rest[-3:]}"


def _one_line(text: str) -> str:
    line = visible(text.replace("\t", " "))
    if len(line) > MAX_SUMMARY_CHARS:
        line = line[: MAX_SUMMARY_CHARS - 1] + "…"
    return line
