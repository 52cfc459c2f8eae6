"""Fault and latency decisions: deterministic, by schedule or rate, scoped by route."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from harness.upstream.faults import Conditions, FaultKind, FaultPlanner


def decisions(planner: FaultPlanner, targets: list[str]) -> list[FaultKind]:
    return [planner.decide(target, "web")[0] for target in targets]


TARGETS = [f"/web/2015id_/http://example.com/{n}" for n in range(4000)]


def test_rates_are_met_and_reproducible() -> None:
    conditions = Conditions(rate_429=0.1, rate_503=0.05, rate_reset=0.05, rate_slow=0.02)
    first = decisions(FaultPlanner(conditions), TARGETS)
    second = decisions(FaultPlanner(conditions), TARGETS)
    assert first == second
    for kind, rate in [
        (FaultKind.TOO_MANY_REQUESTS, 0.1),
        (FaultKind.UNAVAILABLE, 0.05),
        (FaultKind.RESET, 0.05),
        (FaultKind.SLOW, 0.02),
    ]:
        assert abs(first.count(kind) / len(TARGETS) - rate) < 0.02


def test_decisions_do_not_depend_on_request_order() -> None:
    conditions = Conditions(rate_503=0.3)
    forward = dict(zip(TARGETS, decisions(FaultPlanner(conditions), TARGETS), strict=True))
    backward_targets = TARGETS[::-1]
    backward = dict(
        zip(backward_targets, decisions(FaultPlanner(conditions), backward_targets), strict=True)
    )
    assert forward == backward


def test_a_retry_is_a_new_draw() -> None:
    planner = FaultPlanner(Conditions(rate_503=0.5))
    target = next(t for t in TARGETS if planner.decide(t, "web")[0] is FaultKind.UNAVAILABLE)
    retries = [planner.decide(target, "web")[0] for _ in range(20)]
    assert FaultKind.NONE in retries


def test_the_fault_seed_changes_the_draws() -> None:
    one = decisions(FaultPlanner(Conditions(rate_429=0.5, fault_seed=1)), TARGETS[:200])
    two = decisions(FaultPlanner(Conditions(rate_429=0.5, fault_seed=2)), TARGETS[:200])
    assert one != two


def test_schedule_comes_first_then_rates() -> None:
    schedule = [FaultKind.RESET, FaultKind.NONE, FaultKind.TOO_MANY_REQUESTS]
    planner = FaultPlanner(Conditions(schedule=schedule))
    assert decisions(planner, TARGETS[:5]) == [*schedule, FaultKind.NONE, FaultKind.NONE]


def test_scope_limits_faults_but_not_latency() -> None:
    planner = FaultPlanner(
        Conditions(rate_503=1.0, applies_to="cdx", latency_ms=40, schedule=[FaultKind.RESET])
    )
    assert planner.decide("/web/x", "web") == (FaultKind.NONE, 0.04)
    assert planner.decide("/cdx/search/cdx?url=x", "cdx") == (FaultKind.RESET, 0.04)
    assert planner.decide("/cdx/search/cdx?url=x", "cdx")[0] is FaultKind.UNAVAILABLE


def test_jitter_stays_within_its_bound_and_repeats() -> None:
    conditions = Conditions(latency_ms=50, latency_jitter_ms=20)
    first = [FaultPlanner(conditions).decide(t, "cdx")[1] for t in TARGETS[:100]]
    again = [FaultPlanner(conditions).decide(t, "cdx")[1] for t in TARGETS[:100]]
    assert first == again
    assert all(0.05 <= latency < 0.07 for latency in first)
    assert len(set(first)) > 50


@pytest.mark.parametrize(
    "values",
    [
        {"rate_429": 0.6, "rate_503": 0.6},
        {"rate_reset": -0.1},
        {"latency_ms": -1},
        {"schedule": ["explode"]},
        {"unknown": 1},
    ],
)
def test_invalid_conditions_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Conditions.model_validate(values)
