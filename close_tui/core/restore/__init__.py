"""Undo a deletion: re-create deleted leads and objects from the event log.

Three steps, each usable alone (the CLI and the app's restore screen both use them):

* :func:`plan_restore` reads the deletion and its fan-out and returns a
  :class:`RestorePlan` (what comes back, what cannot and why, how it was deleted,
  warnings). Reads only.
* :func:`apply_restore` re-creates what a plan lists, recording every created object in
  a :class:`Journal` so that a rerun continues where a run stopped and nothing is ever
  created twice.
* :class:`Journal` is the file that makes that possible (one per deletion).

No Textual here; the pure rules live in ``payloads.py`` and ``plan.py``.
"""

from close_tui.core.restore.apply import (
    ItemFailure,
    ProgressCallback,
    RestoreProgress,
    RestoreRefused,
    RestoreResult,
    RestoreStopped,
    apply_restore,
)
from close_tui.core.restore.fetch import RestoreUsageError, plan_restore
from close_tui.core.restore.io import PacedClient
from close_tui.core.restore.journal import Journal, JournalError, default_journal_path
from close_tui.core.restore.plan import (
    DeletionOrigin,
    PlanItem,
    PlanWarning,
    RestorePlan,
    Unrestorable,
    build_plan,
    lead_web_url,
)

__all__ = [
    "DeletionOrigin",
    "ItemFailure",
    "Journal",
    "JournalError",
    "PacedClient",
    "PlanItem",
    "PlanWarning",
    "ProgressCallback",
    "RestorePlan",
    "RestoreProgress",
    "RestoreRefused",
    "RestoreResult",
    "RestoreStopped",
    "RestoreUsageError",
    "Unrestorable",
    "apply_restore",
    "build_plan",
    "default_journal_path",
    "lead_web_url",
    "plan_restore",
]
