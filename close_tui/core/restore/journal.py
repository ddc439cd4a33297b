"""The journal of a restore: what was already created, so a rerun never creates it again.

One JSON file per restored deletion, named after the deleted lead (or object), in the
user data directory (``~/.local/share/close-tui/restore/`` on Linux) unless ``--journal``
names another. It records:

* ``created``: old id → new id, written **after each success**;
* ``pending``: objects whose create request was sent but whose outcome is not known
  yet, written **before** the request. A run killed between the server's answer and the
  journal's write leaves the object pending: the next run looks for it in the event log
  before it writes anything (:mod:`close_tui.core.restore.apply`);
* ``failures``: objects the API refused (a rerun tries them again);
* ``completed_at``: set once everything was created — a rerun then does nothing and says so.

Every write goes to a temporary file in the same directory, is ``fsync``'d and then
renamed over the journal (and the directory is ``fsync``'d), so a crash leaves either
the old or the new journal, never half of one. While an apply runs, an exclusive lock on
``<journal>.lock`` keeps a second apply of the same restore from racing it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import platformdirs

from close_tui.core.restore.plan import RestorePlan

FORMAT: Final = "close-tui-restore-journal"
VERSION: Final = 1
APP_NAME: Final = "close-tui"


class JournalError(Exception):
    """The journal cannot be used: unreadable, for another restore, or locked."""


def journal_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "restore"


def default_journal_path(plan: RestorePlan) -> Path:
    """``<user data dir>/restore/<deleted lead or object id>.json``."""
    return journal_dir() / f"{_safe(plan.object_id)}.json"


def _safe(name: str) -> str:
    cleaned = "".join(c for c in name if c.isalnum() or c in "_-")
    return cleaned or "restore"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Created:
    new_id: str
    object_type: str
    at: str

    def to_json(self) -> dict[str, str]:
        return {"new_id": self.new_id, "object_type": self.object_type, "at": self.at}


@dataclass
class Journal:
    path: Path
    organization_id: str
    object_id: str
    object_type: str
    event_id: str
    lead_id: str
    created: dict[str, Created] = field(default_factory=dict)
    #: old id -> when its create request was sent (ISO, the server's clock if known).
    pending: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    completed_at: str | None = None
    started_at: str = field(default_factory=_now)

    # ------------------------------------------------------------------ opening

    @classmethod
    def for_plan(cls, plan: RestorePlan, path: Path | None = None) -> Journal:
        """The journal of ``plan``: loaded if the file exists (and belongs to this
        restore), else a new one (nothing written until the first :meth:`save`)."""
        path = path if path is not None else default_journal_path(plan)
        existing = cls.load(path)
        if existing is None:
            return cls(
                path=path,
                organization_id=plan.organization_id,
                object_id=plan.object_id,
                object_type=plan.object_type,
                event_id=plan.event_id,
                lead_id=plan.lead_id,
            )
        if (existing.organization_id, existing.object_id) != (
            plan.organization_id,
            plan.object_id,
        ):
            raise JournalError(
                f"{path} is the journal of another restore ({existing.object_type} "
                f"{existing.object_id}): choose another file with --journal"
            )
        return existing

    @classmethod
    def load(cls, path: Path) -> Journal | None:
        """The journal at ``path``, ``None`` if there is no file."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise JournalError(f"cannot read the journal {path}: {exc.strerror or exc}") from None
        try:
            body = json.loads(text)
            if body.get("format") != FORMAT or body.get("version") != VERSION:
                raise ValueError("not a close-tui restore journal")
            return cls(
                path=path,
                organization_id=str(body["organization_id"]),
                object_id=str(body["object_id"]),
                object_type=str(body["object_type"]),
                event_id=str(body["event_id"]),
                lead_id=str(body["lead_id"]),
                created={
                    str(old): Created(str(c["new_id"]), str(c["object_type"]), str(c["at"]))
                    for old, c in body["created"].items()
                },
                pending={str(k): str(v) for k, v in body.get("pending", {}).items()},
                failures={str(k): str(v) for k, v in body.get("failures", {}).items()},
                completed_at=body.get("completed_at"),
                started_at=str(body.get("started_at") or _now()),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise JournalError(
                f"the journal {path} is unreadable ({exc}); it may list objects that were "
                "already created: look at it before you move it away"
            ) from None

    # ------------------------------------------------------------------ state

    @property
    def completed(self) -> bool:
        return self.completed_at is not None

    @property
    def new_lead_id(self) -> str | None:
        """The re-created lead (lead restores), or the lead the object went back to."""
        entry = self.created.get(self.lead_id)
        if entry is not None:
            return entry.new_id
        return self.lead_id if self.object_type != "lead" and self.created else None

    def new_id(self, old_id: str) -> str | None:
        entry = self.created.get(old_id)
        return entry.new_id if entry is not None else None

    def taken_ids(self) -> set[str]:
        return {c.new_id for c in self.created.values()}

    def begin(self, old_id: str, started_at: str) -> None:
        """Mark ``old_id`` as sent (before the request goes out)."""
        self.pending[old_id] = started_at
        self.save()

    def record(self, old_id: str, new_id: str, object_type: str, *, save: bool = True) -> None:
        """``old_id`` exists again as ``new_id`` (after the server said so)."""
        self.created[old_id] = Created(new_id, object_type, _now())
        self.pending.pop(old_id, None)
        self.failures.pop(old_id, None)
        if save:
            self.save()

    def fail(self, old_id: str, reason: str) -> None:
        """The server refused ``old_id`` (nothing was created)."""
        self.failures[old_id] = reason
        self.pending.pop(old_id, None)
        self.save()

    def complete(self) -> None:
        self.completed_at = _now()
        self.save()

    # ------------------------------------------------------------------ writing

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "organization_id": self.organization_id,
            "object_id": self.object_id,
            "object_type": self.object_type,
            "event_id": self.event_id,
            "lead_id": self.lead_id,
            "new_lead_id": self.new_lead_id,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "created": {old: c.to_json() for old, c in self.created.items()},
            "pending": dict(self.pending),
            "failures": dict(self.failures),
        }

    def save(self) -> None:
        """Atomically replace the file: temp file, fsync, rename, fsync the directory."""
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is; not possible on Windows.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def journal_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (POSIX); :class:`JournalError` if busy."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks; run one at a time
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JournalError(
                f"another restore is running with the journal {path} (locked)"
            ) from None
        yield
    finally:
        os.close(fd)
