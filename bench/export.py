"""Export benchmark: close-tui's exporter against the official client's cursor loop.

Run: ``/work/venv/bin/python bench/export.py`` (about a minute; ``--skip-100k`` to leave out
the 100k-event memory check, another ~1-2 minutes). Prints one table; no pass/fail.

Setup: the emulator served over loopback HTTP (``serve()``, in a background thread of this
process) with 100 ms latency per request and a limit of 20 requests per 1-second window
per key, the default organization (seed 7), and a fixed ``date_updated`` range holding the
newest ~10,000 events. Each variant runs in its own subprocess and reports its own peak
RSS (``VmHWM`` of ``/proc/self/status``; ``ru_maxrss`` of a child would also count the
pages of this big parent process that the child shared between fork and exec):

* (a) the official ``closeio`` client (``closeio_api.API``): ``api.get('event', params=
  {..., '_cursor': c})`` until ``cursor_next`` is null;
* (b) ``close-tui events --since … --until … -o FILE --format jsonl`` (sequential);
* (c) the same with ``--parallel 8 --max-rate 20``.

Requests and 429s are counted by the server (``Emulator.request_log``); events/s is the
variant's own timing of its export (the CLI's summary line; the loop's wall time for (a)),
without interpreter start-up. Ceilings: the rate limit allows 20 req/s × 50 events =
1,000 events/s; one request at a time allows 1 / 0.1 s = 10 req/s = 500 events/s.

The last rows export ~100k events (a 1,100-lead organization, no latency, no limit) with
close-tui sequential and ``--parallel 4``, to show that memory stays flat.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from close_tui.emulator import Emulator
    from close_tui.emulator.server import RunningServer

TARGET_EVENTS = 10_000
LATENCY_MS = 100.0
RATE_LIMIT = 20
PAGE = 50
CLI = [sys.executable, "-m", "close_tui"]
_SUMMARY = re.compile(r"close-tui: (\d+) events in ([0-9.]+) s")


@dataclass
class Row:
    name: str
    events: int
    seconds: float
    requests: int
    too_many: int
    rss_mb: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def _child_env(key: str, base_url: str, home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSE_")}
    env.update(
        CLOSE_API_KEY=key,
        CLOSE_BASE_URL=base_url,
        HOME=home,
        XDG_CONFIG_HOME=os.path.join(home, "config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    return env


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _run_child(argv: list[str], env: dict[str, str]) -> tuple[dict[str, float], str]:
    """Run one variant; (the JSON it printed last on stdout, its stderr)."""
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"variant failed ({out.returncode}): {' '.join(argv)}\n{out.stderr}")
    report: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return report, out.stderr


def _count(emulator: Emulator, start: int) -> tuple[int, int]:
    log = emulator.request_log[start:]
    return len(log), sum(1 for r in log if r.status == 429)


def run_closeio(running: RunningServer, params: dict[str, str], home: str) -> Row:
    em = running.emulator
    start = len(em.request_log)
    argv = [sys.executable, __file__, "--child-closeio", json.dumps(params)]
    body, _ = _run_child(argv, _child_env(em.admin_key, running.base_url, home))
    requests, too_many = _count(em, start)
    return Row("(a) closeio cursor loop", int(body["events"]), body["seconds"], requests,
               too_many, body["rss_mb"])


def run_cli(
    name: str, running: RunningServer, args: list[str], home: str, out_path: str
) -> Row:
    em = running.emulator
    start = len(em.request_log)
    cli_args = ["events", *args, "-o", out_path, "--format", "jsonl"]
    argv = [sys.executable, __file__, "--child-cli", json.dumps(cli_args)]
    body, stderr = _run_child(argv, _child_env(em.admin_key, running.base_url, home))
    found = _SUMMARY.search(stderr)
    if found is None:
        raise SystemExit(f"no summary line from {name}:\n{stderr}")
    requests, too_many = _count(em, start)
    return Row(name, int(found.group(1)), float(found.group(2)), requests, too_many,
               body["rss_mb"])


def child_cli(args_json: str) -> None:
    """Variants (b) and (c), in their own process: exactly ``close-tui ARGS``."""
    from close_tui.cli import main as cli_main

    code = cli_main(json.loads(args_json))
    if code != 0:
        raise SystemExit(code)
    print(json.dumps({"rss_mb": peak_rss_mb()}))


def child_closeio(params_json: str) -> None:
    """Variant (a), in its own process: the official client's cursor loop."""
    from closeio_api import API

    params = json.loads(params_json)
    api = API(os.environ["CLOSE_BASE_URL"] + "/", api_key=os.environ["CLOSE_API_KEY"])
    sink = open(os.devnull, "w")  # noqa: SIM115 - write like an export would
    count = 0
    cursor = ""
    began = time.perf_counter()
    while True:
        body = api.get("event", params={**params, "_cursor": cursor})
        for event in body["data"]:
            sink.write(json.dumps(event) + "\n")
            count += 1
        cursor = body["cursor_next"]
        if not cursor:
            break
    seconds = time.perf_counter() - began
    print(json.dumps({"events": count, "seconds": seconds, "rss_mb": peak_rss_mb()}))


def _range_for(emulator: Emulator, target: int) -> tuple[str, str, int]:
    events = emulator.events()
    newest = events[0]["date_updated"]
    oldest = events[min(target, len(events)) - 1]["date_updated"]
    count = sum(1 for e in events if oldest <= e["date_updated"] <= newest)
    return oldest, newest, count


def _table(rows: list[Row], notes: dict[str, str]) -> str:
    head = (
        f"| {'variant':<40} | {'events':>7} | {'seconds':>7} | {'events/s':>8} | "
        f"{'requests':>8} | {'429s':>4} | {'peak RSS':>8} | {'notes':<44} |"
    )
    rule = "|" + "|".join("-" * (len(c) - 0) for c in head.split("|")[1:-1]) + "|"
    lines = [head, rule]
    for row in rows:
        lines.append(
            f"| {row.name:<40} | {row.events:>7,} | {row.seconds:>7.2f} | "
            f"{row.events_per_second:>8,.0f} | {row.requests:>8,} | {row.too_many:>4} | "
            f"{row.rss_mb:>5.0f} MB | {notes.get(row.name, ''):<44} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-100k", action="store_true", help="leave out the 100k RSS rows")
    parser.add_argument(
        "--only", default="abc", metavar="VARIANTS",
        help="which of the 10k variants to run, e.g. 'c' (default: abc; ratios need a)",
    )
    parser.add_argument("--child-closeio", metavar="PARAMS", help=argparse.SUPPRESS)
    parser.add_argument("--child-cli", metavar="ARGS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_closeio:
        child_closeio(args.child_closeio)
        return 0
    if args.child_cli:
        child_cli(args.child_cli)
        return 0

    from close_tui.emulator import Emulator, EmulatorConfig
    from close_tui.emulator.server import serve

    rows: list[Row] = []
    notes: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="close-tui-bench-") as home:
        out_path = str(Path(home) / "out.jsonl")
        config = EmulatorConfig(latency_ms=LATENCY_MS, rate_limit=RATE_LIMIT, rate_window=1.0)
        emulator = Emulator(config)
        since, until, expected = _range_for(emulator, TARGET_EVENTS)
        params = {"date_updated__gte": since, "date_updated__lte": until}
        range_args = ["--since", since + "Z", "--until", until + "Z"]
        ceiling = RATE_LIMIT * PAGE
        latency_bound = 1000.0 / LATENCY_MS
        a = b = c = None
        with serve(emulator) as running:
            if "a" in args.only:
                a = run_closeio(running, params, home)
                notes[a.name] = f"{a.requests / a.seconds:.1f} req/s"
                rows.append(a)
                time.sleep(1.1)  # a fresh rate window for the next variant
            if "b" in args.only:
                b = run_cli("(b) close-tui sequential", running, range_args, home, out_path)
                notes[b.name] = (
                    f"{b.requests / b.seconds:.2f} req/s = "
                    f"{b.requests / b.seconds / latency_bound:.1%} of the latency bound"
                )
                rows.append(b)
                time.sleep(1.1)
            if "c" in args.only:
                c = run_cli(
                    "(c) close-tui --parallel 8 --max-rate 20",
                    running,
                    [*range_args, "--parallel", "8", "--max-rate", "20"],
                    home,
                    out_path,
                )
                notes[c.name] = f"{c.events_per_second / ceiling:.1%} of the ceiling"
                if a is not None:
                    notes[c.name] += f"; {c.events_per_second / a.events_per_second:.2f}× (a)"
                rows.append(c)
        for row in rows:
            if row.events != expected:
                notes[row.name] += f" (expected {expected} events!)"

        if not args.skip_100k:
            big = Emulator(EmulatorConfig(n_leads=1100))
            big_since = big.events()[-1]["date_updated"]
            with serve(big) as running:
                for name, extra in (
                    ("100k: close-tui sequential", []),
                    ("100k: close-tui --parallel 4", ["--parallel", "4"]),
                ):
                    row = run_cli(name, running, ["--since", big_since + "Z", *extra], home,
                                  out_path)
                    size = os.path.getsize(out_path) / 2**20
                    notes[name] = f"no latency, no limit; output {size:.0f} MB"
                    rows.append(row)

    print(
        f"Export of {expected:,} events ({since}Z .. {until}Z) from the loopback emulator: "
        f"{LATENCY_MS:.0f} ms latency, {RATE_LIMIT} requests/s per key "
        f"(ceiling {ceiling:,} events/s; latency bound {latency_bound:.0f} req/s)"
    )
    print()
    print(_table(rows, notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
