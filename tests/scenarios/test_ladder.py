"""A ladder run to failure on synthetic steps: where it stops, and what it calls its value."""

from __future__ import annotations

import pytest

from harness.collect.cpu import saturated
from scenarios.ladder import Ladder, LadderSpec, Outcome, Step, held_nothing

QUICK = LadderSpec(start=1, factor=2, ceiling=4096, bisect=False)
FULL = LadderSpec(start=1, factor=2, ceiling=4096, bisect=True)
WS = LadderSpec(start=10, factor=4, ceiling=5120, bisect=False, unit="connections")


def climb(
    spec: LadderSpec, capacity: int, loadgen_limit: int | None = None
) -> tuple[list[int], Outcome]:
    """Run a ladder against a service that holds up to `capacity` and a load generator
    that saturates from `loadgen_limit` on."""
    ladder = Ladder(spec)
    while (load := ladder.next_load()) is not None:
        assert len(ladder.steps) < 50, "a ladder must end"
        bound = loadgen_limit is not None and load >= loadgen_limit
        ladder.record(Step(load, passed=load <= capacity, loadgen_bound=bound))
    return [step.load for step in ladder.steps], ladder.outcome()


# (case, spec, capacity, loadgen limit, loads tried, outcome)
CASES = [
    ("stops at the first failing step", QUICK, 100, None,
     [1, 2, 4, 8, 16, 32, 64, 128], Outcome(64, failed_at=128)),
    ("bisects in the full profile", FULL, 100, None,
     [1, 2, 4, 8, 16, 32, 64, 128, 96, 112, 104], Outcome(96, failed_at=104)),
    ("the first step fails: 0, exact", QUICK, 0, None, [1], Outcome(0, failed_at=1)),
    ("the ceiling holds: a lower bound", QUICK, 10_000, None,
     [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
     Outcome(4096, "lower", "ceiling 4096")),
    ("the last step is the ceiling itself", WS, 10_000, None,
     [10, 40, 160, 640, 2560, 5120], Outcome(5120, "lower", "ceiling 5120")),
    ("the load generator saturates first: a lower bound", QUICK, 10_000, 640,
     [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
     Outcome(512, "lower", "load-generator bound at 1024 users")),
    ("saturated at the failing step", FULL, 100, 110,
     [1, 2, 4, 8, 16, 32, 64, 128], Outcome(64, "lower", "load-generator bound at 128 users")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "capacity", "limit", "loads", "outcome"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_ladder(
    spec: LadderSpec, capacity: int, limit: int | None, loads: list[int], outcome: Outcome
) -> None:
    assert climb(spec, capacity, limit) == (loads, outcome)


def test_saturation_is_any_second_not_the_mean() -> None:
    # nine idle seconds and one at 100 %: the mean (19 %) would hide it
    assert saturated([10.0] * 9 + [100.0])
    assert not saturated([89.0] * 10)


def test_steps_survive_json() -> None:
    step = Step(640, False, detail="p95 612 ms", extra={"requests": 812})
    assert Step.from_json(step.to_json()) == step


def test_a_ladder_that_held_nothing_says_why() -> None:
    ladder = Ladder(QUICK)
    ladder.record(Step(1, False, detail="p95 912 ms, errors 0.0% of 3 requests"))
    assert ladder.next_load() is None
    outcome = ladder.outcome()
    assert outcome == Outcome(0, failed_at=1)
    assert held_nothing(QUICK, ladder.steps, outcome) == (
        "the first step missed the SLO (users: 1; p95 912 ms, errors 0.0% of 3 requests)"
    )


def test_a_ladder_that_held_a_step_has_no_such_note() -> None:
    loads, outcome = climb(QUICK, 100)
    steps = [Step(load, load <= 100) for load in loads]
    assert outcome.value == 64
    assert held_nothing(QUICK, steps, outcome) is None


def test_a_provisional_pass_that_decides_the_value_is_held_again() -> None:
    # 1 user passed on two requests while climbing, 2 users failed: the value's step
    # stands on two requests until its load is held again
    ladder = Ladder(QUICK)
    ladder.record(Step(1, True, provisional=True))
    ladder.record(Step(2, True, provisional=True))
    ladder.record(Step(4, False))
    assert ladder.next_load() == 2
    ladder.record(Step(2, False))  # held again, it fails: 1 user is the next to confirm
    assert ladder.next_load() == 1
    ladder.record(Step(1, True))
    assert ladder.next_load() is None
    assert ladder.outcome() == Outcome(1, failed_at=2)


def test_a_provisional_pass_below_the_value_is_confirmed_by_the_next_pass() -> None:
    ladder = Ladder(FULL)
    for load in (1, 2, 4):
        ladder.record(Step(load, True, provisional=load < 4))
    ladder.record(Step(8, False))
    assert ladder.next_load() == 6  # bisects at once: 4 stands on its own requests
