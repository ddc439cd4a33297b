"""Names in the headless CLI: ``events --lead NAME`` / ``--user NAME``, and names in
``--format table``.

A name is resolved before the events are asked for: leads with the lead finder
(``POST /data/search/``), users among the organization's members, deactivated ones
included. One match (or exactly one whose name is the text, ignoring case) is used;
several print the candidates and exit 2 (a usage problem: say which); none exits 4
(not found). A text that already is an id (``lead_…``, ``user_…``) is used as is.

``--format table`` names the LEAD and USER columns and the custom fields and statuses
of the summaries, looking names up a page at a time within the directory's budget;
JSONL, JSON and CSV stay the raw API objects.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from close_tui.core.directory import Directory, LeadMatch, UserMatch
from close_tui.core.errors import NotFound
from close_tui.core.sanitize import visible

if TYPE_CHECKING:
    from close_tui.core.client import CloseClient
    from close_tui.core.filters import EventFilter

#: Candidates listed when a name is ambiguous.
MAX_CANDIDATES = 10
#: Longest wait for a page's names before its rows are printed with ids.
PAGE_NAME_WAIT = 3.0


class Ambiguous(Exception):
    """Several matches: the message lists them (the CLI exits 2)."""


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--lead NAME`` and ``--user NAME`` on the ``events`` subcommand."""
    parser.add_argument(
        "--lead", metavar="NAME",
        help="only events of the lead with this name (found by name; several matches "
        "list the candidates and exit 2, none exits 4)",
    )
    parser.add_argument(
        "--user", metavar="NAME",
        help="only events of the member with this name or email (deactivated ones too)",
    )


def wants_names(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "lead", None) or getattr(args, "user", None))


async def resolve_names(args: argparse.Namespace, client: CloseClient) -> None:
    """Turn ``--lead``/``--user`` into ``lead_id``/``user_id`` on ``args``.

    Raises :class:`Ambiguous` (several matches), :class:`NotFound` (none) or
    :class:`ValueError` (the flags contradict each other).
    """
    directory = Directory(client, quiet=0.0, max_wait=0.0)
    lead, user = getattr(args, "lead", None), getattr(args, "user", None)
    if lead:
        if getattr(args, "lead_id", None):
            raise ValueError("give --lead or --lead-id, not both")
        args.lead_id = await _resolve_lead(directory, lead.strip())
    if user:
        if getattr(args, "user_id", None):
            raise ValueError("give --user or --user-id, not both")
        args.user_id = await _resolve_user(directory, user.strip())


async def _resolve_lead(directory: Directory, text: str) -> str:
    if text.startswith("lead_"):
        return text
    found = await directory.search_leads(text)
    if not found and directory.finder_note:
        raise NotFound(f"cannot search leads by name: {directory.finder_note}")
    return _pick("lead", text, found or [])


async def _resolve_user(directory: Directory, text: str) -> str:
    if text.startswith("user_"):
        return text
    found = await directory.search_users(text)
    if not found and not directory.members():
        raise NotFound("cannot list the organization's members to find a user by name")
    return _pick("user", text, found)


def _pick(kind: str, text: str, found: Sequence[LeadMatch | UserMatch]) -> str:
    if not found:
        raise NotFound(f"no {kind} matches {visible(text)!r}")
    exact = [m for m in found if m.name.casefold() == text.casefold()]
    if len(found) == 1 or len(exact) == 1:
        return (exact or list(found))[0].id
    lines = [f"--{kind} {visible(text)!r} matches {len(found)} {kind}s; "
             f"give a longer name or --{kind}-id:"]
    for match in found[:MAX_CANDIDATES]:
        status = f"  [{visible(match.status)}]" if match.status else ""
        lines.append(f"  {visible(match.name)}{status}  {match.id}")
    if len(found) > MAX_CANDIDATES:
        lines.append(f"  … and {len(found) - MAX_CANDIDATES} more")
    raise Ambiguous("\n".join(lines))


async def table_events(args: argparse.Namespace, client: CloseClient, flt: EventFilter) -> int:
    """``--format table`` on stdout with names: a page of events, its names looked up
    (within the budget, at most :data:`PAGE_NAME_WAIT` s), then its rows."""
    from close_tui.core.export import TableWriter

    directory = Directory(client, quiet=0.0, max_wait=0.0)
    writer = TableWriter(sys.stdout, names=directory.names())
    pager = client.pager(flt)
    written = 0
    try:
        while not pager.exhausted:
            page = await pager.next_page()
            if args.max is not None:
                page = page[: args.max - written]
            directory.see(page)
            await directory.settle(timeout=PAGE_NAME_WAIT)
            for event in page:
                writer.write(event)
            written += len(page)
            sys.stdout.flush()
            if args.max is not None and written >= args.max:
                break
        writer.close()
    except BrokenPipeError:
        from close_tui.cli import _quiet_broken_pipe

        _quiet_broken_pipe()
    except OSError as exc:  # a full disk or a closed terminal: one line, never a traceback
        from close_tui.cli import _quiet_broken_pipe, _say
        from close_tui.core.output import describe_os_error

        _quiet_broken_pipe()
        _say(f"close-tui: cannot write standard output: {describe_os_error(exc)}")
        return 1
    if directory.limited:
        print("close-tui: names limited: some ids are shown as they are", file=sys.stderr)
    return 0
