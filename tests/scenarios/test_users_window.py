"""When a users step has been held long enough to be judged: its hold time and at least
MIN_VERDICT_REQUESTS requests, or the longest hold, or (climbing) a pass on fewer."""

from __future__ import annotations

import random

import pytest

from scenarios import ladder
from scenarios.ladder import MIN_VERDICT_REQUESTS, STEP_HOLD_MAX_S, Window, steady_phase_s

STEP_S = 2.0
FAST_MS, SLOW_MS = 10.0, 548.0


def window(times_ms: list[float]) -> Window:
    """A one-user step whose requests all finished."""
    return Window(1, started=0.0, requests_started=len(times_ms), times_ms=list(times_ms))


def test_a_failing_step_is_not_judged_until_it_has_the_minimum() -> None:
    # at one user a 2 s step holds one or two requests: one slow project list among them
    # is a p95 of one request
    step = window([SLOW_MS, FAST_MS])
    assert not step.close_if_held(STEP_S, STEP_S, climbing=True)
    assert not step.close_if_held(30.0, STEP_S, climbing=True)
    fast_after = MIN_VERDICT_REQUESTS - len(step.times_ms)
    step.times_ms += [FAST_MS] * fast_after
    step.requests_started += fast_after
    assert step.close_if_held(31.0, STEP_S, climbing=True)
    verdict = step.judge()
    # one slow request in 20: the p95 is a fast one
    assert verdict.passed and verdict.extra["requests"] == MIN_VERDICT_REQUESTS, verdict


def test_without_the_minimum_one_slow_request_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    # the rule's check against the old behaviour: no minimum, judged at the hold time
    monkeypatch.setattr(ladder, "MIN_VERDICT_REQUESTS", 1)
    step = window([SLOW_MS, FAST_MS])
    assert step.close_if_held(STEP_S, STEP_S, climbing=True)
    assert not step.judge().passed


def test_the_longest_hold_ends_a_step_and_says_on_how_many_it_was_judged() -> None:
    # one slow request of five: twenty might still pass
    step = window([SLOW_MS] + [FAST_MS] * 4)
    assert not step.close_if_held(STEP_HOLD_MAX_S - 1, STEP_S, climbing=True)
    assert step.close_if_held(STEP_HOLD_MAX_S, STEP_S, climbing=True)
    verdict = step.judge()
    assert not verdict.passed and not verdict.provisional
    assert verdict.detail.endswith(f"of 5 requests, judged on fewer than {MIN_VERDICT_REQUESTS}")


def test_a_failure_the_rest_of_the_minimum_cannot_undo_ends_at_the_hold_time() -> None:
    # the before's one user: two slow project lists among its first requests make the p95
    # of any 20 of them slow, so holding it for 45 s more would change nothing
    step = window([SLOW_MS, FAST_MS, SLOW_MS])
    assert step.close_if_held(STEP_S, STEP_S, climbing=True)
    verdict = step.judge()
    assert not verdict.passed and not verdict.provisional
    assert verdict.detail.endswith(f"of 3 requests, so any {MIN_VERDICT_REQUESTS} would fail")
    # with 18 fast requests after them, the p95 of the 20 is indeed slow
    twenty = window([SLOW_MS, FAST_MS, SLOW_MS] + [FAST_MS] * 17)
    assert not twenty.judge().passed


def test_one_error_among_the_first_requests_fails_any_twenty() -> None:
    step = window([FAST_MS] * 3)
    step.errors = 1
    assert step.close_if_held(STEP_S, STEP_S, climbing=False)
    assert not step.judge().passed


def test_a_climbing_pass_on_fewer_ends_provisional() -> None:
    step = window([FAST_MS] * 3)
    assert step.close_if_held(STEP_S, STEP_S, climbing=True)
    assert step.judge().passed and step.judge().provisional


def test_a_pass_on_fewer_holds_on_once_the_ladder_has_failed() -> None:
    # a step held again to confirm the value, or a bisection step, needs the minimum
    assert not window([FAST_MS] * 3).close_if_held(STEP_S, STEP_S, climbing=False)


def test_a_request_still_running_keeps_a_thin_step_open() -> None:
    step = window([FAST_MS] * 3)
    step.requests_started += 1
    assert not step.close_if_held(STEP_S, STEP_S, climbing=True)


def test_a_step_with_the_minimum_ends_at_its_hold_time() -> None:
    step = window([SLOW_MS] * MIN_VERDICT_REQUESTS)
    assert not step.close_if_held(STEP_S - 0.1, STEP_S, climbing=True)
    assert step.close_if_held(STEP_S, STEP_S, climbing=True)
    assert not step.judge().passed


def test_a_joining_user_starts_at_a_steady_users_phase() -> None:
    # a steady user with a 1-3 s think time is, at a random moment, a uniform share into
    # a think time drawn by its length: on average E[T^2] / (2 E[T]) = 13/12 s from its
    # next request, and never more than the longest think time
    random.seed(16)
    phases = [steady_phase_s(1.0, 3.0) for _ in range(20_000)]
    assert all(0.0 <= phase <= 3.0 for phase in phases)
    assert sum(phases) / len(phases) == pytest.approx(13 / 12, rel=0.02)
