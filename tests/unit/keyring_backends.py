"""Keyring backends for tests: the real ``keyring`` API, no OS service, no file.

Never ``keyrings.alt``: it silently stores secrets in plaintext files.
"""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """An in-process keyring backend: real ``keyring`` API, no OS service, no file."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise PasswordDeleteError("No such password!")
        del self.entries[(service, username)]


class BrokenKeyring(KeyringBackend):
    """Every call fails the way a given real backend does."""

    priority = 1

    def __init__(self, error: Exception, *, reads_work: bool = False) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.error = error
        self.reads_work = reads_work

    def get_password(self, service: str, username: str) -> str | None:
        if self.reads_work:
            return None
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error
