"""``close-tui archive sync|status|export`` and ``close-tui events --archive``.

The archive keeps the event log past the API's 30 days in one local SQLite file per
profile (``core/archive``). These commands fill it, describe it, export it to Parquet,
and list it with any combination of the filters, ``--since``/``--until`` over all of its
history and ``--search`` (full text), in every output format ``events`` has.

Exit codes are ``close-tui``'s: 0 done; 2 bad usage (a search with no words, an archive
of another organization); 3 credentials; 4 no archive yet; 1 anything else (another sync
running, the API failing, no pyarrow). Every failure is one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from close_tui.cli import _non_negative_int, _positive_float, _positive_int
from close_tui.core.sanitize import visible

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4

#: Events read per query when listing (the page size is the API's only for the app).
_LIST_PAGE = 500
#: ``events`` options that only mean something against the API.
_API_ONLY = {"parallel": "--parallel", "max_rate": "--max-rate", "state": "--state"}


# --------------------------------------------------------------------------- parsers


def add_events_options(events: argparse.ArgumentParser) -> None:
    """``--archive``, ``--search`` and ``--db`` on ``close-tui events``."""
    events.add_argument(
        "--archive",
        action="store_true",
        help="read the local archive (`close-tui archive sync`) instead of the API: any "
        "combination of filters, --since/--until over all stored history, --search",
    )
    events.add_argument(
        "--search",
        metavar="TEXT",
        help="with --archive: full text over summaries, names and payloads; every word "
        'must match, "quoted words" as a phrase, word* as a prefix',
    )
    _db_option(events)


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the archive file (default: one per profile in the user data directory)",
    )


def add_parser(
    subparsers: argparse._SubParsersAction[Any],
    *,
    parents_hook: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.ArgumentParser:
    """Add ``archive`` (``sync``, ``status``, ``export``) to the main CLI's subparsers.

    ``parents_hook`` adds the main CLI's global options (``--profile``, ``--demo``,
    ``--base-url``) to each action, as ``auth`` does.
    """
    archive: argparse.ArgumentParser = subparsers.add_parser(
        "archive",
        help="keep the event log past 30 days in a local database",
        description=(
            "Keep the event log past the API's 30 days in a local SQLite file (one per "
            "profile, mode 0600: it holds CRM data). List it with `close-tui events "
            "--archive`."
        ),
    )
    actions = archive.add_subparsers(dest="archive_command", metavar="ACTION", required=True)

    sync = actions.add_parser(
        "sync",
        help="fetch what is new (the first time: the API's whole 30 days)",
        description=(
            "Fetch the event log into the archive: the first time the API's whole 30 days, "
            "then from five minutes before the newest event stored, plus any range an "
            "interrupted sync left. Run it at least every 30 days to leave no gap."
        ),
    )
    sync.add_argument(
        "--parallel", type=_positive_int, default=4, metavar="N",
        help="fetch long ranges (the first sync) with N concurrent windows (default: 4)",
    )
    sync.add_argument(
        "--max-rate", type=_positive_float, metavar="R",
        help="at most R requests per second (default: 80%% of the limit the server "
        "announces)",
    )
    sync.add_argument(
        "--no-progress", action="store_true", help="no progress bar on stderr"
    )
    sync.add_argument(
        "--timeout", type=_positive_float, default=30.0, metavar="SECONDS",
        help="give up on one request after this long (default: 30)",
    )
    sync.add_argument(
        "--retries", type=_non_negative_int, default=5, metavar="N",
        help="retry a request this many times on network errors, 5xx and 429 (default: 5)",
    )

    status = actions.add_parser(
        "status",
        help="what the archive holds: events, range, size, last sync, gaps",
        description="Say what the archive holds, when it was last synced, and its gaps.",
    )
    status.add_argument("--json", action="store_true", help="print it as one JSON object")

    export = actions.add_parser(
        "export",
        help="write day-partitioned Parquet (for DuckDB, Spark, BigQuery)",
        description=(
            "Write the archive as Parquet files, one per day of date_updated "
            "(DIR/date=YYYY-MM-DD/events.parquet, Hive-style). Needs pyarrow: "
            "pip install 'close-tui[parquet]'."
        ),
    )
    export.add_argument("--parquet", metavar="DIR", required=True, help="output directory")

    for action in (sync, status, export):
        if parents_hook is not None:
            parents_hook(action)
        _db_option(action)
    return archive


# --------------------------------------------------------------------------- dispatch


def add_app_options(parser: argparse.ArgumentParser) -> None:
    """``close-tui --archive [--db PATH]``: the app on the archive (the main parser's).

    Their own dests (``app_archive``, ``app_db``): a subcommand's ``--archive``/``--db``
    defaults would otherwise overwrite what was given before the subcommand."""
    parser.add_argument(
        "--archive",
        dest="app_archive",
        action="store_true",
        help="open the explorer on the local archive (`close-tui archive sync`) instead "
        "of the API: any filter combination, full-text search, offline; with --demo, the "
        "demo organization's archive (synced first if there is none)",
    )
    parser.add_argument(
        "--db",
        dest="app_db",
        metavar="PATH",
        help="with --archive: the archive file (default: the profile's)",
    )


def check_app_options(args: argparse.Namespace) -> None:
    """``--archive``/``--db`` before a subcommand mean nothing there: say so, don't drop."""
    from close_tui.cli import UsageError

    given = getattr(args, "app_archive", False) or getattr(args, "app_db", None)
    if args.command is not None and given:
        raise UsageError(
            "--archive/--db before a command open the app; for the command give them after "
            "it (e.g. `close-tui events --archive --db PATH`)"
        )
    if getattr(args, "app_db", None) and not getattr(args, "app_archive", False):
        raise UsageError("--db needs --archive (close-tui --archive --db PATH)")


def app_archive_path(args: argparse.Namespace) -> Path:
    """The archive ``close-tui --archive`` opens: ``--db``, else the profile's."""
    return archive_path(argparse.Namespace(
        db=getattr(args, "app_db", None),
        demo=getattr(args, "demo", False),
        profile=getattr(args, "profile", None),
    ))


def sync_demo_archive(args: argparse.Namespace, path: Path) -> None:
    """Fill ``path`` from the emulated organization (``close-tui --demo --archive`` when
    there is no demo archive yet), saying what it does on stderr."""
    print(
        f"close-tui: no demo archive yet: syncing the emulated organization into {path} "
        "(once, about 20 s; `close-tui --demo archive sync` updates it)",
        file=sys.stderr,
    )
    sync_args = argparse.Namespace(
        demo=True, hostile=getattr(args, "hostile", False), profile=None, base_url=None,
        db=str(path), parallel=4, max_rate=None, no_progress=False, timeout=30.0, retries=5,
    )
    asyncio.run(_sync(sync_args))


def wants_archive(args: argparse.Namespace) -> bool:
    """Whether the parsed command is one of ours (``archive …``, ``events --archive``)."""
    if args.command == "archive":
        return True
    return args.command == "events" and bool(
        getattr(args, "archive", False) or getattr(args, "search", None)
    )


def run(args: argparse.Namespace) -> int:
    """Run ``archive …`` or ``events --archive``; returns the exit code."""

    def command() -> int:
        if args.command == "events":
            return _events(args)
        action = args.archive_command
        if action == "sync":
            return asyncio.run(_sync(args))
        if action == "status":
            return _status(args)
        return _export(args)

    return guarded(command)


def guarded(command: Callable[[], int]) -> int:
    """Run ``command``; an archive, search, credential or file failure is one line on
    stderr and its exit code (a usage error goes on to the CLI's own handler)."""
    from close_tui import cli
    from close_tui.cli import UsageError
    from close_tui.core import errors
    from close_tui.core.archive.errors import (
        ArchiveError,
        ArchiveMissing,
        OrganizationMismatch,
    )
    from close_tui.core.archive.text import SearchSyntaxError

    try:
        return command()
    except (SearchSyntaxError, OrganizationMismatch) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except UsageError:
        raise
    except ArchiveMissing as exc:
        return _fail(str(exc), EXIT_NOT_FOUND)
    except ArchiveError as exc:
        return _fail(str(exc), EXIT_ERROR)
    except (cli._AuthProblem, errors.AuthError) as exc:  # no usable key; key refused
        return _fail(str(exc), EXIT_AUTH)
    except errors.CloseError as exc:
        return _fail(str(exc), EXIT_ERROR)
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), EXIT_ERROR)


def _fail(message: str, code: int) -> int:
    print(f"close-tui: {visible(message)}", file=sys.stderr)
    return code


def archive_path(args: argparse.Namespace) -> Path:
    """``--db``, else the profile's archive (``demo`` for ``--demo``)."""
    from close_tui.core.archive.paths import default_archive_path

    db = getattr(args, "db", None)
    if db:
        return Path(db).expanduser()
    profile = "demo" if getattr(args, "demo", False) else getattr(args, "profile", None)
    return default_archive_path(profile)


# --------------------------------------------------------------------------- sync


async def _sync(args: argparse.Namespace) -> int:
    from close_tui.cli import make_client
    from close_tui.core.archive.sync import SyncOptions, SyncWindow, sync_archive
    from close_tui.core.progress import ExportProgress, ProgressLine

    path = archive_path(args)
    options = SyncOptions(parallel=args.parallel, max_rate=args.max_rate)
    client = make_client(args)
    show_progress = not args.no_progress and sys.stderr.isatty()
    progress: ProgressLine | None = None

    def on_window(window: SyncWindow, index: int, total: int) -> None:
        nonlocal progress
        if progress is not None:
            progress.finish()
        what = "recent events" if window.kind == "recent" else "a range a sync left"
        step = f" ({index + 1}/{total})" if total > 1 else ""
        print(
            f"close-tui: fetching {what}{step}: date_updated {_when(window.lo)} → "
            f"{_when(window.hi)}",
            file=sys.stderr,
        )
        if show_progress:
            width = shutil.get_terminal_size((80, 24)).columns
            progress = ProgressLine(sys.stderr, width=width)

    def on_progress(update: ExportProgress) -> None:
        if progress is not None:
            progress.update(update)

    def on_index(pending: int) -> None:
        nonlocal progress
        if progress is not None:
            progress.finish()
            progress = None
        if pending >= 1000:  # a few seconds or more: say what the pause is
            print(f"close-tui: indexing {pending:,} events for search", file=sys.stderr)

    print(f"close-tui: syncing the archive {path}", file=sys.stderr)
    try:
        async with client:
            result = await sync_archive(
                client,
                path,
                options=options,
                on_window=on_window,
                on_progress=on_progress,
                on_index=on_index,
            )
    finally:
        if progress is not None:
            progress.finish()
    for warning in result.warnings:
        print(f"close-tui: warning: {visible(warning)}", file=sys.stderr)
    counts = result.counts
    org = result.organization_name or result.organization_id or "unknown organization"
    print(
        f"close-tui: synced {visible(org)}: {counts.inserted:,} new, {counts.updated:,} "
        f"updated, {counts.unchanged + counts.stale:,} already stored; "
        f"{result.requests:,} requests in {result.elapsed:.1f} s",
        file=sys.stderr,
    )
    return EXIT_OK


def _when(when: datetime | None) -> str:
    if when is None:
        return "-"
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


# --------------------------------------------------------------------------- status


def _status(args: argparse.Namespace) -> int:
    from close_tui.core.archive.store import ArchiveStore
    from close_tui.core.archive.sync import HISTORY

    path = archive_path(args)
    with ArchiveStore(path, readonly=True) as store:
        status = store.status(datetime.now(UTC), HISTORY)
    if args.json:
        print(json.dumps(_status_json(status), indent=1))
        return EXIT_OK
    out = sys.stdout
    org = status.organization_name or "?"
    _line(out, "archive", str(status.path))
    _line(out, "organization", f"{org} ({status.organization_id or 'none yet'})")
    if status.events:
        _line(
            out,
            "events",
            f"{status.events:,}, date_updated {_when(status.oldest)} → {_when(status.newest)}",
        )
    else:
        _line(out, "events", "none")
    per_event = ""
    if status.events:
        per_event = f" ({status.size_bytes / status.events:,.0f} bytes per event)"
    _line(out, "size on disk", f"{_size(status.size_bytes)}{per_event}")
    last = status.last_sync
    if last is None:
        _line(out, "last sync", "never completed")
    else:
        _line(
            out,
            "last sync",
            f"{last.finished or last.started} (local clock), up to server time "
            f"{last.server_time or '?'}; {last.events:,} events stored, {last.requests:,} "
            "requests",
        )
    attempt = status.last_attempt
    if attempt is not None and attempt is not last and attempt.status != "ok":
        detail = f": {attempt.detail}" if attempt.detail else ""
        _line(out, "last attempt", f"{attempt.started} {attempt.status}{detail}")
    covered = ", ".join(f"{_when(lo)} → {_when(hi)}" for lo, hi in status.coverage)
    _line(out, "covered", covered or "nothing yet")
    if not status.gaps:
        _line(out, "gaps", "none")
    for gap in status.gaps:
        why = (
            "no sync within 30 days: events of this period may be missing"
            if gap.lost
            else "not synced yet: the next sync fetches it"
        )
        _line(out, "gap", f"{_when(gap.lo)} → {_when(gap.hi)} ({why})")
    if status.hidden_payloads:
        _line(
            out,
            "hidden payloads",
            f"{status.hidden_payloads:,} events stored without data/previous_data (a "
            "non-admin key saw them after their first hour)",
        )
    if not status.fts:
        _line(out, "search", "unavailable: this Python's SQLite has no FTS5")
    elif status.unindexed:
        _line(out, "search", f"{status.unindexed:,} events not yet searchable (run a sync)")
    return EXIT_OK


def _line(out: TextIO, label: str, value: str) -> None:
    out.write(f"{label + ':':<16}{visible(value)}\n")


def _size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def _status_json(status: Any) -> dict[str, Any]:
    def iso(when: datetime | None) -> str | None:
        return None if when is None else when.astimezone(UTC).isoformat()

    last = status.last_sync
    return {
        "path": str(status.path),
        "organization_id": status.organization_id,
        "organization_name": status.organization_name,
        "events": status.events,
        "oldest": iso(status.oldest),
        "newest": iso(status.newest),
        "size_bytes": status.size_bytes,
        "last_sync": None if last is None else {
            "started": last.started,
            "finished": last.finished,
            "server_time": last.server_time,
            "events": last.events,
            "requests": last.requests,
        },
        "coverage": [[iso(lo), iso(hi)] for lo, hi in status.coverage],
        "gaps": [{"from": iso(g.lo), "to": iso(g.hi), "lost": g.lost} for g in status.gaps],
        "hidden_payloads": status.hidden_payloads,
        "unindexed": status.unindexed,
        "fts": status.fts,
    }


# --------------------------------------------------------------------------- export


def _export(args: argparse.Namespace) -> int:
    from close_tui.core.archive.parquet import export_parquet
    from close_tui.core.archive.store import ArchiveStore

    path = archive_path(args)
    with ArchiveStore(path, readonly=True) as store:
        result = export_parquet(store, Path(args.parquet).expanduser())
    print(
        f"close-tui: wrote {result.events:,} events in {result.files:,} daily files to "
        f"{result.directory}",
        file=sys.stderr,
    )
    return EXIT_OK


# --------------------------------------------------------------------------- events


def archive_filter_from_args(args: argparse.Namespace, *, now: datetime) -> Any:
    """The :class:`ArchiveFilter` the ``events`` flags describe: like the API path's
    filter, but any combination is fine (the archive answers them all)."""
    from close_tui.cli import UsageError, filter_values_from_args
    from close_tui.core.archive.query import ArchiveFilter

    values = filter_values_from_args(args, now=now)
    search = args.search
    if search is not None and not search.strip():
        raise UsageError("--search is empty")
    return ArchiveFilter(**values, search=search or None)


def _events(args: argparse.Namespace) -> int:
    from close_tui.cli import UsageError
    from close_tui.core.archive.query import read_page
    from close_tui.core.archive.source import event_from_raw
    from close_tui.core.archive.store import ArchiveStore
    from close_tui.core.archive.text import fts_query
    from close_tui.core.export import open_writer

    if not args.archive:
        raise UsageError("--search needs --archive: the API has no full-text search")
    for dest, flag in _API_ONLY.items():
        if getattr(args, dest, None):
            raise UsageError(f"{flag} has no meaning with --archive (it reads a local file)")
    flt = archive_filter_from_args(args, now=datetime.now(UTC))
    if flt.search:
        fts_query(flt.search)  # a search with no words is a usage error before any I/O
    path = archive_path(args)
    fmt = args.format or ("table" if not args.output and sys.stdout.isatty() else "jsonl")
    with ArchiveStore(path, readonly=True) as store:
        if flt.search and store.fts and store.unindexed_count():
            print(
                f"close-tui: warning: {store.unindexed_count():,} events are not yet "
                "searchable (a sync was interrupted): run `close-tui archive sync`",
                file=sys.stderr,
            )
        with _output(args.output) as stream:
            writer = open_writer(fmt, stream)
            written = 0
            cursor = None
            try:
                while True:
                    want = _LIST_PAGE if args.max is None else min(_LIST_PAGE, args.max - written)
                    page = read_page(store, flt, cursor, want)
                    for raw in page.raws:
                        writer.write(event_from_raw(raw))
                    written += len(page.raws)
                    cursor = page.cursor
                    if not page.more or (args.max is not None and written >= args.max):
                        break
                writer.close()
                stream.flush()
            except BrokenPipeError:
                _quiet_broken_pipe()
    return EXIT_OK


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8", newline="") as handle:
        yield handle


def _quiet_broken_pipe() -> None:
    # The reader left (`… | head`): stdout to devnull so the final flush stays quiet.
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError):
        os.dup2(devnull, sys.stdout.fileno())
