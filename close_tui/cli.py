"""The ``close-tui`` command: the TUI by default, plus headless subcommands.

Every subcommand runs on the same core as the app (filters, client, models), so a query
that works in a script works in the app and vice versa. Exit codes are part of the
interface: 0 ok, 2 invalid usage or unsupported filter combination, 3 authentication or
permission, 4 not found, 1 anything else (network, server). No flag ever takes the key.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from close_tui.core import jsonnum
from close_tui.core.dates import DateParseError, parse_user_datetime
from close_tui.core.filters import FILTER_FIELDS, EventFilter, UnsupportedFilter
from close_tui.core.idroute import check_field_value
from close_tui.core.sanitize import visible

if TYPE_CHECKING:
    from close_tui.core.client import CloseClient

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4

FORMATS = ("jsonl", "json", "csv", "table")


class UsageError(Exception):
    """Bad arguments: one clear line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports one clear line and exit 2, never a traceback."""

    def error(self, message: str) -> NoReturn:
        # argparse echoes the offending argument: control characters in it must be
        # shown, not obeyed (and a CR must not split the one error line).
        self.exit(EXIT_USAGE, f"{self.prog}: error: {visible(message)}\n")


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    # Given on the main parser with real defaults, and again on each subcommand with
    # SUPPRESS, so `close-tui --demo events` and `close-tui events --demo` both work.
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--base-url",
        metavar="URL",
        default=default,
        help="API base URL (default: $CLOSE_BASE_URL, the profile's URL, "
        "or https://api.close.com/api/v1)",
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=default,
        help="credential profile whose keyring entry to use (default: $CLOSE_API_KEY, "
        "then profile 'default')",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="run on the built-in emulator of the Close API with a synthetic organization "
        "(no key, no network)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="close-tui",
        description="Explore the Close CRM event log: a terminal app, plus headless commands.",
    )
    _global_options(parser, suppress=False)
    parser.add_argument(
        "--live",
        action="store_true",
        help="with --demo: the emulated organization keeps producing events",
    )
    parser.add_argument(
        "--hostile",
        action="store_true",
        help="with --demo: mix in records made to break terminals (markup, escape "
        "sequences, huge data)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    events = sub.add_parser(
        "events", help="stream events newest first", description="Stream events newest first."
    )
    _global_options(events, suppress=True)
    for name in FILTER_FIELDS:
        flag = "--" + name.replace("_", "-")
        events.add_argument(flag, dest=name, metavar=name.split("_")[0].upper() + "_ID"
                            if name.endswith("_id") else name.upper(),
                            help=f"only events with this {name}")
    events.add_argument(
        "--since",
        metavar="WHEN",
        help="oldest date_updated, inclusive: 2026-11-01, 2026-11-01T14:30 (local), "
        "…Z or an offset, or a span back from now like 90m, 2h, 3d",
    )
    events.add_argument(
        "--until",
        metavar="WHEN",
        help="newest date_updated; a bare date includes that whole day; same forms as --since",
    )
    events.add_argument("--max", type=_positive_int, metavar="N", help="stop after N events")
    events.add_argument(
        "--format",
        choices=FORMATS,
        help="output format (default: table on a terminal, jsonl when piped or with -o)",
    )
    events.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    events.add_argument(
        "--parallel", type=_positive_int, metavar="N",
        help="fetch N date windows concurrently, written in order (default: sequential)",
    )
    events.add_argument(
        "--max-rate", type=_positive_float, metavar="R",
        help="at most R requests per second (default: 80%% of the limit the server "
        "announces in its RateLimit header)",
    )
    events.add_argument(
        "--state", metavar="FILE",
        help="archive mode: start where the run that wrote FILE stopped (5 minutes of "
        "overlap, nothing written twice) and update FILE on success; each run's output "
        "holds only the new events",
    )
    events.add_argument(
        "--no-progress", action="store_true",
        help="no progress bar on stderr (it is shown only on a terminal anyway)",
    )
    _request_options(events)
    from close_tui import archive_cli

    archive_cli.add_events_options(events)

    one = sub.add_parser("event", help="print one event's JSON", description="Print one event.")
    _global_options(one, suppress=True)
    one.add_argument("event_id", metavar="EVENT_ID", help="the event id (ev_…)")
    _request_options(one)

    from close_tui import auth_cli

    auth_cli.add_parser(sub, parents_hook=lambda p: _global_options(p, suppress=True))
    archive_cli.add_parser(sub, parents_hook=lambda p: _global_options(p, suppress=True))

    demo = sub.add_parser(
        "demo-server",
        help="serve the emulated Close API over loopback HTTP",
        description="Serve the emulated Close API on 127.0.0.1 (prints base_url and keys).",
        add_help=False,
    )
    demo.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def _request_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=_positive_float, default=30.0, metavar="SECONDS",
        help="give up on one request after this long (default: 30)",
    )
    parser.add_argument(
        "--retries", type=_non_negative_int, default=5, metavar="N",
        help="retry a request this many times on network errors, 5xx and 429 (default: 5)",
    )


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def filter_from_args(args: argparse.Namespace, *, now: datetime) -> EventFilter:
    """The EventFilter the flags describe; UsageError for bad dates or combinations."""
    given = {name: getattr(args, name) for name in FILTER_FIELDS}
    for name, value in given.items():
        # `--lead-id "$UNSET"` must not silently become "the whole log".
        if value is not None and not value.strip():
            raise UsageError(f"--{name.replace('_', '-')} is empty")
    values: dict[str, Any] = {name: value or None for name, value in given.items()}
    for name in FILTER_FIELDS:
        if values[name] is None:
            continue
        check = check_field_value(
            name, values[name], object_type=values["object_type"], object_id=values["object_id"]
        )
        if check.error:
            raise UsageError(f"--{name.replace('_', '-')}: {check.error}")
    try:
        if args.since:
            since, _ = parse_user_datetime(args.since, now=now, bound="since")
            values["date_updated__gte"] = since
        if args.until:
            until, inclusive = parse_user_datetime(args.until, now=now, bound="until")
            values["date_updated__lte" if inclusive else "date_updated__lt"] = until
    except DateParseError as exc:
        raise UsageError(str(exc)) from None
    flt = EventFilter(**values)
    try:
        return flt.validate()
    except UnsupportedFilter as exc:
        raise UsageError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["demo-server"]:
        from close_tui.emulator.server import main as demo_server_main

        return demo_server_main(args_list[1:])
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        if args.command is None:
            return _run_app(args)
        if args.command == "auth":
            from close_tui import auth_cli

            return auth_cli.run(args)
        from close_tui import archive_cli

        if archive_cli.wants_archive(args):
            return archive_cli.run(args)
        return asyncio.run(_run_headless(args))
    except UsageError as exc:
        print(f"close-tui: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _run_app(args: argparse.Namespace) -> int:
    from close_tui.ui.launch import launch

    return launch(args)


async def _run_headless(args: argparse.Namespace) -> int:
    from close_tui.core import errors

    try:
        if args.command == "events":
            flt = filter_from_args(args, now=datetime.now(UTC))
            async with make_client(args) as client:
                return await _events(args, client, flt)
        async with make_client(args) as client:
            return await _event(args, client)
    except UsageError:
        raise
    except (_AuthProblem, errors.AuthError) as exc:
        print(f"close-tui: {exc}", file=sys.stderr)
        return EXIT_AUTH
    except errors.NotFound as exc:
        print(f"close-tui: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except errors.BadRequest as exc:
        print(f"close-tui: the API refused the query: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except errors.CloseError as exc:
        print(f"close-tui: {exc}", file=sys.stderr)
        return EXIT_ERROR


def make_client(args: argparse.Namespace) -> CloseClient:
    """A client for the key and base URL the flags, environment and profile select."""
    from close_tui.session import SessionError, open_session

    try:
        session = open_session(
            demo=getattr(args, "demo", False),
            hostile=getattr(args, "hostile", False),
            profile=getattr(args, "profile", None),
            base_url=getattr(args, "base_url", None),
            timeout=getattr(args, "timeout", 30.0),
            retries=getattr(args, "retries", None),
        )
    except SessionError as exc:
        if exc.exit_code == EXIT_USAGE:
            raise UsageError(str(exc)) from None
        raise _AuthProblem(str(exc)) from None
    if session.notice:
        print(f"close-tui: {session.notice}", file=sys.stderr)
    return session.client


class _AuthProblem(Exception):
    """No usable credentials: reported like a 401 (exit 3)."""


async def _events(args: argparse.Namespace, client: CloseClient, flt: EventFilter) -> int:
    """Stream or export events: a snapshot (upper bound fixed at the start), newest first.

    With ``-o``, ``--parallel`` or ``--state`` it is an *export*: the bounds and a summary
    go to stderr, with a progress bar when stderr is a terminal. Without them the output
    is the same stream, and stderr stays quiet (``close-tui events | head``).
    """
    from close_tui.core.export import open_writer
    from close_tui.core.exporter import (
        ExportBounds,
        ExportOptions,
        StateMismatch,
        export_events,
        load_state,
        new_state,
        save_state,
    )
    from close_tui.core.progress import ProgressLine

    fmt = args.format or ("table" if not args.output and sys.stdout.isatty() else "jsonl")
    export_mode = bool(args.output or args.parallel or args.state)
    state = None
    if args.state:
        if args.max:
            raise UsageError("--max cannot be used with --state: the archive would have a gap")
        try:
            state = load_state(args.state, flt) or new_state(flt)
        except (StateMismatch, OSError) as exc:
            raise UsageError(str(exc)) from None
    options = ExportOptions(
        parallel=args.parallel or 1, max_rate=args.max_rate, max_events=args.max
    )
    progress = None
    if export_mode and not args.no_progress and sys.stderr.isatty():
        width = shutil.get_terminal_size((80, 24)).columns
        progress = ProgressLine(sys.stderr, width=width)

    def on_start(bounds: ExportBounds) -> None:
        if export_mode:
            where = f" to {args.output}" if args.output else ""
            print(f"close-tui: exporting{where}: snapshot {bounds.describe()}", file=sys.stderr)

    with _output(args.output) as stream:
        writer = open_writer(fmt, stream)
        try:
            result = await export_events(
                client, flt, writer, options=options, state=state, on_start=on_start,
                on_progress=progress.update if progress is not None else None,
            )
            writer.close()
            stream.flush()
        except BrokenPipeError:
            _quiet_broken_pipe()
            return EXIT_OK
        finally:
            if progress is not None:
                progress.finish()
    for warning in result.warnings:
        print(f"close-tui: warning: {warning}", file=sys.stderr)
    if args.state and result.state is not None:
        save_state(args.state, result.state)
    if export_mode:
        rate = result.events / result.elapsed if result.elapsed > 0 else 0.0
        print(
            f"close-tui: {result.events} events in {result.elapsed:.2f} s ({rate:.0f}/s); "
            f"{result.requests} requests, {result.rate_limited} rate-limited (429)"
            + (f", {result.duplicates} duplicates dropped" if result.duplicates else "")
            + (f"; state saved to {args.state}" if args.state else ""),
            file=sys.stderr,
        )
    return EXIT_OK


async def _event(args: argparse.Namespace, client: CloseClient) -> int:

    event = await client.get_event(args.event_id)
    try:
        sys.stdout.write(jsonnum.dumps(event.to_api(), indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()
    return EXIT_OK


@contextlib.contextmanager
def _output(path: str | None) -> Any:
    if path is None:
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8", newline="") as handle:
        yield handle


def _quiet_broken_pipe() -> None:
    # `close-tui events | head`: the reader left. Point stdout at devnull so the
    # interpreter's final flush does not print a BrokenPipeError of its own.
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError):
        os.dup2(devnull, sys.stdout.fileno())

