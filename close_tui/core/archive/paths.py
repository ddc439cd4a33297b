"""Where archives live: one SQLite file per profile in the user data directory.

``platformdirs.user_data_dir("close-tui")/archive/<profile>.sqlite3`` (on Linux
``$XDG_DATA_HOME/close-tui/archive``, default ``~/.local/share/close-tui/archive``). The
file records the organization it holds, so a profile whose key now belongs to another
organization is refused rather than mixed in (see ``sync``).

The directory is created 0700 and every file 0600: an archive holds CRM data (names,
e-mails, notes) that nobody else on the machine should read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

import platformdirs

from close_tui.core.config import APP_NAME, DEFAULT_PROFILE

ARCHIVE_DIRNAME: Final = "archive"
SUFFIX: Final = ".sqlite3"
#: Profile names are free text; only these characters go into a file name unchanged.
_SAFE: Final = re.compile(r"[A-Za-z0-9._-]")


def archive_dir() -> Path:
    """The per-user directory of archives (honours ``XDG_DATA_HOME`` on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / ARCHIVE_DIRNAME


def profile_filename(profile: str | None) -> str:
    """A file name for ``profile`` that no profile name can turn into a path
    (``../x`` or ``a/b`` are escaped, ``.`` alone is not a name)."""
    name = profile or DEFAULT_PROFILE
    safe = "".join(c if _SAFE.fullmatch(c) else f"%{ord(c):02X}" for c in name)
    if safe.strip(".") == "":
        safe = safe.replace(".", "%2E")
    return safe + SUFFIX


def default_archive_path(profile: str | None) -> Path:
    """The archive of ``profile`` (``None``: the default profile)."""
    return archive_dir() / profile_filename(profile)


def ensure_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (and its directory 0700) unless it exists.

    Done before SQLite opens it, so the file is never readable by others, not even for
    the instant between creation and a ``chmod``; SQLite gives its ``-wal`` and ``-shm``
    files the mode of the database file.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, 0o600)  # whatever the umask said
