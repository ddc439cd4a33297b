"""Typed errors of the Close API client.

Callers (the CLI, the UI) react differently to each kind: an :class:`AuthError` sends the
user to the key setup, a :class:`RateLimited` shows when to try again, a
:class:`BadRequest` shows the server's own words. Every error carries the HTTP ``status``
(``None`` when no response arrived) and a one-line ``message``.

Messages are built by the client, which scrubs credentials out of them before raising:
nothing here ever holds the API key or the access token.
"""

from __future__ import annotations

from close_tui.core.ratelimit import RateLimit


class CloseError(Exception):
    """Base of everything the client raises about the API or the network."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"


class InsecureURL(CloseError, ValueError):
    """A base URL that would send credentials in clear text (plain http off loopback),
    or that embeds credentials itself. Raised at construction, before any request."""


class BadRequest(CloseError):
    """``400``: the server refused the query; ``message`` carries its explanation."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 400,
        field_errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.field_errors: dict[str, str] = dict(field_errors or {})


class AuthError(CloseError):
    """``401`` (no or wrong credentials) or ``403`` (credentials lack permission)."""


class NotFound(CloseError):
    """``404``: unknown id, or an event older than the 30 days of history."""


class RateLimited(CloseError):
    """``429`` still answered after every retry; ``rate_limit`` says when it resets."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        rate_limit: RateLimit | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.rate_limit = rate_limit
        self.retry_after = retry_after


class ServerError(CloseError):
    """A ``5xx`` answer, after retries for the transient ones."""


class NetworkError(CloseError):
    """No usable answer: connection refused or reset, DNS, TLS, proxy, timeouts."""


class WriteUncertain(CloseError):
    """A write (a ``POST`` that creates something) whose outcome is unknown: the request
    may have reached the server before the connection failed, the deadline passed or a
    ``5xx`` came back. It is never retried blindly; the caller must look first whether
    the object exists (restore does) before it sends the write again."""


class RequestTimeout(NetworkError):
    """No complete answer (connect, headers and the whole body) within the request's
    deadline: ``--timeout`` bounds one request, however slowly a server drips its body."""


class ProtocolError(CloseError):
    """A response we cannot use: not JSON (truncated, HTML, wrong content type) or JSON
    of the wrong shape."""


class ResponseTooLarge(ProtocolError):
    """A body longer than the client's size cap (``max_body``): reading stopped there, so
    an endless or huge body cannot grow memory without bound. Not retried."""


class ResponseTooDeep(ProtocolError):
    """A JSON body nested deeper than can be read safely (a recursion bomb). Not retried."""


class PagingError(ProtocolError):
    """The event log's paging went wrong in a way that retrying cannot fix: the walk stops
    before it loops or silently ends short. Subclasses say how."""


class RepeatedCursor(PagingError):
    """The server answered a ``cursor_next`` already used in this walk: following it
    would fetch the same pages forever (a repeating or cycling cursor)."""


class NoProgress(PagingError):
    """Many pages in a row brought no event not already returned (empty pages with a
    cursor, or the same events again under fresh cursors)."""


class InconsistentPaging(PagingError):
    """Paging fields missing or contradicting each other: no ``cursor_next`` key at all,
    or ``"has_more": true`` with no cursor. Taking either as "the end" would be a silently
    short export."""


class LocalFileError(CloseError):
    """A local file (config, export state, output) that cannot be read or written; the
    message names the file and the problem. ``path`` is the file."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class ConfigError(LocalFileError):
    """The settings file exists but cannot be used (unreadable, not UTF-8, not JSON, not
    a close-tui config). Nothing is written over it."""


#: The name used in the issue; the same class.
BadResponse = ProtocolError

__all__ = [
    "AuthError",
    "BadRequest",
    "BadResponse",
    "CloseError",
    "ConfigError",
    "InconsistentPaging",
    "InsecureURL",
    "LocalFileError",
    "NetworkError",
    "NoProgress",
    "NotFound",
    "PagingError",
    "ProtocolError",
    "RateLimited",
    "RepeatedCursor",
    "RequestTimeout",
    "ResponseTooDeep",
    "ResponseTooLarge",
    "ServerError",
    "WriteUncertain",
]
