"""Statistics of harness/compare/ on samples whose truth is known."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.compare import (
    CompareConfig,
    compare,
    mann_whitney_p,
    ratio_ci,
    smallest_p,
    summarize,
)
from harness.results import validate_results
from tests.report.synthetic import make_results, samples_for, spread

# (name, better, before, after, verdict)
VERDICT_CASES = [
    ("lower is better, 5x faster", "lower", spread(500, 5), spread(100, 5), "improved"),
    ("lower is better, 40% slower", "lower", spread(100, 5), spread(140, 5), "regressed"),
    ("higher is better, 3x throughput", "higher", spread(100, 5), spread(300, 5), "improved"),
    ("higher is better, halved", "higher", spread(100, 6), spread(50, 6), "regressed"),
    ("same distribution", "lower", spread(100, 6), spread(100, 6, 0.04), "no-change"),
    # significant (no overlap) but a 2 % shift is below the minimum effect
    ("tiny but consistent shift", "lower", spread(100, 6, 0.005), spread(98, 6, 0.005),
     "no-change"),
    ("two samples a side, huge effect", "lower", [500.0, 510.0], [1.0, 2.0], "inconclusive"),
    # 3 vs 3: the exact test's smallest two-sided p is 0.1, never below alpha
    ("three a side cannot reach alpha", "lower", spread(500, 3), spread(1, 3), "inconclusive"),
    ("empty after", "lower", spread(100, 5), [], "inconclusive"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("better", "before", "after", "verdict"),
    [case[1:] for case in VERDICT_CASES],
    ids=[case[0] for case in VERDICT_CASES],
)
def test_verdicts(better, before, after, verdict):
    assert compare(before, after, better).verdict == verdict


@pytest.mark.parametrize("alternative", ["two-sided", "less"])
def test_tied_windows_get_no_p_below_what_the_exact_test_can_give(alternative):
    # scipy's normal approximation (used with ties) gave 0.048 here, under the exact
    # test's smallest two-sided p of 2/35 for 3 and 4 windows
    floor = smallest_p(3, 4) / (1 if alternative == "two-sided" else 2)
    assert mann_whitney_p([28000.0, 28000.0, 27000.0], [6.0, 6.0, 5.0, 7.0], alternative) == floor


def test_improvement_reports_ratio_ci_and_p():
    result = compare(spread(401, 8, 0.01), spread(1, 8, 0.01), "lower")
    assert result.ratio == pytest.approx(1 / 401)
    assert result.ci95 is not None
    assert result.ci95[0] <= result.ratio <= result.ci95[1] < 1
    assert result.p_value is not None and result.p_value < 0.01


def test_bootstrap_ci_is_reproducible_and_brackets_the_ratio():
    before, after = spread(100, 7, 0.2), spread(80, 7, 0.2)
    ci = ratio_ci(before, after)
    assert ci == ratio_ci(before, after)  # fixed seed: a report's CI can be recomputed
    assert ci is not None and ci[0] < 0.8 < ci[1]
    narrow = ratio_ci(before, after, CompareConfig(confidence=0.5))
    assert narrow is not None and ci[0] <= narrow[0] <= narrow[1] <= ci[1]


def test_mann_whitney_matches_exact_extreme():
    # complete separation at 5 vs 5: the exact two-sided p is 2 / C(10, 5)
    assert mann_whitney_p(spread(10, 5), spread(20, 5)) == pytest.approx(smallest_p(5, 5))
    assert mann_whitney_p([3.0] * 5, [3.0] * 5) == 1.0


@settings(max_examples=60, deadline=None)
@given(
    before=st.lists(st.floats(1, 1e4), min_size=0, max_size=2),
    after=st.lists(st.floats(1e-3, 1e4), min_size=0, max_size=10),
)
def test_too_few_samples_are_never_improved(before, after):
    assert compare(before, after, "lower").verdict == "inconclusive"


def test_summary_uses_valid_samples_only_and_flags_broken():
    samples = samples_for(
        "stats_aggregate", "db_queries_per_request", spread(401, 5), spread(1, 5),
        invalid=[("after", 0), ("after", 1), ("after", 2)],
    )  # fmt: skip
    samples += samples_for("db_indexes", "api_p95_ms", spread(200, 5), spread(100, 5))
    verification = [
        {"optimization": "stats_aggregate", "passed": True, "detail": "20 requests equal"},
        {"optimization": "db_indexes", "passed": False, "detail": "GET /projects/ differs"},
    ]
    rows = {r["optimization"]: r for r in summarize(samples, verification)}
    assert rows["stats_aggregate"]["verdict"] == "inconclusive"
    assert rows["stats_aggregate"]["n_after"] == 2
    assert rows["db_indexes"]["verdict"] == "broken"
    assert "GET /projects/ differs" in rows["db_indexes"]["reason"]
    # what the runner will write validates against schema 1
    validate_results(make_results(samples, verification))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    "after",
    [
        [1.0] * 4,  # resamples with a before median of 0: an infinite ratio
        [0.0] * 4,  # ... and of 0 / 0: no ratio at all (scipy's DegenerateDataWarning)
    ],
)
def test_a_before_with_windows_of_0_has_no_interval_and_no_warning(after):
    assert ratio_ci([0.0, 0.0, 1.0, 1.0], after) is None
