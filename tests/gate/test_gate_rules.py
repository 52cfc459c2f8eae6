"""The gate's decision rules, as cases in tests/cases/gate/regression_cases.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.gate.rules import MetricPolicy, Policy, check_regression, load_policy, run_gate
from tests.report.synthetic import make_results, samples_for, spread

CASES = json.loads(
    (Path(__file__).parents[1] / "cases" / "gate" / "regression_cases.json").read_text()
)
POLICY_FIELDS = set(Policy.model_fields)


def _policy(overrides: dict) -> Policy:
    top = {k: v for k, v in overrides.items() if k in POLICY_FIELDS}
    rule = {k: v for k, v in overrides.items() if k not in POLICY_FIELDS}
    return Policy(**top, default=MetricPolicy(**rule))


def _values(side: dict) -> list[float]:
    return spread(side["median"], side["n"], side.get("cv", 0.05))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_regression_cases(case):
    status, message = check_regression(
        _values(case["reference"]), _values(case["current"]), case["metric"],
        _policy(case["policy"]),
    )  # fmt: skip
    assert status == case["status"], message


def test_required_samples_grow_with_noise_and_shrink_with_tolerance():
    counts = [Policy(noise_cv=cv).required_samples("api_p95_ms") for cv in (0.0, 0.1, 0.3)]
    assert counts[0] == Policy().min_samples
    assert counts[0] < counts[1] < counts[2]
    loose = Policy(noise_cv=0.3, default=MetricPolicy(max_regression=0.02))
    assert loose.required_samples("api_p95_ms") < counts[2]


def test_default_policy_loads_and_names_known_metrics():
    policy = load_policy()
    assert policy.required_samples("db_queries_per_request") == policy.min_samples
    assert policy.required_samples("api_p95_ms") > policy.required_samples("db_queries_per_request")


def test_expectation_and_verification_checks():
    samples = samples_for("stats_aggregate", "db_queries_per_request", spread(401, 5, 0),
                          spread(1, 5, 0))  # fmt: skip
    samples += samples_for("all", "db_queries_per_request", spread(40, 5, 0), spread(20, 5, 0))
    verification = [
        {"optimization": "stats_aggregate", "passed": True, "detail": "equal"},
        {"optimization": "db_indexes", "passed": False, "detail": "row order differs"},
    ]
    run = make_results(samples, verification)
    checks = {(c.kind, c.optimization): c for c in run_gate(run, None, load_policy()).checks}
    # 401 -> 1 is a 99.8 % reduction: beyond the report's 90 %
    assert checks[("expectation", "stats_aggregate")].status == "pass"
    # 40 -> 20 is a 50 % reduction: short of the full 90 % the default policy asks of `all`
    assert checks[("expectation", "all")].status == "fail"
    assert checks[("verification", "db_indexes")].status == "fail"
    assert checks[("regression", "stats_aggregate")].status == "pass"
