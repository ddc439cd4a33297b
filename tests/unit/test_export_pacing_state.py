"""The export's pacer, its archive state and its progress line, with fake clocks."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_export_engine import NOW, Sink, client_for, make_world

from close_tui.core.dates import parse_api_datetime, to_api_datetime
from close_tui.core.exporter import (
    OVERLAP,
    ExportOptions,
    ExportState,
    Pacer,
    StateMismatch,
    export_events,
    load_state,
    new_state,
    save_state,
)
from close_tui.core.filters import EventFilter
from close_tui.core.progress import ExportProgress, ProgressLine, format_progress
from close_tui.core.ratelimit import RateLimit


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _send_times(pacer: Pacer, t: FakeTime, n: int, answer: Any = None) -> list[float]:
    async def go() -> list[float]:
        times = []
        for _ in range(n):
            ticket = await pacer.acquire()
            times.append(t.now)
            pacer.release(ticket, answer(t) if answer else None)
        return times

    return asyncio.run(go())


def test_the_token_bucket_spreads_requests_at_max_rate() -> None:
    t = FakeTime()
    pacer = Pacer(10.0, monotonic=t.monotonic, sleep=t.sleep)
    times = _send_times(pacer, t, 30)
    # one every 100 ms (the bucket starts with one token; it can save up to four)
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    assert gaps[-10:] == [0.1] * 10
    assert times[-1] - times[0] == pytest.approx(2.9, abs=0.01)


def test_without_max_rate_the_pace_is_80_percent_of_the_announced_limit() -> None:
    t = FakeTime()
    pacer = Pacer(None, monotonic=t.monotonic, sleep=t.sleep)
    assert pacer.rate is None  # nothing announced yet: unpaced
    pacer.observe(RateLimit(limit=20, remaining=19, reset=1.0, observed_at=t.now))
    assert pacer.rate == pytest.approx(16.0)


def test_an_exhausted_window_waits_for_its_reset() -> None:
    t = FakeTime()
    pacer = Pacer(1000.0, monotonic=t.monotonic, sleep=t.sleep)
    window_end = t.now + 0.6

    def answer(tt: FakeTime) -> RateLimit:
        # a fixed window of 5 requests ending at window_end, then a fresh one
        used = sum(1 for s in sends if s < window_end) if tt.now < window_end else 0
        return RateLimit(limit=5, remaining=max(0, 5 - used), reset=max(0.0, window_end - tt.now),
                         observed_at=tt.now)

    sends: list[float] = []

    async def go() -> None:
        for _ in range(7):
            ticket = await pacer.acquire()
            sends.append(t.now)
            t.now += 0.001
            pacer.release(ticket, answer(t))

    asyncio.run(go())
    before = [s for s in sends if s < window_end]
    assert len(before) == 5  # the 6th waited for the reset
    assert sends[5] >= window_end


def test_requests_still_in_flight_count_against_the_window() -> None:
    t = FakeTime()
    pacer = Pacer(1000.0, monotonic=t.monotonic, sleep=t.sleep)

    async def go() -> float:
        first = await pacer.acquire()
        others = [await pacer.acquire() for _ in range(3)]  # in flight, not yet counted
        pacer.release(first, RateLimit(limit=5, remaining=4, reset=0.5, observed_at=t.now))
        start = t.now
        await pacer.acquire()  # budget 4 - 3 uncounted = 1: goes at once
        assert t.now - start < 0.1
        await pacer.acquire()  # budget spent: waits for the reset
        for ticket in others:
            pacer.release(ticket, None)
        return t.now - start

    assert asyncio.run(go()) >= 0.5


def test_a_429_pauses_everybody_until_the_reset() -> None:
    t = FakeTime()
    pacer = Pacer(1000.0, monotonic=t.monotonic, sleep=t.sleep)

    async def go() -> float:
        await pacer.acquire()
        pacer.pause(0.7)
        start = t.now
        await pacer.acquire()
        return t.now - start

    assert asyncio.run(go()) >= 0.7


# ---------------------------------------------------------------------------- state


def test_state_round_trips_and_refuses_other_filters(tmp_path: Path) -> None:
    flt = EventFilter(lead_id="lead_abc")
    when = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    state = ExportState(
        filter_params={"lead_id": "lead_abc"},
        watermark=when,
        overlap={"ev_1": when, "ev_2": when - timedelta(minutes=1)},
        until=when + timedelta(minutes=3),
    )
    path = tmp_path / "state.json"
    save_state(path, state)
    body = json.loads(path.read_text())
    assert body["watermark"] == "2026-11-20T11:00:00.000000"
    assert body["ids_at_watermark"] == ["ev_1"]
    assert load_state(path, flt) == state
    assert load_state(tmp_path / "missing.json", flt) is None
    with pytest.raises(StateMismatch, match="other filters"):
        load_state(path, EventFilter(user_id="user_x"))
    path.write_text("{not json")
    with pytest.raises(StateMismatch):
        load_state(path, flt)
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_daily_runs_with_state_make_a_gap_free_archive_without_repeats() -> None:
    em, vt = make_world(n_leads=30, n_users=6, live=True)
    flt = EventFilter()
    outputs: list[list[dict[str, Any]]] = []
    state = new_state(flt)

    async def one_run(state: ExportState) -> ExportState:
        sink = Sink()
        async with client_for(em, vt) as client:
            result = await export_events(
                client, flt, sink, options=ExportOptions(parallel=2), state=state,
                monotonic=vt.monotonic, sleep=vt.sleep,
            )
        outputs.append(sink.events)
        assert result.state is not None
        return result.state

    for run in range(4):
        if run:
            vt.clock.advance(20 * 60)  # the next run, later: new, late, consolidated events
        state = asyncio.run(one_run(state))

    final_truth = em.expected({"date_updated__lte": to_api_datetime(state.until or NOW)})
    archived: dict[str, dict[str, Any]] = {}
    seen_pairs: set[tuple[str, str]] = set()
    for output in outputs:
        for event in output:
            pair = (event["id"], event["date_updated"])
            assert pair not in seen_pairs  # never the same form twice
            seen_pairs.add(pair)
            old = archived.get(event["id"])
            if old is None or event["date_updated"] > old["date_updated"]:
                archived[event["id"]] = event
    assert len(outputs[1]) > 0 and len(outputs[1]) < len(outputs[0])
    # Nothing the server shows now is missing from the archive, in its newest form.
    for event in final_truth:
        assert archived[event["id"]] == event
    assert state.watermark == max(parse_api_datetime(e["date_updated"]) for e in final_truth)
    assert all(when >= state.watermark - OVERLAP for when in state.overlap.values())


def test_state_watermark_older_than_history_warns() -> None:
    em, vt = make_world(n_leads=30, n_users=6)
    old = ExportState(filter_params={}, watermark=NOW - timedelta(days=40))

    async def go() -> Any:
        async with client_for(em, vt) as client:
            return await export_events(
                client, EventFilter(), Sink(), state=old, monotonic=vt.monotonic,
                sleep=vt.sleep,
            )

    result = asyncio.run(go())
    assert result.warnings and "30-day history" in result.warnings[0]
    assert result.events == len(em.expected({}))


# ---------------------------------------------------------------------------- progress


def _progress(**kw: Any) -> ExportProgress:
    values: dict[str, Any] = dict(events=5000, pages=100, requests=104, rate_limited=2,
                                  elapsed=10.0, covered=0.5, windows_done=3, windows_total=8)
    values.update(kw)
    return ExportProgress(**values)


def test_progress_text_has_share_eta_counts_and_rate() -> None:
    text = format_progress(_progress(), width=120)
    assert text.startswith("[")
    for needle in ("50%", "~10s left", "5,000 events", "100 pages", "10.4 req/s", "2 × 429",
                   "windows 3/8"):
        assert needle in text
    assert len(format_progress(_progress(), width=40)) < 40
    assert "done" in format_progress(_progress(done=True, covered=1.0))
    assert _progress(covered=0.0).seconds_left is None


def test_progress_line_rewrites_one_line_and_throttles() -> None:
    stream = io.StringIO()
    now = [0.0]
    line = ProgressLine(stream, width=100, monotonic=lambda: now[0])
    line.update(_progress(events=1))
    line.update(_progress(events=2))  # too soon: skipped
    now[0] = 0.5
    line.update(_progress(events=3))
    line.finish(_progress(events=4, done=True))
    out = stream.getvalue()
    assert out.count("\r") == 3 and out.endswith("\n")
    assert " 2 events" not in out and "4 events" in out
