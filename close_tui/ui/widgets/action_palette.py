"""One colour per kind of action, shared by the event table and the detail header.

Close's log has fifteen actions (``close-event-api.md`` §3) and may grow more. Fifteen
colours would teach nothing, so actions are grouped by what they mean to a person
scanning the log, and each group has one colour from the theme:

* **create** (green): something came into being — created, activated.
* **change** (amber): something was altered — updated, merged.
* **remove** (red): something was taken away or undone — deleted, deactivated,
  canceled, reverted.
* **finish** (blue): something reached its end — completed, sent, answered.
* **progress** (muted blue, italic): something is under way — scheduled, started,
  reverting, paused.
* **other** (muted): an action this version does not know.

The groups are styled through component classes (``<prefix>--action-<tone>``) so a theme
change recolours both widgets; :func:`palette_css` writes the same rules for each widget.
"""

from __future__ import annotations

from typing import Final, Literal

ActionTone = Literal["create", "change", "remove", "finish", "progress", "other"]

#: Every action of the catalogue, by tone. Unknown actions are "other".
ACTION_TONES: Final[dict[str, ActionTone]] = {
    "created": "create",
    "activated": "create",
    "updated": "change",
    "merged": "change",
    "deleted": "remove",
    "deactivated": "remove",
    "canceled": "remove",
    "reverted": "remove",
    "completed": "finish",
    "sent": "finish",
    "answered": "finish",
    "scheduled": "progress",
    "started": "progress",
    "reverting": "progress",
    "paused": "progress",
}

#: Tone -> Textual CSS declarations: the theme's text colours (made to be read on its
#: backgrounds), so every theme works and both widgets show the same colour.
TONE_CSS: Final[dict[ActionTone, str]] = {
    "create": "color: $text-success;",
    "change": "color: $text-warning;",
    "remove": "color: $text-error;",
    "finish": "color: $text-primary;",
    "progress": "color: $text-secondary; text-style: italic;",
    "other": "color: $text-muted;",
}

TONES: Final[tuple[ActionTone, ...]] = tuple(TONE_CSS)


def action_tone(action: str) -> ActionTone:
    """The tone of ``action``: its group, or ``"other"`` when the action is unknown."""
    return ACTION_TONES.get(action, "other")


def tone_class(prefix: str, tone: ActionTone) -> str:
    """The component class of ``tone`` in the widget whose classes start with ``prefix``."""
    return f"{prefix}--action-{tone}"


def tone_classes(prefix: str) -> set[str]:
    """Every tone's component class, for a widget's ``COMPONENT_CLASSES``."""
    return {tone_class(prefix, tone) for tone in TONES}


def palette_css(prefix: str, extra: str = "") -> str:
    """Nested CSS rules (``& > .prefix--action-tone { … }``) for a widget's DEFAULT_CSS;
    ``extra`` is added to every rule (the detail header draws the action as a badge)."""
    return "\n".join(
        f"& > .{tone_class(prefix, tone)} {{ {css} {extra} }}" for tone, css in TONE_CSS.items()
    )
