"""The gate on a noisy machine: false alarms and detection on synthetic samples whose noise
is the one measured on this machine (tests/cases/gate/noise.json, measure_noise.py).

Each trial draws the sample count the gate requires for that noise (Policy.required_samples)
per side, log-normal with the measured coefficient of variation, and runs the gate's
regression check. Targets: an A/A comparison passes >= 99 in 100; a 15 % regression is
caught >= 95 in 100. The seed is fixed, so the counts are reproducible.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.gate.rules import Policy, check_regression
from tests.report.synthetic import lognormal

NOISE = json.loads((Path(__file__).parents[1] / "cases" / "gate" / "noise.json").read_text())
TRIALS = 100
REGRESSION = 0.15
SEED = 6


@pytest.mark.slow
@pytest.mark.parametrize(
    ("metric", "cv_key"),
    [("api_p95_ms", "p95_cv"), ("scrape_pages_per_min", "throughput_cv")],
)
def test_aa_passes_and_15_percent_regression_is_caught(metric, cv_key):
    cv = NOISE[cv_key]
    assert cv > 0, "noise.json must hold a measured, non-zero noise level"
    policy = Policy(noise_cv=cv, detect_regression=REGRESSION)
    n = policy.required_samples(metric)
    rng = np.random.default_rng(SEED)
    # a regression multiplies a latency and divides a throughput
    factor = 1 + REGRESSION if metric == "api_p95_ms" else 1 / (1 + REGRESSION)

    def gate_fails(shift: float) -> bool:
        reference = lognormal(rng, 100.0, cv, n)
        current = lognormal(rng, 100.0 * shift, cv, n)
        status, _ = check_regression(reference, current, metric, policy)
        return status == "fail"

    false_alarms = sum(gate_fails(1.0) for _ in range(TRIALS))
    caught = sum(gate_fails(factor) for _ in range(TRIALS))
    assert false_alarms <= 1, f"A/A failed {false_alarms}/{TRIALS} at cv {cv}, n {n}"
    assert caught >= 95, f"15% regression caught {caught}/{TRIALS} at cv {cv}, n {n}"
