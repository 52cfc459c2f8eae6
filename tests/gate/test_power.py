"""The gate's error rates at the window counts runs really produce, drawn from real windows.

tests/cases/gate/ci_windows.json holds the api_p95_ms windows of real runs of the ci
profile on this project's shared 2-core machine, with each window's request latencies
(collect_windows.py copied them from the runs' folders). Each trial draws a baseline and
a current run (whole windows with replacement, the ci profile's window count each) and
gates the latency percentiles with the default policy (p50 required, p95 held to 20 %),
which judges them on the pooled requests:

- A/A (both sides from the windows of one run without the canary): any failure, a
  detected regression or the required check inconclusive, is a false failure; drawn
  across two runs, the busy machine's drift between them comes on top: printed;
- canary (a plain run as baseline, the canary's run as current): the gate must never
  pass it; how often it detects api_p95_ms as a regression is printed and bounded.

The rates are printed and held to the issue's targets (MAX_FALSE_FAILURES,
MIN_CANARY_DETECTED) on the runs of the current runner; the older runs' are printed.

A quick run's windows (a real end-to-end quick run's results on this machine,
tests/cases/gate/quick_run.json) with any timing metric made 3x worse must fail the gate:
detected as a regression where 4 windows a side can show it, else a check that says it
could not. Seeds are fixed, so the counts repeat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path

import numpy as np
import pytest

from harness.gate.policy import load_policy
from harness.gate.rules import Windows, check_regression, run_gate
from harness.metrics import METRICS
from harness.results import Results
from scenarios.profiles import get_profile

CASES = Path(__file__).parents[1] / "cases" / "gate"
RUNS = json.loads((CASES / "ci_windows.json").read_text())["runs"]
# draws per pair of runs (each gates two pooled checks, ~40 ms): A/A within each run,
# the canary against each plain run; across two plain runs (printed) fewer
TRIALS = 200
TRIALS_ACROSS = 50
SEED = 18
# the latency percentiles the default policy holds: p50 required, p95 (the canary's) and
# p99 at the default 20 %
METRICS_GATED = ("api_p50_ms", "api_p95_ms", "api_p99_ms")
CANARY_METRIC = "api_p95_ms"
# the request latencies behind every percentile of a window (collect_windows.py)
REQUESTS_METRIC = "api_p95_ms"
# The targets: at most 1 % false failures of A/A draws, the canary's +50 % p95
# caught in at least 95 %. Held on the runs of the current runner, which measures again a
# window during which other jobs took the machine's CPU (harness/collect/cpu.py): in four
# such runs 0.9 % false (within runs) and 99.9 % caught. The three runs made before it
# gave 4.8 % and 45 %: their busy windows (p95 7-19 ms among 5-6) counted as valid. Their
# rates are printed beside.
MAX_FALSE_FAILURES = 0.01
MIN_CANARY_DETECTED = 0.95


@dataclass(frozen=True)
class Run:
    run_id: str
    values: dict[str, list[float]]
    # each window's request latencies (None: the run did not keep them)
    requests: list[list[float]] | None


def _runs(canary: bool, *, busy_rule: bool = True) -> list[Run]:
    """The real ci runs with or without the canary; measured by the current runner, which
    re-measures windows the machine's other jobs disturbed (busy_rule), or by the one
    before it (kept to show what the rule changed)."""
    return [
        Run(run["run_id"], run["metrics"], _expand(run.get("latencies", {}).get(REQUESTS_METRIC)))
        for run in RUNS
        if run["profile"] == "ci"
        and (run["canary_delay_ms"] > 0) == canary
        and (run.get("busy_windows") is not None) == busy_rule
    ]


def _expand(windows: list[list[list[float]]] | None) -> list[list[float]] | None:
    """[latency, requests] pairs back to one latency per request."""
    if windows is None:
        return None
    return [[float(value) for value, count in window for _ in range(int(count))]
            for window in windows]  # fmt: skip


def _draw(run: Run, metric: str, picks: np.ndarray) -> Windows:
    requests = None if run.requests is None else [run.requests[i] for i in picks]
    return Windows([float(run.values[metric][i]) for i in picks], False, requests)


def _gate(reference: Run, current: Run, rng: np.random.Generator) -> tuple[str, bool]:
    """The gate's outcome on the latency metrics of one drawn pair of runs: 'regression'
    (some check detected one), 'inconclusive' (a required check failed as such) or
    'pass'; and whether the canary's metric was detected as a regression."""
    policy = load_policy()
    n = get_profile("ci").repeats
    ref_picks = rng.integers(0, len(reference.values[CANARY_METRIC]), n)
    cur_picks = rng.integers(0, len(current.values[CANARY_METRIC]), n)
    outcome, caught = "pass", False
    for metric in METRICS_GATED:
        rule = policy.regression(metric)
        assert rule is not None
        ref, cur = _draw(reference, metric, ref_picks), _draw(current, metric, cur_picks)
        check = check_regression(ref, cur, metric, rule, policy)
        if check.message.startswith("regression"):
            outcome = "regression"
            caught = caught or metric == CANARY_METRIC
        elif check.status == "fail" and outcome == "pass":
            outcome = "inconclusive"
    return outcome, caught


def _outcomes(pairs: list[tuple[Run, Run]], trials: int = TRIALS) -> dict[str, float]:
    rng = np.random.default_rng(SEED)
    counts = {"pass": 0, "regression": 0, "inconclusive": 0, "canary_metric_caught": 0}
    for reference, current in pairs:
        for _ in range(trials):
            outcome, caught = _gate(reference, current, rng)
            counts[outcome] += 1
            counts["canary_metric_caught"] += caught
    total = trials * len(pairs)
    return {outcome: round(count / total, 4) for outcome, count in counts.items()}


def test_the_policy_requires_what_the_ci_profile_measures_and_checks_the_canarys_metric():
    policy = load_policy()
    required = [m for m in METRICS_GATED if (rule := policy.regression(m)) and rule.required]
    assert required == ["api_p50_ms"]
    assert policy.regression(CANARY_METRIC) is not None


@pytest.mark.slow
def test_aa_draws_from_real_ci_windows_rarely_fail():
    plain = _runs(canary=False)
    assert len(plain) >= 2, "ci_windows.json needs at least two real runs without canary"
    rates = _outcomes([(run, run) for run in plain])
    print(f"A/A within real ci runs ({len(plain)} runs x {TRIALS}): {rates}")
    false_failures = rates["regression"] + rates["inconclusive"]
    print(f"false failures {false_failures:.1%}, target {MAX_FALSE_FAILURES:.0%}")
    assert false_failures <= MAX_FALSE_FAILURES, rates
    # Between two runs the machine's slower drifts come on top: measured, printed.
    across = list(permutations(plain, 2))
    rates = _outcomes(across, TRIALS_ACROSS)
    print(f"A/A across real ci runs ({len(across)} pairs x {TRIALS_ACROSS}): {rates}")
    older = _runs(canary=False, busy_rule=False)
    rates = _outcomes([(run, run) for run in older])
    print(f"A/A within the {len(older)} runs made before busy windows were measured again: "
          f"{rates}")  # fmt: skip


@pytest.mark.slow
def test_the_canary_of_a_real_run_is_detected():
    plain, canary = _runs(canary=False), _runs(canary=True)
    assert canary, "ci_windows.json needs a real canary run"
    pairs = [(reference, current) for reference in plain for current in canary]
    rates = _outcomes(pairs)
    print(f"canary vs real ci runs ({len(pairs)} pairs x {TRIALS}): {rates}")
    assert rates["pass"] == 0, rates
    print(f"p95 caught {rates['canary_metric_caught']:.1%}, target {MIN_CANARY_DETECTED:.0%}")
    assert rates["canary_metric_caught"] >= MIN_CANARY_DETECTED, rates


def _timing_metrics(results: Results) -> list[str]:
    present = {s["metric"] for s in results["samples"] if s["valid"]}
    return sorted(m for m in present if METRICS[m].unit == "ms")


def test_a_3x_regression_of_any_timing_metric_in_a_quick_run_fails():
    quick: Results = json.loads((CASES / "quick_run.json").read_text())
    assert quick["profile"] == "quick"
    timing = _timing_metrics(quick)
    assert "api_p95_ms" in timing and len(timing) >= 5
    policy = load_policy()
    detected = []
    for metric in timing:
        worse: Results = json.loads(json.dumps(quick))
        for sample in worse["samples"]:
            if sample["metric"] == metric and sample["variant"] == "after":
                sample["value"] *= 3
        result = run_gate(worse, quick, policy)
        assert result.exit_code == 1, f"3x {metric} passed the gate"
        [check] = [c for c in result.checks if c.kind == "regression" and c.metric == metric
                   and c.optimization == "all"]  # fmt: skip
        assert check.status != "pass", check.message
        if check.message.startswith("regression"):
            detected.append(metric)
        else:  # never a silent pass: the check says it could not see 3x at these counts
            assert check.detectable is not None and check.detectable > 2, check.message
    print(f"3x detected as a regression at the quick run's counts: {detected} of {timing}")
    assert {"api_p50_ms", "api_p95_ms", "api_p99_ms", "tti_ms"} <= set(detected)
