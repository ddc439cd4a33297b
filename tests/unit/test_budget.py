"""RequestBudget: the share of the announced rate limit that name look-ups may use."""

from __future__ import annotations

import pytest

from close_tui.core.budget import FALLBACK_RATE, RequestBudget
from close_tui.core.ratelimit import RateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def rate(limit: int, remaining: int, reset: float, at: float) -> RateLimit:
    return RateLimit(limit=limit, remaining=remaining, reset=reset, observed_at=at)


def test_ten_percent_of_the_announced_limit_per_window() -> None:
    clock = Clock()
    budget = RequestBudget(0.10, monotonic=clock)
    budget.observe("events", rate(20, 19, 1.0, clock.now))
    assert budget.quota("other") == 2  # the event group's limit stands in
    assert budget.wait_time("other") == 0.0
    budget.spend("other")
    budget.spend("other")
    # Two sent in this window: the third waits until the first leaves the window.
    assert budget.wait_time("other") == pytest.approx(1.0)
    clock.now += 0.5
    assert budget.wait_time("other") == pytest.approx(0.5)
    clock.now += 0.5
    assert budget.wait_time("other") == 0.0


def test_a_small_limit_allows_one_look_up_every_few_windows() -> None:
    """5 per window at 10 %: half a look-up per window, so one every two windows (one
    per window would be 20 % of the limit)."""
    clock = Clock()
    budget = RequestBudget(0.10, monotonic=clock)
    budget.observe("search", rate(5, 5, 1.0, clock.now))
    assert budget.quota("search") == 1
    assert budget.wait_time("search") == 0.0
    budget.spend("search")
    clock.now += 1.0  # the next window: still waiting
    assert budget.wait_time("search") == pytest.approx(1.0)
    clock.now += 1.0
    assert budget.wait_time("search") == 0.0


def test_the_servers_count_holds_lookups_when_others_used_the_group() -> None:
    """A group shared with events (or another integration): what the server counted
    in this window counts, so look-ups wait for the next window."""
    clock = Clock()
    budget = RequestBudget(0.10, monotonic=clock)
    budget.observe("other", rate(20, 15, 0.6, clock.now))  # 5 used by someone else
    assert budget.wait_time("other") == pytest.approx(0.6)
    clock.now += 0.6  # a new window: the old count no longer holds
    assert budget.wait_time("other") == 0.0


def test_lookups_leave_the_event_queries_their_headroom() -> None:
    clock = Clock()
    budget = RequestBudget(0.10, monotonic=clock)
    budget.observe("other", rate(20, 20, 1.0, clock.now))
    budget.observe("events", rate(20, 2, 0.3, clock.now))  # events nearly out
    assert budget.wait_time("other") == pytest.approx(0.3)
    budget.observe("events", rate(20, 3, 0.3, clock.now))
    assert budget.wait_time("other") == 0.0


def test_without_any_header_lookups_go_at_the_fallback_rate() -> None:
    clock = Clock()
    budget = RequestBudget(0.10, monotonic=clock)
    assert budget.quota("other") is None
    assert budget.wait_time("other") == 0.0
    budget.spend("other")
    assert budget.wait_time("other") == pytest.approx(1.0 / FALLBACK_RATE)


def test_a_429_blocks_the_group_for_what_it_said() -> None:
    clock = Clock()
    budget = RequestBudget(0.10, monotonic=clock)
    budget.rate_limited("search", 2.5)
    assert budget.wait_time("search") == pytest.approx(2.5)
    assert budget.wait_time("other") == 0.0


def test_the_window_is_the_longest_reset_seen() -> None:
    clock = Clock()
    budget = RequestBudget(0.5, monotonic=clock)
    budget.observe("other", rate(10, 10, 10.0, clock.now))
    for _ in range(5):
        budget.spend("other")
    clock.now += 0.1
    budget.observe("other", rate(10, 5, 9.9, clock.now))
    assert budget.wait_time("other") == pytest.approx(9.9)


def test_exhausted_for_and_share_bounds() -> None:
    clock = Clock()
    budget = RequestBudget(monotonic=clock)
    budget.observe("search", rate(2, 0, 0.4, clock.now))
    assert budget.exhausted_for("search") == pytest.approx(0.4)
    with pytest.raises(ValueError):
        RequestBudget(0.0)
