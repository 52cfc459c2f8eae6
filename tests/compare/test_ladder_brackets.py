"""A ladder's value is exact but bracketed: the true limit lies between the last step that
held and the first that failed. The ratio's CI must span the brackets, not the bisection
points (every window on the same point gave the session-7 WebSocket row "1.18x-1.18x")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.compare import (
    Brackets,
    bracketed_ratio_interval,
    compare,
    ratio_interval,
    summarize,
)
from harness.errors import UserError
from harness.results import validate_results
from scenarios.ladder import Outcome
from tests.report.synthetic import make_results, samples_for

# the full profile's WebSocket windows of session 7: held / first failed, four a side
BEFORE = Brackets([1760.0] * 4, [1920.0] * 4)
AFTER = Brackets([2080.0] * 4, [2240.0] * 4)


def test_the_interval_spans_every_windows_bracket() -> None:
    assert ratio_interval(BEFORE.values, AFTER.values) == pytest.approx((2080 / 1760,) * 2)
    low, high = bracketed_ratio_interval(BEFORE, AFTER)  # type: ignore[misc]
    assert low == pytest.approx(2080 / 1920) and high == pytest.approx(2240 / 1760)


def test_compare_uses_the_brackets_and_keeps_the_verdict_on_the_values() -> None:
    exact = compare(BEFORE.values, AFTER.values, "higher")
    bracketed = compare(
        BEFORE.values, AFTER.values, "higher",
        before_upper=BEFORE.upper, after_upper=AFTER.upper,
    )  # fmt: skip
    assert bracketed.ci95 == pytest.approx((2080 / 1920, 2240 / 1760))
    assert exact.ci95 != bracketed.ci95
    assert (bracketed.verdict, bracketed.ratio, bracketed.p_value) == (
        exact.verdict, exact.ratio, exact.p_value,
    )  # fmt: skip


def test_a_before_of_zero_still_has_no_interval() -> None:
    # the concurrency baseline: no user held, the first step (1 user) failed
    held, failed = [1088.0, 1152.0, 1088.0, 1216.0], [1152.0, 1216.0, 1152.0, 1280.0]
    result = compare([0.0] * 4, held, "higher", before_upper=[1.0] * 4, after_upper=failed)
    assert result.ci95 is None and result.ci_reason == "before median is 0"


brackets = st.lists(
    st.tuples(st.integers(1, 4000), st.integers(1, 400), st.floats(0, 1)),
    min_size=3, max_size=5,
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(before=brackets, after=brackets)
def test_any_true_values_within_the_brackets_get_an_interval_inside_it(before, after) -> None:
    """The property the interval stands on (monotone percentile bounds, same draws)."""

    def side(windows: list[tuple[int, int, float]]) -> tuple[Brackets, list[float]]:
        held = [float(v) for v, _, _ in windows]
        failed = [float(v + gap) for v, gap, _ in windows]
        true = [float(v + share * gap) for v, gap, share in windows]
        return Brackets(held, failed), true

    (before_b, before_true), (after_b, after_true) = side(before), side(after)
    outer = bracketed_ratio_interval(before_b, after_b)
    inner = ratio_interval(before_true, after_true)
    assert not isinstance(outer, str) and not isinstance(inner, str)
    assert outer[0] <= inner[0] + 1e-12 and inner[1] <= outer[1] + 1e-12


def test_the_values_alone_miss_true_values_the_brackets_hold() -> None:
    """The same check fails against the interval of the held values alone."""
    values_only = ratio_interval(BEFORE.values, AFTER.values)
    truth = ratio_interval([1900.0] * 4, [2100.0] * 4)  # within both brackets
    assert not isinstance(values_only, str) and not isinstance(truth, str)
    assert not values_only[0] <= truth[0] <= truth[1] <= values_only[1]


def test_the_summary_reads_failed_at_from_the_samples() -> None:
    samples = samples_for("all", "ws_connections", BEFORE.values, AFTER.values)
    for sample in samples:
        sample["failed_at"] = 1920.0 if sample["variant"] == "before" else 2240.0
    (row,) = summarize(samples, [])
    assert row["ci95"] == pytest.approx([2080 / 1920, 2240 / 1760])
    assert "ci_reason" not in row
    validate_results(make_results(samples, mode="endtoend"))


def test_a_failed_at_not_above_the_value_is_refused() -> None:
    samples = samples_for("all", "ws_connections", BEFORE.values, AFTER.values)
    samples[0]["failed_at"] = 1760.0
    with pytest.raises(UserError, match="failed_at: a first failing load must lie above"):
        validate_results(make_results(samples, mode="endtoend"))


def test_only_an_exact_ladder_value_is_bracketed() -> None:
    assert Outcome(1760, failed_at=1920).bracket_top == 1920.0
    assert Outcome(640, "lower", "load-generator bound at 640", 1280).bracket_top is None
    assert Outcome(5120, "lower", "ceiling 5120").bracket_top is None
    assert Outcome(0, failed_at=1).bracket_top == 1.0
