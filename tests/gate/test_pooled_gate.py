"""The pooled regression check (harness/gate/pooled.py) on request latencies whose truth is
known: log-normal requests in windows whose level drifts, as a shared machine's do."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.compare import pooled_percentile
from harness.compare.pooled import pooled_ratio_draws
from harness.gate.policy import Policy, Regression
from harness.gate.pooled import detectable_from_spread
from harness.gate.rules import Windows, check_regression

METRIC = "api_p95_ms"
REQUIRED = Regression(max_regression=0.2, required=True)


def _windows(
    rng: np.random.Generator, n: int, drift_sd: float, factor: float = 1.0, requests: int = 300
) -> Windows:
    """n windows of `requests` latencies (whole ms, as locust keeps them), each window's
    level drawn with log sd `drift_sd`; every latency times `factor`."""
    latencies = [
        np.round(factor * rng.lognormal(math.log(8) + rng.normal(0, drift_sd), 0.5, requests))
        for _ in range(n)
    ]
    lists = [[float(v) for v in window] for window in latencies]
    return Windows([pooled_percentile([w], 0.95) for w in lists], False, lists)


def _check(reference: Windows, current: Windows) -> tuple[str, float]:
    check = check_regression(reference, current, METRIC, REQUIRED, Policy())
    assert check.detectable is not None and "pooled p95" in check.message, check.message
    outcome = "pass" if check.status == "pass" else check.message.split(":")[0]
    return outcome, check.detectable


def test_same_code_passes_and_says_what_it_could_detect():
    rng = np.random.default_rng(1)
    outcome, detectable = _check(_windows(rng, 14, 0.05), _windows(rng, 14, 0.05))
    assert outcome == "pass"
    assert 0 <= detectable <= 0.2


def test_a_50_percent_slower_current_fails_as_a_regression():
    rng = np.random.default_rng(2)
    outcome, _ = _check(_windows(rng, 14, 0.05), _windows(rng, 14, 0.05, factor=1.5))
    assert outcome == "regression"


def test_windows_that_drift_too_much_are_inconclusive_not_passed():
    rng = np.random.default_rng(3)
    outcome, detectable = _check(_windows(rng, 6, 0.6), _windows(rng, 6, 0.6))
    assert outcome == "inconclusive"
    assert detectable > 0.2


@pytest.mark.parametrize("drift_sd", [0.05, 0.15])
def test_false_alarms_stay_rare_at_the_level_the_policy_sets(drift_sd):
    """A/A trials at two drifts: failures as a regression within alpha (0.02) and a few
    trials' binomial spread."""
    rng = np.random.default_rng(4)
    trials = 150
    regressions = sum(
        _check(_windows(rng, 14, drift_sd), _windows(rng, 14, drift_sd))[0] == "regression"
        for _ in range(trials)
    )
    assert regressions / trials <= 0.04, regressions


def test_the_bootstrap_resamples_whole_windows():
    """Two windows far apart: the resamples' ratios spread widely (each may pick one
    window twice); a single window's requests resampled alone would not."""
    slow, fast = [100.0] * 50, [10.0] * 50
    draws = pooled_ratio_draws([slow, fast], [slow, fast], 0.5)
    assert draws.min() == pytest.approx(0.1) and draws.max() == pytest.approx(10)


def test_detectable_grows_with_the_spread():
    assert detectable_from_spread(0.0, 0.02, 0.95) == 0
    small, large = (detectable_from_spread(sd, 0.02, 0.95) for sd in (0.03, 0.1))
    # z(0.98) + z(0.95) = 3.70
    assert small == pytest.approx(math.expm1(3.70 * 0.03), rel=0.01) and large > small


def test_windows_whose_p95s_read_alike_are_judged_on_their_requests():
    """Every window's p95 is 6 ms by locust's rule on both sides, but the current's
    requests sit high in that bucket: not 'every window the same value'."""
    low = [5.0] * 90 + [6.0] * 10
    high = [5.0] * 80 + [6.0] * 20
    reference = Windows([6.0] * 6, False, [low] * 6)
    current = Windows([6.0] * 6, False, [high] * 6)
    check = check_regression(reference, current, METRIC, REQUIRED, Policy())
    assert "pooled p95" in check.message, check.message
