"""One sync at a time per archive: an advisory lock on a file next to the database.

SQLite itself keeps concurrent writers from corrupting the file, but two syncs would
still fetch the same pages twice and interleave their coverage bookkeeping. The second
one is refused at once with a line that says who holds the lock, instead of waiting
behind a sync that can take many minutes.

``flock`` locks belong to the open file, so a second lock attempt fails even from the
same process, and the lock goes away with the process however it ends (no stale lock
files to clean up after a crash).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from close_tui.core.archive.errors import ArchiveLocked

try:
    import fcntl
except ImportError:  # Windows: no flock; fall back to an exclusive-create lock file
    fcntl = None  # type: ignore[assignment]


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@contextlib.contextmanager
def sync_lock(db_path: Path) -> Iterator[None]:
    """Hold the archive's sync lock, or raise :class:`ArchiveLocked` at once."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if fcntl is None:
        yield from _exclusive_file_lock(path)
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_holder(fd)
            raise ArchiveLocked(
                f"another archive sync is running on {db_path}{holder}; "
                "let it finish, then run this again"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (process {text})" if text.isdigit() else ""


def _exclusive_file_lock(path: Path) -> Iterator[None]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ArchiveLocked(
            f"another archive sync is running on {path.with_suffix('')} (or one crashed: "
            f"delete {path} if no sync runs)"
        ) from None
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
