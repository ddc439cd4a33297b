"""``close-tui restore``: undo a deletion from the event log, previewed and resumable.

``close-tui restore EVENT_ID`` (a ``deleted`` event) or ``close-tui restore --lead
LEAD_ID`` prints the plan and writes nothing. ``--apply`` re-creates what the plan lists,
with one progress line per object on stderr and the result (the new lead and its link,
and every object that failed, with the reason) on stdout. ``--format json`` prints the
plan or the result as one JSON document for scripts.

Every created object is recorded in a journal (``--journal FILE``; by default one file
per deleted lead in the user data directory), so the same command run again after a
crash, a kill or a 429 storm continues where it stopped and creates nothing twice; a
restore already completed says so.

Exit codes, as elsewhere: 0 done (or a plan printed); 1 the restore could not be done or
something failed (network, refused objects, a merged lead without
``--restore-merged``); 2 usage (bad id, not a deletion event, the lead exists); 3
authentication; 4 not found.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from close_tui.core import jsonnum
from close_tui.core.restore import (
    Journal,
    JournalError,
    PacedClient,
    RestorePlan,
    RestoreProgress,
    RestoreRefused,
    RestoreResult,
    RestoreStopped,
    RestoreUsageError,
    apply_restore,
    default_journal_path,
    plan_restore,
)
from close_tui.core.restore.kinds import count_phrase
from close_tui.core.sanitize import visible

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4

_TYPE_WIDTH = 12


def add_parser(
    subparsers: argparse._SubParsersAction[Any],
    *,
    parents_hook: Callable[[argparse.ArgumentParser], None] | None = None,
    request_options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.ArgumentParser:
    """Add ``restore`` to the main CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "restore",
        help="undo a deletion: show the plan, then re-create with --apply",
        description=(
            "Re-create a deleted lead (with its contacts, opportunities, tasks, notes, "
            "calls and SMS) or one deleted object, from the event log. Without --apply it "
            "prints the plan and writes nothing."
        ),
    )
    if parents_hook is not None:
        parents_hook(parser)
    parser.add_argument(
        "event_id", nargs="?", metavar="EVENT_ID",
        help="the deletion event (ev_…) of a lead or of one object",
    )  # fmt: skip
    parser.add_argument(
        "--lead", metavar="LEAD_ID", help="restore this deleted lead (its latest deletion)"
    )
    parser.add_argument(
        "--apply", action="store_true", help="re-create what the plan lists (default: only show it)"
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text",
        help="print the plan or the result as text (default) or one JSON document",
    )  # fmt: skip
    parser.add_argument(
        "--journal", metavar="FILE",
        help="the journal that makes a rerun continue where a run stopped (default: one "
        "file per deleted lead in the user data directory)",
    )  # fmt: skip
    parser.add_argument(
        "--restore-merged", action="store_true",
        help="restore a lead deleted by a merge anyway (its data lives on in the lead it "
        "was merged into: this makes a second copy)",
    )  # fmt: skip
    if request_options is not None:
        request_options(parser)
    return parser


class _Usage(Exception):
    pass


def _check_args(args: argparse.Namespace) -> tuple[str | None, str | None]:
    event_id: str | None = args.event_id
    lead_id: str | None = args.lead
    if (event_id is None) == (lead_id is None):
        raise _Usage("give a deletion event id (EVENT_ID) or --lead LEAD_ID, not both")
    if event_id is not None and not (event_id.startswith("ev_") and len(event_id) > 3):
        raise _Usage(f"EVENT_ID must be an event id (ev_…), got {visible(event_id)!r}")
    if lead_id is not None and not (lead_id.startswith("lead_") and len(lead_id) > 5):
        raise _Usage(f"--lead must be a lead id (lead_…), got {visible(lead_id)!r}")
    for value in (event_id, lead_id):
        if value is not None and ("/" in value or not value.isprintable()):
            raise _Usage(f"not an id: {visible(value)!r}")
    return event_id, lead_id


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``restore`` command; returns the exit code (never a traceback)."""
    try:
        event_id, lead_id = _check_args(args)
    except _Usage as exc:
        print(f"close-tui: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(_run(args, event_id, lead_id))


async def _run(args: argparse.Namespace, event_id: str | None, lead_id: str | None) -> int:
    from close_tui.cli import UsageError, _AuthProblem, make_client
    from close_tui.core import errors

    try:
        async with make_client(args) as client:
            io = PacedClient(client)
            try:
                return await _restore(args, io, event_id, lead_id)
            finally:
                io.close()
    except UsageError as exc:
        print(f"close-tui: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RestoreUsageError as exc:
        print(f"close-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (_AuthProblem, errors.AuthError) as exc:
        print(f"close-tui: {exc}", file=sys.stderr)
        return EXIT_AUTH
    except errors.NotFound as exc:
        print(f"close-tui: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except RestoreStopped as exc:
        _print_result(exc.result, args.format, sys.stdout, stopped=exc.message)
        print(f"close-tui: {exc.message}", file=sys.stderr)
        cause = exc.__cause__
        return EXIT_AUTH if isinstance(cause, errors.AuthError) else EXIT_ERROR
    except (RestoreRefused, JournalError) as exc:
        print(f"close-tui: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except errors.CloseError as exc:
        print(f"close-tui: {exc}", file=sys.stderr)
        return EXIT_ERROR


async def _restore(
    args: argparse.Namespace, io: PacedClient, event_id: str | None, lead_id: str | None
) -> int:
    plan = await plan_restore(io, event_id=event_id, lead_id=lead_id)
    journal_path = Path(args.journal) if args.journal else default_journal_path(plan)
    journal = Journal.load(journal_path)
    if journal is not None and journal.object_id != plan.object_id:
        raise JournalError(
            f"{journal_path} is the journal of another restore ({journal.object_type} "
            f"{journal.object_id}): choose another file with --journal"
        )
    if not args.apply:
        if args.format == "json":
            body = plan.to_json()
            body["journal"] = _journal_json(journal_path, journal)
            _write_json(body, sys.stdout)
        else:
            sys.stdout.write(render_plan(plan, journal_path, journal, dry_run=True))
        return EXIT_OK
    if not plan.can_apply:
        if args.format == "text":
            sys.stdout.write(render_plan(plan, journal_path, journal, dry_run=False))
        reason = "; ".join(plan.blockers) or "the plan re-creates nothing"
        print(f"close-tui: nothing can be restored: {visible(reason)}", file=sys.stderr)
        return EXIT_ERROR
    if plan.merged and not args.restore_merged:
        print(
            f"close-tui: lead {plan.lead_id} was merged into {plan.merge_destination_lead_id}"
            f" ({visible(plan.merge_destination_name or '')}): its data lives on there, so it "
            "is not restored by default. Look at the destination lead, or pass "
            "--restore-merged to make a second copy anyway.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    print(f"close-tui: restoring {plan.summary()} (journal {journal_path})", file=sys.stderr)
    result = await apply_restore(
        io, plan, journal_path=journal_path, allow_merged=args.restore_merged,
        on_progress=_progress_printer(sys.stderr),
    )  # fmt: skip
    _print_result(result, args.format, sys.stdout, plan=plan)
    if result.already_complete or result.ok:
        return EXIT_OK
    return EXIT_ERROR


# --------------------------------------------------------------------------- output


def _write_json(body: Any, stream: TextIO) -> None:
    stream.write(jsonnum.dumps(body, indent=2, ensure_ascii=False) + "\n")


def _journal_json(path: Path, journal: Journal | None) -> dict[str, Any]:
    return {
        "path": str(path),
        "exists": journal is not None,
        "created": len(journal.created) if journal else 0,
        "pending": len(journal.pending) if journal else 0,
        "completed_at": journal.completed_at if journal else None,
        "new_lead_id": journal.new_lead_id if journal else None,
    }


def _q(text: str) -> str:
    """Untrusted text on one line, control characters shown, quoted."""
    return '"' + visible(text) + '"'


def render_plan(
    plan: RestorePlan, journal_path: Path, journal: Journal | None, *, dry_run: bool
) -> str:
    """The plan as the CLI prints it (every name from the API made visible)."""
    lines: list[str] = []
    what = "lead" if plan.scope == "lead" else plan.object_type
    head = f"Restore plan: {what} {plan.object_id}"
    if plan.scope == "lead":
        head += f" {_q(plan.lead_name)}"
    else:
        head += f" on lead {_q(plan.lead_name)} ({plan.lead_id})"
    lines += [head, f"  Deletion event: {plan.event_id}",
              f"  How: {visible(plan.origin.describe())}", ""]  # fmt: skip
    if plan.blockers:
        lines.append("Nothing can be restored:")
        lines += [f"  - {visible(b)}" for b in plan.blockers]
        lines.append("")
    if plan.items:
        lines.append(f"Will be re-created: {plan.summary()}")
        for item in plan.items:
            kind = item.object_type.removeprefix("activity.").removesuffix(".lead")
            extra = " (inside the lead's payload)" if item.embedded else ""
            lines.append(f"  {kind:<{_TYPE_WIDTH}} {_q(item.label)}{extra}")
            lines += [f"  {'':<{_TYPE_WIDTH}}   - {visible(n)}" for n in item.notes]
        lines.append("")
    lines.append("Cannot be restored:")
    by_reason: dict[str, list[str]] = {}
    for lost in plan.cannot:
        by_reason.setdefault(lost.reason, []).append(lost.label)
    for reason, labels in by_reason.items():
        shown = ", ".join(_q(label) for label in labels[:3])
        more = f" and {len(labels) - 3} more" if len(labels) > 3 else ""
        lines.append(f"  - {len(labels)}× {visible(reason)}: {shown}{more}")
    lines.append(f"  - {plan.always_lost}")
    lines.append("")
    if plan.earlier:
        lines.append(f"Deleted earlier, on their own (not part of this deletion): "
                     f"{len(plan.earlier)}")  # fmt: skip
        for lost in plan.earlier[:5]:
            kind = lost.object_type.removeprefix("activity.")
            lines.append(f"  {kind:<{_TYPE_WIDTH}} {_q(lost.label)} ({lost.event_id})")
        if len(plan.earlier) > 5:
            lines.append(f"  … and {len(plan.earlier) - 5} more")
        lines.append("")
    if plan.warnings:
        lines.append("Warnings:")
        lines += [f"  ! {visible(w.message)}" for w in plan.warnings]
        lines.append("")
    if journal is not None and journal.completed:
        lines.append(f"Journal {journal_path}: this restore was completed on "
                     f"{journal.completed_at} (lead {journal.new_lead_id}).")  # fmt: skip
    elif journal is not None:
        lines.append(f"Journal {journal_path}: {len(journal.created)} of {len(plan.items)} "
                     "already created; --apply continues from there.")  # fmt: skip
    else:
        lines.append(f"Journal: {journal_path} (not started)")
    if dry_run:
        if plan.merged:
            lines.append("Dry run: nothing was written. This lead is not restored by default "
                         f"(merged into {plan.merge_destination_lead_id}); --apply "
                         "--restore-merged would make a second copy.")  # fmt: skip
        elif plan.can_apply:
            lines.append("Dry run: nothing was written. Run again with --apply to restore.")
        else:
            lines.append("Dry run: nothing was written.")
    return "\n".join(lines) + "\n"


def _progress_printer(stream: TextIO) -> Callable[[RestoreProgress], None]:
    def show(step: RestoreProgress) -> None:
        if step.item is None or step.status == "checking":
            if step.message and step.item is not None:
                kind = step.item.object_type
                print(f"close-tui: {kind} {_q(step.item.label)}: {step.message}", file=stream)
            return
        item = step.item
        where = f"[{step.done}/{step.total}]"
        what = f"{item.object_type} {_q(item.label)}"
        if step.status == "failed":
            print(f"close-tui: {where} FAILED {what}: {visible(step.message)}", file=stream)
        else:
            verb = {"created": "created", "found": "found (made by an earlier try)",
                    "already": "already created"}[step.status]  # fmt: skip
            print(f"close-tui: {where} {verb} {what} -> {step.new_id}", file=stream)
        stream.flush()

    return show


def _print_result(
    result: RestoreResult,
    fmt: str,
    stream: TextIO,
    *,
    plan: RestorePlan | None = None,
    stopped: str | None = None,
) -> None:
    if fmt == "json":
        body = result.to_json()
        if stopped:
            body["stopped"] = stopped
        _write_json(body, stream)
        return
    lines: list[str] = []
    lead = result.new_lead_id
    if result.already_complete:
        lines.append(f"This restore was already completed on {result.completed_at}: "
                     f"lead {lead}. Nothing to do.")  # fmt: skip
    elif stopped:
        lines.append("The restore stopped before its end (nothing was created twice):")
    elif result.ok:
        lines.append("Restored." if plan is None or plan.scope == "lead"
                     else f"Restored the {plan.object_type} on its lead.")  # fmt: skip
    else:
        lines.append("Restored, except what failed below:")
    if lead:
        lines.append(f"  Lead: {lead}  {result.new_lead_url}")
    if not result.already_complete:
        lines.append(
            f"  {count_phrase(result.created, 'objects')} created now, "
            f"{result.already} before, {result.found} found after an unknown outcome; "
            f"{result.writes} write requests"
        )
    lines.append(f"  Journal: {result.journal_path}")
    if result.failures:
        lines.append(f"Failed ({len(result.failures)}):")
        for failure in result.failures:
            lines.append(f"  - {failure.object_type} {_q(failure.label)} ({failure.old_id}): "
                         f"{visible(failure.reason)}")  # fmt: skip
    for note in result.notes:
        lines.append(f"  note: {visible(note)}")
    stream.write("\n".join(lines) + "\n")
