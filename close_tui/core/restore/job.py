"""One restore as the app's restore screen drives it: load the plan, then apply it.

The screen is I/O free: it is given an object with these two coroutines and runs them in
workers. :class:`RestoreJob` is the one that talks to the API through a client; tests give
the screen fakes with the same shape (:class:`RestoreActions`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from close_tui.core.client import CloseClient
from close_tui.core.restore.apply import ProgressCallback, RestoreResult, apply_restore
from close_tui.core.restore.fetch import plan_restore
from close_tui.core.restore.io import PacedClient
from close_tui.core.restore.plan import RestorePlan


class RestoreActions(Protocol):
    """What the restore screen needs done."""

    async def load_plan(self) -> RestorePlan: ...

    async def apply(
        self, plan: RestorePlan, on_progress: ProgressCallback, *, allow_merged: bool
    ) -> RestoreResult: ...


class RestoreJob:
    """Plan and apply the restore of one deletion event (or one deleted lead)."""

    def __init__(
        self,
        client: CloseClient,
        *,
        event_id: str | None = None,
        lead_id: str | None = None,
        journal_path: Path | None = None,
    ) -> None:
        if (event_id is None) == (lead_id is None):
            raise ValueError("give event_id or lead_id")
        self.client = client
        self.event_id = event_id
        self.lead_id = lead_id
        self.journal_path = journal_path

    async def load_plan(self) -> RestorePlan:
        return await plan_restore(self.client, event_id=self.event_id, lead_id=self.lead_id)

    async def apply(
        self, plan: RestorePlan, on_progress: ProgressCallback, *, allow_merged: bool
    ) -> RestoreResult:
        io = PacedClient(self.client)
        try:
            return await apply_restore(
                io, plan, journal_path=self.journal_path, allow_merged=allow_merged,
                on_progress=on_progress,
            )  # fmt: skip
        finally:
            io.close()
