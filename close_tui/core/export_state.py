"""Where an archive stands between runs: the export state file (``--state``).

An export run records the newest ``date_updated`` it wrote (the *watermark*) and the ids
it wrote within five minutes of it; the next run starts five minutes before the watermark
and drops what it already wrote, so daily runs make a gap-free archive past the API's 30
days. The file is JSON, written atomically (temp file + rename) only after a run
succeeds, and read defensively: any bytes give either a state or one
:class:`StateMismatch` naming the file and the problem.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from close_tui.core.dates import parse_api_datetime, to_api_datetime
from close_tui.core.errors import LocalFileError
from close_tui.core.filters import EventFilter

#: The re-scan the API asks for: late and consolidated events land within five minutes.
OVERLAP: Final = timedelta(minutes=5)
STATE_VERSION: Final = 1
#: A state file is small (ids of five minutes of events); anything far larger is not one.
_MAX_STATE_BYTES: Final = 256 * 1024 * 1024


class StateMismatch(LocalFileError, ValueError):
    """The state file cannot be used: unreadable, not a state file, or written for another
    filter. The message names the file."""

    def __init__(self, message: str, *, path: str = "") -> None:
        LocalFileError.__init__(self, message, path=path)


@dataclass(frozen=True)
class ExportState:
    """Where an archive stands, saved as JSON between runs.

    ``watermark`` is the newest ``date_updated`` exported so far; ``overlap`` maps the id
    of every event exported within :data:`OVERLAP` of it to the ``date_updated`` written,
    so the next run can start five minutes early (catching late events) and still write
    each event once. An id met again with a *newer* ``date_updated`` is a consolidated,
    newer form and is written again.
    """

    filter_params: Mapping[str, str]
    watermark: datetime | None
    overlap: Mapping[str, datetime] = field(default_factory=dict)
    #: The snapshot bound of the run that wrote it (for people reading the file).
    until: datetime | None = None

    @property
    def ids_at_watermark(self) -> frozenset[str]:
        return frozenset(i for i, when in self.overlap.items() if when == self.watermark)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "filter": dict(self.filter_params),
            "watermark": to_api_datetime(self.watermark) if self.watermark else None,
            "ids_at_watermark": sorted(self.ids_at_watermark),
            "overlap": {i: to_api_datetime(w) for i, w in sorted(self.overlap.items())},
            "until": to_api_datetime(self.until) if self.until else None,
        }

    @classmethod
    def from_json(cls, body: Any) -> ExportState:
        try:
            if not isinstance(body, dict) or body.get("version") != STATE_VERSION:
                raise StateMismatch("not a close-tui export state (version 1)")
            raw_filter = body["filter"]
            if not isinstance(raw_filter, dict):
                raise StateMismatch("state file: 'filter' is not an object")
            watermark = body.get("watermark")
            overlap = body.get("overlap") or {}
            until = body.get("until")
            return cls(
                filter_params={str(k): str(v) for k, v in raw_filter.items()},
                watermark=parse_api_datetime(watermark) if watermark else None,
                overlap={str(k): parse_api_datetime(str(v)) for k, v in overlap.items()},
                until=parse_api_datetime(until) if until else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, StateMismatch):
                raise
            raise StateMismatch(f"unreadable state file: {exc}") from None


def state_filter_params(flt: EventFilter) -> dict[str, str]:
    """The part of a filter a state file is tied to: the equality filters, not dates."""
    return flt.without_dates().to_params()


def load_state(path: str | os.PathLike[str], flt: EventFilter) -> ExportState | None:
    """The state saved at ``path`` for ``flt``; ``None`` if there is no file yet.

    :class:`StateMismatch` when the file cannot be read (a directory, no permission,
    invalid UTF-8, not JSON, not a state) or was written for other filters (continuing it
    would leave a gap or mix two archives). The message always names the file.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            raw = handle.read(_MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateMismatch(
            f"cannot read the state file {name}: {exc.strerror or exc}", path=name
        ) from None
    if len(raw) > _MAX_STATE_BYTES:
        raise StateMismatch(f"the state file {name} is far too large to be one", path=name)
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise StateMismatch(
            f"the state file {name} is not UTF-8 text (byte {exc.start}); "
            "use another --state file",
            path=name,
        ) from None
    except (ValueError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise StateMismatch(
            f"the state file {name} is not valid JSON ({detail}); use another --state file",
            path=name,
        ) from None
    try:
        state = ExportState.from_json(body)
    except StateMismatch as exc:
        raise StateMismatch(f"{name}: {exc.message}", path=name) from None
    wanted = state_filter_params(flt)
    if dict(state.filter_params) != wanted:
        raise StateMismatch(
            f"the state file {name!r} was written for other filters "
            f"({state.filter_params or 'none'}); use another --state file",
            path=name,
        )
    return state


def check_state_writable(path: str | os.PathLike[str]) -> None:
    """Make sure the state can be saved at ``path`` when the export ends: its folder
    exists and takes a new file, and ``path`` is not a folder or a special file.

    Checked by creating (and removing) a temporary file beside it, the way
    :func:`save_state` will write, because permission bits say little (root ignores them,
    a read-only mount ignores them the other way). :class:`StateMismatch` names the
    problem; call it before the first request so a long export is not run for nothing.
    """
    name = os.fspath(path)
    target = Path(name)
    if target.is_dir():
        raise StateMismatch(f"the state file {name} is a folder", path=name)
    if target.exists() and not target.is_file():
        raise StateMismatch(f"the state file {name} is not a regular file", path=name)
    folder = target.parent
    if not folder.is_dir():
        raise StateMismatch(
            f"cannot save the state to {name}: the folder {folder} does not exist", path=name
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise StateMismatch(
            f"cannot save the state to {name}: {exc.strerror or exc} (folder {folder})",
            path=name,
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def save_state(path: str | os.PathLike[str], state: ExportState) -> None:
    """Write ``state`` atomically (temp file + rename): a crash never leaves half a file."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state.to_json(), handle, indent=1)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise




def new_state(flt: EventFilter) -> ExportState:
    """The state of an archive that has exported nothing yet."""
    return ExportState(filter_params=state_filter_params(flt), watermark=None)
