"""A concurrency step from its requests: p95 < 500 ms and errors < 1 %, unfinished ones slow."""

from __future__ import annotations

import pytest

import harness.collect.cpu
from scenarios.concurrency import decided
from scenarios.ladder import LadderSpec, Step, judge_requests, replay

FAST, SLOW = 100.0, 900.0
# (case, finished latencies, errors, requests started, passed)
CASES = [
    ("every request fast", [FAST] * 40, 0, 40, True),
    ("p95 just under: 5 % slow", [FAST] * 95 + [SLOW] * 5, 0, 100, True),
    ("p95 over: 6 % slow", [FAST] * 94 + [SLOW] * 6, 0, 100, False),
    ("one error in 100 is 1 %, not under it", [FAST] * 100, 1, 100, False),
    ("fast finished ones, but 10 % still running", [FAST] * 90, 0, 100, False),
    ("no request at all", [], 0, 0, False),
]


@pytest.mark.parametrize(
    ("times", "errors", "started", "passed"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_step_slo(times: list[float], errors: int, started: int, passed: bool) -> None:
    step = judge_requests(10, times, errors, started, [20.0])
    assert step.passed is passed, step.detail
    assert not step.loadgen_bound


def test_a_saturated_second_marks_the_step_load_generator_bound() -> None:
    step = judge_requests(640, [FAST] * 100, 0, 100, [40.0, 95.0, 50.0])
    assert step.passed and step.loadgen_bound and step.cpu_max_pct == 95.0


def test_a_ladder_step_and_a_window_share_one_saturation_mark(monkeypatch) -> None:
    """The step's load-generator bound and the window's validity read the same mark."""
    monkeypatch.setattr(harness.collect.cpu, "SATURATED_CPU_PCT", 50.0)
    step = judge_requests(640, [FAST] * 100, 0, 100, [40.0, 60.0])
    assert step.loadgen_bound
    assert not harness.collect.cpu.window_is_valid([40.0, 60.0])


def test_the_note_gives_the_requests_of_the_steps_that_decided_the_value() -> None:
    spec = LadderSpec(start=1, factor=2, ceiling=64, bisect=False)
    steps = [
        Step(1, True, provisional=True, extra={"requests": 2}),
        Step(2, False, detail="p95 548 ms, errors 0.0% of 20 requests", extra={"requests": 20}),
        Step(1, True, detail="p95 410 ms, errors 0.0% of 21 requests", extra={"requests": 21}),
    ]
    note, requests = decided(spec, steps, replay(spec, steps))
    assert note == "held 1 users on 21 requests; 2 failed (p95 548 ms, errors 0.0% of 20 requests)"
    assert requests == 41


def test_a_ladder_that_held_nothing_notes_its_first_step() -> None:
    spec = LadderSpec(start=1, factor=2, ceiling=64, bisect=False)
    steps = [
        Step(1, False, detail="p95 530 ms, errors 0.0% of 22 requests", extra={"requests": 22})
    ]
    note, requests = decided(spec, steps, replay(spec, steps))
    assert (
        note == "the first step missed the SLO (users: 1; p95 530 ms, errors 0.0% of 22 requests)"
    )
    assert requests == 22
