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
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from close_tui.core.dates import DateParseError, parse_user_datetime
from close_tui.core.filters import FILTER_FIELDS, EventFilter, UnsupportedFilter

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
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


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
    _request_options(events)

    one = sub.add_parser("event", help="print one event's JSON", description="Print one event.")
    _global_options(one, suppress=True)
    one.add_argument("event_id", metavar="EVENT_ID", help="the event id (ev_…)")
    _request_options(one)

    from close_tui import auth_cli

    auth_cli.add_parser(sub, parents_hook=lambda p: _global_options(p, suppress=True))

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
    values: dict[str, Any] = {name: getattr(args, name) or None for name in FILTER_FIELDS}
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
    from close_tui.core.export import open_writer

    fmt = args.format or ("table" if not args.output and sys.stdout.isatty() else "jsonl")
    with _output(args.output) as stream:
        writer = open_writer(fmt, stream)
        try:
            async for event in client.iter_events(flt, max_events=args.max):
                writer.write(event)
            writer.close()
            stream.flush()
        except BrokenPipeError:
            _quiet_broken_pipe()
            return EXIT_OK
    return EXIT_OK


async def _event(args: argparse.Namespace, client: CloseClient) -> int:
    import json

    event = await client.get_event(args.event_id)
    try:
        sys.stdout.write(json.dumps(event.to_api(), indent=2, ensure_ascii=False) + "\n")
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

