"""The upstream profile's limiter: sliding windows, Retry-After, and the block of a client
that ignores it (on a clock the test moves)."""

from __future__ import annotations

import pytest

from harness.upstream.limits import Limiter, Verdict
from harness.upstream.profiles import FAST, WAYBACK, Blocking, RateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock, blocking: Blocking | None = WAYBACK.blocking) -> Limiter:
    return Limiter({"cdx": RateLimit(30), "web": RateLimit(600)}, blocking, clock)


def test_the_thirty_first_cdx_request_of_a_minute_gets_429_with_retry_after() -> None:
    clock = Clock()
    limits = limiter(clock)
    for _ in range(30):
        assert limits.decide("10.0.0.1", "cdx").verdict is Verdict.ADMIT
        clock.now += 1.0
    over = limits.decide("10.0.0.1", "cdx")
    assert over.verdict is Verdict.LIMITED
    # The first request leaves the window 60 s after it came, 30 s from now.
    assert over.retry_after_s == 30
    # Another client, and the other route, have windows of their own.
    assert limits.decide("10.0.0.2", "cdx").verdict is Verdict.ADMIT
    assert limits.decide("10.0.0.1", "web").verdict is Verdict.ADMIT
    clock.now += 30.0
    assert limits.decide("10.0.0.1", "cdx").verdict is Verdict.ADMIT
    assert limits.counts["cdx 429"] == 1


def hammer(limits: Limiter, clock: Clock, seconds: float, step_s: float = 0.5) -> list[Verdict]:
    verdicts = []
    end = clock.now + seconds
    while clock.now < end:
        verdicts.append(limits.decide("10.0.0.1", "cdx").verdict)
        clock.now += step_s
    return verdicts


def test_a_client_that_ignores_429s_for_more_than_a_minute_is_refused_for_an_hour() -> None:
    clock = Clock()
    limits = limiter(clock)
    verdicts = hammer(limits, clock, 120.0)
    refused_at = verdicts.index(Verdict.REFUSED)
    # Blocked once it had been coming back early for just over a minute: 30 requests at
    # 2/s fill the window, the 429 comes at 15 s, the first early return at 15.5 s.
    assert 60.0 < refused_at * 0.5 - 15.5 <= 61.0
    assert set(verdicts[refused_at:]) == {Verdict.REFUSED}
    clock.now += 3600.0 - (len(verdicts) - refused_at) * 0.5 - 1.0
    assert limits.decide("10.0.0.1", "web").verdict is Verdict.REFUSED
    clock.now += 2.0
    assert limits.decide("10.0.0.1", "web").verdict is Verdict.ADMIT
    assert limits.counts["blocks"] == 1


def test_the_second_block_lasts_twice_as_long() -> None:
    clock = Clock()
    limits = limiter(clock, Blocking(ignored_for_s=60.0, block_s=100.0))
    hammer(limits, clock, 120.0)
    clock.now += 100.0
    verdicts = hammer(limits, clock, 200.0)
    assert limits.counts["blocks"] == 2
    assert verdicts.count(Verdict.REFUSED) * 0.5 >= 200.0 - 90.0


def test_a_client_that_honours_retry_after_is_never_refused() -> None:
    clock = Clock()
    limits = limiter(clock)
    for _ in range(2000):
        decision = limits.decide("10.0.0.1", "cdx")
        assert decision.verdict is not Verdict.REFUSED
        clock.now += decision.retry_after_s if decision.verdict is Verdict.LIMITED else 0.5
    assert limits.counts["cdx 429"] > 0
    assert limits.counts["cdx early"] == 0


@pytest.mark.parametrize("blocking", [None, Blocking(ignored_for_s=1e9, block_s=1.0)])
def test_without_blocking_the_same_hammering_is_only_limited(blocking: Blocking | None) -> None:
    """The check above fails against a limiter that never blocks."""
    clock = Clock()
    verdicts = hammer(limiter(clock, blocking), clock, 120.0)
    assert Verdict.REFUSED not in verdicts


def test_the_time_factor_compresses_every_time_and_keeps_every_count() -> None:
    scaled = WAYBACK.scaled(10.0)
    assert scaled.cdx_limit == RateLimit(30, 6.0)
    assert scaled.memento_limit == RateLimit(600, 6.0)
    assert scaled.cdx_limit is not None and scaled.cdx_limit.per_min == 300.0
    assert scaled.blocking == Blocking(6.0, 360.0)
    assert scaled.memento_latency.median_ms == WAYBACK.memento_latency.median_ms / 10
    assert scaled.slow_chunk_delay_ms == WAYBACK.slow_chunk_delay_ms / 10
    assert scaled.time_factor == 10.0
    # Scaling again starts from the real figures, not from the scaled ones.
    assert scaled.scaled(5.0).cdx_limit == RateLimit(30, 12.0)
    assert FAST.cdx_limit is None and FAST.blocking is None
    with pytest.raises(ValueError, match="positive"):
        WAYBACK.scaled(0)


def test_every_figure_of_the_wayback_profile_names_its_source() -> None:
    figures = {"cdx_limit", "memento_limit", "blocking", "memento_latency", "cdx_latency",
               "faults", "capture_sizes"}  # fmt: skip
    assert figures <= WAYBACK.sources.keys()
    assert all(len(text) > 40 for text in WAYBACK.sources.values())
