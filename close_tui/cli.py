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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from close_tui.core import jsonnum
from close_tui.core.dates import DateParseError, parse_user_datetime
from close_tui.core.errors import CloseError as CloseErrorType
from close_tui.core.filters import FILTER_FIELDS, EventFilter, UnsupportedFilter
from close_tui.core.idroute import check_field_value
from close_tui.core.output import OutputFile, describe_os_error
from close_tui.core.sanitize import visible

if TYPE_CHECKING:
    from close_tui.core.client import CloseClient
    from close_tui.core.export_state import ExportState

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4

FORMATS = ("jsonl", "json", "csv", "table")
EXIT_INTERRUPTED = 130
#: Defaults of the request flags (the client's own, in the CLI's units).
DEFAULT_MAX_RESPONSE_MB = 64.0
DEFAULT_UNANNOUNCED_RATE = 10.0


class UsageError(Exception):
    """Bad arguments: one clear line, exit 2; ``details`` (already made visible) follow
    it one a line, e.g. the leads a name matched."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = tuple(details)


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
    from close_tui import archive_cli

    archive_cli.add_app_options(parser)  # close-tui --archive [--db PATH]
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
    events.add_argument(
        "-o", "--output", metavar="FILE",
        help="write to FILE instead of stdout; FILE is replaced only when the export "
        "succeeds, otherwise what was fetched is kept as FILE.partial",
    )
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
        "holds only the new events. FILE's folder is checked before the first request",
    )
    events.add_argument(
        "--no-progress", action="store_true",
        help="no progress bar on stderr (it is shown only on a terminal anyway)",
    )
    from close_tui import name_cli

    name_cli.add_options(events)  # --lead NAME, --user NAME
    _request_options(events)
    archive_cli.add_events_options(events)

    one = sub.add_parser("event", help="print one event's JSON", description="Print one event.")
    _global_options(one, suppress=True)
    one.add_argument("event_id", metavar="EVENT_ID", help="the event id (ev_…)")
    _request_options(one)

    from close_tui import auth_cli

    auth_cli.add_parser(sub, parents_hook=lambda p: _global_options(p, suppress=True))
    archive_cli.add_parser(sub, parents_hook=lambda p: _global_options(p, suppress=True))

    from close_tui import restore_cli

    restore_cli.add_parser(sub, parents_hook=lambda p: _global_options(p, suppress=True),
                           request_options=_request_options)

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
        help="deadline for one request, from connecting to the last byte of the answer "
        "(default: 30)",
    )
    parser.add_argument(
        "--retries", type=_non_negative_int, default=5, metavar="N",
        help="retry a request this many times on network errors, 5xx and 429 (default: 5)",
    )
    parser.add_argument(
        "--max-response-mb", type=_positive_float, default=DEFAULT_MAX_RESPONSE_MB,
        metavar="MB",
        help="stop reading an answer longer than this; a page of 50 events is far smaller "
        f"(default: {DEFAULT_MAX_RESPONSE_MB:g})",
    )
    parser.add_argument(
        "--unannounced-rate", type=_non_negative_float, default=DEFAULT_UNANNOUNCED_RATE,
        metavar="R",
        help="requests per second while the server sends no RateLimit header "
        f"(default: {DEFAULT_UNANNOUNCED_RATE:g}; 0 = unpaced)",
    )


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    rate = getattr(args, "unannounced_rate", DEFAULT_UNANNOUNCED_RATE)
    megabytes = getattr(args, "max_response_mb", DEFAULT_MAX_RESPONSE_MB)
    return {
        "max_body": max(1, int(megabytes * 1024 * 1024)),
        "unannounced_rate": rate or None,
    }


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
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


def filter_values_from_args(args: argparse.Namespace, *, now: datetime) -> dict[str, Any]:
    """The filter fields and dates the flags give (``EventFilter`` keywords), each id
    checked by its prefix and the dates read; UsageError for an empty or bad value. The
    API path validates the combination on top; the archive takes any."""
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
    return values


def filter_from_args(args: argparse.Namespace, *, now: datetime) -> EventFilter:
    """The EventFilter the flags describe; UsageError for bad dates or combinations."""
    values = filter_values_from_args(args, now=now)
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
    _INTERRUPT.clear()
    try:
        from close_tui import archive_cli

        archive_cli.check_app_options(args)
        if args.command is None:
            return _run_app(args)
        if args.command == "auth":
            from close_tui import auth_cli

            return auth_cli.run(args)
        if args.command == "restore":
            from close_tui import restore_cli

            return restore_cli.run(args)
        if archive_cli.wants_archive(args):
            from close_tui import name_cli

            if name_cli.wants_names(args):  # never drop a filter silently
                raise UsageError(
                    "--lead/--user NAME work against the API only; with --archive give "
                    "--lead-id/--user-id (--search finds names in the archive)"
                )
            return archive_cli.run(args)
        return asyncio.run(_run_headless(args))
    except UsageError as exc:
        _say(f"close-tui: error: {exc}")
        for line in exc.details:
            _say(line)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # One line, once: _events may already have said what was kept.
        if not _INTERRUPT:
            _say("close-tui: interrupted")
        return EXIT_INTERRUPTED
    except RecursionError:
        _say("close-tui: the data is nested too deeply to handle")
        return EXIT_ERROR
    except MemoryError:
        _say("close-tui: out of memory")
        return EXIT_ERROR


#: Set once the interrupt was reported (``_events`` says what it kept), so ``main`` does
#: not add a second line.
_INTERRUPT: set[str] = set()


def _say(line: str) -> None:
    """One line on stderr, control characters made visible; quiet if stderr is gone."""
    with contextlib.suppress(OSError, ValueError):
        print(visible(line), file=sys.stderr, flush=True)


def _run_app(args: argparse.Namespace) -> int:
    from close_tui.ui.launch import launch

    return launch(args)


async def _run_headless(args: argparse.Namespace) -> int:
    from close_tui.core import errors

    try:
        if args.command == "events":
            from close_tui import name_cli

            if name_cli.wants_names(args):  # --lead/--user NAME: found by name first
                _check_local_files(args)  # before the look-ups' requests
                async with make_client(args) as client:
                    await _resolve_names(args, client)
                    flt = filter_from_args(args, now=datetime.now(UTC))
                    return await _events(args, client, flt, _plan_export(args, flt))
            flt = filter_from_args(args, now=datetime.now(UTC))
            plan = _plan_export(args, flt)  # local files checked before any request
            async with make_client(args) as client:
                return await _events(args, client, flt, plan)
        async with make_client(args) as client:
            return await _event(args, client)
    except UsageError:
        raise
    except (_AuthProblem, errors.AuthError) as exc:
        _say(f"close-tui: {exc}")
        return EXIT_AUTH
    except errors.NotFound as exc:
        _say(f"close-tui: {exc}")
        return EXIT_NOT_FOUND
    except errors.BadRequest as exc:
        _say(f"close-tui: the API refused the query: {exc}")
        return EXIT_USAGE
    except errors.ConfigError as exc:
        _say(f"close-tui: {exc}")
        return EXIT_USAGE
    except errors.CloseError as exc:
        _say(f"close-tui: {exc}")
        return EXIT_ERROR
    except _OutputFailed as exc:
        _say(f"close-tui: {exc}")
        return EXIT_ERROR


async def _resolve_names(args: argparse.Namespace, client: CloseClient) -> None:
    from close_tui import name_cli

    try:
        await name_cli.resolve_names(args, client)
    except name_cli.Ambiguous as exc:
        # The usual one-line usage error, then the candidates one a line (each made
        # visible already): a list folded into one line with ␊ marks is unreadable.
        headline, *candidates = str(exc).split("\n")
        raise UsageError(headline, candidates) from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None


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
            client_options=_client_options(args),
        )
    except SessionError as exc:
        if exc.exit_code == EXIT_USAGE:
            raise UsageError(str(exc)) from None
        raise _AuthProblem(str(exc)) from None
    if session.notice:
        _say(f"close-tui: {session.notice}")
    return session.client


class _AuthProblem(Exception):
    """No usable credentials: reported like a 401 (exit 3)."""


class _OutputFailed(Exception):
    """Writing the output failed (a full disk, a closed pipe that is not a pipe): one
    line, exit 1."""


@dataclass
class _ExportPlan:
    """What ``events`` will write, with every local file checked before the first request."""

    fmt: str
    export_mode: bool
    output: OutputFile | None = None
    state: ExportState | None = None


def _plan_export(args: argparse.Namespace, flt: EventFilter) -> _ExportPlan:
    """Check ``--state`` and ``-o`` now: a missing folder or a read-only one must stop the
    run before it fetches anything (it used to surface after the whole export, and the
    state was lost). Problems are usage errors: exit 2, one line naming the file."""
    from close_tui.core.errors import LocalFileError
    from close_tui.core.exporter import (
        StateMismatch,
        check_state_writable,
        load_state,
        new_state,
    )

    fmt = args.format or ("table" if not args.output and _isatty(sys.stdout) else "jsonl")
    plan = _ExportPlan(fmt=fmt, export_mode=bool(args.output or args.parallel or args.state))
    if args.state:
        if args.max:
            raise UsageError("--max cannot be used with --state: the archive would have a gap")
        if args.output and os.path.abspath(args.output) == os.path.abspath(args.state):
            raise UsageError("-o and --state name the same file")
        try:
            plan.state = load_state(args.state, flt) or new_state(flt)
            check_state_writable(args.state)
        except StateMismatch as exc:
            raise UsageError(str(exc)) from None
    if args.output:
        try:
            plan.output = OutputFile(args.output)
        except LocalFileError as exc:
            raise UsageError(str(exc)) from None
    return plan


def _check_local_files(args: argparse.Namespace) -> None:
    """What :func:`_plan_export` checks of ``--state`` and ``-o``, for a run that must
    send requests (name look-ups) before its filter, and so its plan, is known."""
    from close_tui.core.errors import LocalFileError  # StateMismatch is one
    from close_tui.core.export_state import check_state_writable
    from close_tui.core.output import OutputFile

    try:
        if args.state:
            check_state_writable(args.state)
        if args.output:
            OutputFile(args.output).discard()
    except LocalFileError as exc:
        raise UsageError(str(exc)) from None


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


async def _events(
    args: argparse.Namespace, client: CloseClient, flt: EventFilter, plan: _ExportPlan
) -> int:
    """Stream or export events: a snapshot (upper bound fixed at the start), newest first.

    With ``-o``, ``--parallel`` or ``--state`` it is an *export*: the bounds and a summary
    go to stderr, with a progress bar when stderr is a terminal. Without them the output
    is the same stream, and stderr stays quiet (``close-tui events | head``).

    Whatever ends the run early (an API error, a full disk, Ctrl-C) leaves ``-o FILE`` as
    it was, keeps what was fetched in ``FILE.partial``, does not save ``--state``, and
    says all that in one line.
    """
    from close_tui.core.export import open_writer
    from close_tui.core.exporter import ExportBounds, Exporter, ExportOptions, save_state
    from close_tui.core.progress import ProgressLine

    if plan.fmt == "table" and not plan.export_mode:  # for a person: lead and user names
        from close_tui import name_cli

        return await name_cli.table_events(args, client, flt)
    options = ExportOptions(
        parallel=args.parallel or 1, max_rate=args.max_rate, max_events=args.max
    )
    progress = None
    if plan.export_mode and not args.no_progress and _isatty(sys.stderr):
        width = shutil.get_terminal_size((80, 24)).columns
        progress = ProgressLine(sys.stderr, width=width)

    def on_start(bounds: ExportBounds) -> None:
        if plan.export_mode:
            where = f" to {args.output}" if args.output else ""
            _say(f"close-tui: exporting{where}: snapshot {bounds.describe()}")

    output = plan.output
    stream: Any = output.stream if output is not None else sys.stdout
    writer = open_writer(plan.fmt, stream)
    exporter = Exporter(
        client, flt, writer, options=options, state=plan.state, on_start=on_start,
        on_progress=progress.update if progress is not None else None,
    )
    try:
        try:
            result = await exporter.run()
        finally:
            if progress is not None:
                progress.finish()
        writer.close()
        if output is not None:
            output.commit()
        else:
            stream.flush()
    except BrokenPipeError:
        if output is not None:
            output.discard()
        _quiet_broken_pipe()
        return EXIT_OK
    except asyncio.CancelledError:  # Ctrl-C: asyncio.run turns it into KeyboardInterrupt
        _INTERRUPT.add("reported")
        _say(f"close-tui: interrupted: {_kept(exporter.events, plan, output)}; "
             + ("state not saved" if args.state else "nothing more was fetched"))
        raise
    except OSError as exc:
        problem = describe_os_error(exc)
        if output is None:
            _quiet_broken_pipe()
            raise _OutputFailed(
                f"cannot write standard output: {problem}{_state_note(args)}"
            ) from None
        if output.direct:
            output.discard()
            raise _OutputFailed(
                f"cannot write {output.path}: {problem}{_state_note(args)}"
            ) from None
        raise _OutputFailed(
            f"cannot write {output.path}: {problem}; "
            f"{_kept(exporter.events, plan, output)}{_state_note(args)}"
        ) from None
    except Exception as exc:
        if output is not None:
            kept = _kept(exporter.events, plan, output)
            if isinstance(exc, CloseErrorType):
                exc.message = f"{exc.message}; {kept}{_state_note(args)}"
        raise
    for warning in result.warnings:
        _say(f"close-tui: warning: {warning}")
    if args.state and result.state is not None:
        try:
            save_state(args.state, result.state)
        except OSError as exc:
            raise _OutputFailed(
                f"cannot save the state to {args.state}: {describe_os_error(exc)}; the "
                "export itself is complete (the next run will overlap it, not leave a gap)"
            ) from None
    if plan.export_mode:
        rate = result.events / result.elapsed if result.elapsed > 0 else 0.0
        _say(
            f"close-tui: {result.events} events in {result.elapsed:.2f} s ({rate:.0f}/s); "
            f"{result.requests} requests, {result.rate_limited} rate-limited (429)"
            + (f", {result.duplicates} duplicates dropped" if result.duplicates else "")
            + (f"; state saved to {args.state}" if args.state else "")
        )
    return EXIT_OK


def _state_note(args: argparse.Namespace) -> str:
    return "; state not saved" if args.state else ""


def _kept(events: int, plan: _ExportPlan, output: OutputFile | None) -> str:
    """What became of the output: ``FILE`` untouched, ``N events kept in FILE.partial``."""
    if output is None:
        return f"{events} events written"
    if events == 0 and not output.direct:
        output.discard()
        return f"nothing fetched; {output.path} left as it was"
    closing = "\n]\n" if plan.fmt == "json" else ""
    empty = "[]\n" if plan.fmt == "json" else ""
    partial = output.keep_partial(closing, empty)
    if output.direct:
        return f"{events} events written to {output.path} before it stopped"
    if partial is None:
        return f"nothing kept; {output.path} left as it was"
    return f"{events} events kept in {partial}; {output.path} left as it was"


async def _event(args: argparse.Namespace, client: CloseClient) -> int:
    event = await client.get_event(args.event_id)
    text = jsonnum.dumps(event.to_api(), indent=2, ensure_ascii=False) + "\n"
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()
        return EXIT_OK
    except OSError as exc:
        _quiet_broken_pipe()
        raise _OutputFailed(f"cannot write standard output: {describe_os_error(exc)}") from None
    hidden = [name for name in ("data", "previous_data") if event.payload_state(name) == "missing"]
    if hidden:
        # As the app says it: a missing payload is the privacy rule, not an empty object.
        _say(
            f"close-tui: {' and '.join(hidden)} {'are' if len(hidden) > 1 else 'is'} not "
            "included: this key can only read payloads of events younger than one hour "
            "(the API's rule for keys of non-admin users)"
        )
    return EXIT_OK


def _quiet_broken_pipe() -> None:
    # `close-tui events | head`: the reader left (or stdout is a full disk). Point stdout
    # at devnull so the interpreter's final flush does not print an error of its own.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
