"""Where an export's text goes: a file replaced only when the export succeeds.

``close-tui events -o FILE`` used to open ``FILE`` for writing before the first request:
a run that failed at once (a 401) emptied the user's last good export, and an interrupted
``--format json`` left an array without its ``]``. :class:`OutputFile` instead:

* checks the target before anything is fetched (its folder exists, it is not a folder,
  a temporary file can be created beside it) and says what is wrong in one line;
* writes to a temporary file in the same folder and renames it over ``FILE`` only on
  success (:meth:`OutputFile.commit`): the rename is atomic, readers see the old file or
  the new one, never half of one;
* on failure or interrupt (:meth:`OutputFile.keep_partial`) leaves ``FILE`` untouched and
  keeps what was fetched as ``FILE.partial``: whole records only (a write cut short by a
  full disk is trimmed back to the last whole line), and for JSON a closed array.

Targets that are not regular files (``/dev/null``, ``/dev/stdout``, a FIFO) are written
directly: there is nothing to replace atomically, and renaming over a device node would
be a disaster.

Writers (``core.export``) write one whole record per ``write`` call; :class:`RecordStream`
relies on that to know where records end.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Final

from close_tui.core.errors import LocalFileError

#: Bytes gathered before they are written out: large enough that a fast export makes
#: few system calls, small enough that little is held back when it is interrupted.
_CHUNK: Final = 256 * 1024
PARTIAL_SUFFIX: Final = ".partial"


def describe_os_error(exc: OSError) -> str:
    """``No space left on device`` rather than ``[Errno 28] No space left…: 'x'``."""
    return exc.strerror or (errno.errorcode.get(exc.errno or 0) if exc.errno else None) or str(
        exc
    )


class RecordStream:
    """A write-only text stream over a file descriptor that knows where records end.

    Each :meth:`write` is one record. Records are gathered and written in chunks;
    :attr:`durable` is the length of the file up to the end of the last chunk written
    whole, so after a failed write the file can be cut back to whole records.
    """

    def __init__(self, fd: int, *, name: str) -> None:
        self._fd = fd
        self.name = name
        self._pending: list[bytes] = []
        self._pending_size = 0
        #: Bytes of whole records known to be in the file.
        self.durable = 0
        self.records = 0
        self.failed: OSError | None = None
        self.closed = False

    def write(self, text: str) -> int:
        if self.failed is not None:
            raise self.failed
        data = text.encode("utf-8")
        self._pending.append(data)
        self._pending_size += len(data)
        self.records += 1
        if self._pending_size >= _CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self.failed is not None:
            raise self.failed
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._fd, view)
            except OSError as exc:
                self.failed = exc
                raise
            view = view[written:]
        self.durable += len(data)

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._fd)


class OutputFile:
    """The ``-o FILE`` target of one export (see the module's docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.partial_path = path + PARTIAL_SUFFIX
        self._tmp: str | None = None
        target = Path(path)
        if not path or path.endswith(os.sep):
            raise LocalFileError(f"cannot write {path!r}: not a file name", path=path)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise LocalFileError(f"cannot write {path}: {describe_os_error(exc)}",
                                 path=path) from None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise LocalFileError(f"cannot write {path}: it is a folder", path=path)
        #: Written in place (a device, a FIFO): no temporary file, no rename.
        self.direct = info is not None and not stat.S_ISREG(info.st_mode)
        folder = target.parent
        try:
            if self.direct:
                fd = os.open(path, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0))
            else:
                if not folder.is_dir():
                    raise LocalFileError(
                        f"cannot write {path}: the folder {folder} does not exist", path=path
                    )
                fd, self._tmp = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=".tmp", dir=folder
                )
        except OSError as exc:
            raise LocalFileError(
                f"cannot write {path}: {describe_os_error(exc)}", path=path
            ) from None
        self.stream = RecordStream(fd, name=path)

    @property
    def temporary_path(self) -> str | None:
        """Where the text goes until :meth:`commit` (``None`` when written in place)."""
        return self._tmp

    def commit(self) -> None:
        """Flush, sync and move the finished file into place. ``OSError`` if the last
        writes fail (a full disk): then :meth:`keep_partial` still works."""
        self.stream.flush()
        if self._tmp is None:
            self.stream.close()
            return
        os.fsync(self.stream.fileno())
        # A new file is private to its creator (mkstemp: 0600); give it what an ordinary
        # file of this user would get, as `open(path, "w")` used to.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(self.stream.fileno(), 0o666 & ~umask)
        self.stream.close()
        os.replace(self._tmp, self.path)
        self._tmp = None

    def keep_partial(self, closing: str = "", empty_closing: str = "") -> str | None:
        """Keep what was written as ``FILE.partial`` (whole records), with ``closing``
        appended (``"\\n]\\n"`` closes a JSON array; ``empty_closing`` when no record made
        it). ``FILE`` is left as it was. Returns the partial path, or ``None`` when
        nothing could be kept (written in place, or nothing at all)."""
        stream = self.stream
        with contextlib.suppress(OSError):
            stream.flush()
        if self._tmp is None:
            with contextlib.suppress(OSError):
                stream.close()
            return None
        tmp = self._tmp
        self._tmp = None
        try:
            if stream.failed is not None or not stream.closed:
                os.ftruncate(stream.fileno(), stream.durable)
                os.lseek(stream.fileno(), 0, os.SEEK_END)
            tail = closing if stream.durable else empty_closing
            if tail:
                os.write(stream.fileno(), tail.encode("utf-8"))
        except OSError:
            pass  # a full disk: keep the whole records we have, unclosed
        with contextlib.suppress(OSError):
            stream.close()
        try:
            os.replace(tmp, self.partial_path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return None
        return self.partial_path

    def discard(self) -> None:
        """Remove the temporary file (nothing worth keeping)."""
        with contextlib.suppress(OSError):
            self.stream.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None
