"""Before/after statistics as pure functions: medians, ratio of medians with a bootstrap CI,
Mann-Whitney U, verdicts, and the `summary` list of results.json.

A verdict needs both significance (p < alpha) and a minimum effect (|ratio - 1| >=
min_effect); with too few valid samples, or too few for the test to ever reach alpha, it is
`inconclusive`, never `improved`. A failed verification makes the optimization `broken`.

Latency percentiles (metrics with a `pooled_quantile`) stand on the requests behind them:
given the windows' per-request latencies, a side's figure is the percentile of all its
valid windows' requests pooled, and the ratio's CI comes from a bootstrap over windows
(each resample draws whole windows, so the rounds' drift stays in the interval); the
rank test still compares the windows' own percentiles.

Some samples are lower bounds (`bound: "lower"`: a ladder stopped at its ceiling or at
the load generator's limit). A side's median is then a lower bound too when one of its
bounded values lies at or below it. A verdict stands only where raising a bounded side
could not overturn it: two bounded sides are never `no-change` but `inconclusive (both ≥)`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from harness.metrics import METRICS
from harness.results import LOWER, Expected, Sample, Side, SummaryRow, Verdict, Verification

ALPHA = 0.05
MIN_EFFECT = 0.05  # smallest |ratio - 1| that counts as a change
MIN_SAMPLES = 3  # valid samples per side
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 9999
# A fixed seed makes a report's CIs reproducible from its results.json.
BOOTSTRAP_SEED = 20261129
# Each resample of a pooled percentile pools whole windows again: fewer resamples.
POOLED_RESAMPLES = 1999

Alternative = Literal["two-sided", "greater", "less"]
FloatArray = npt.NDArray[np.float64]
# (optimization, metric) -> side -> one list of request latencies per valid window
Pooled = Mapping[tuple[str, str], Mapping[str, Sequence[Sequence[float]]]]


@dataclass(frozen=True)
class CompareConfig:
    alpha: float = ALPHA
    min_effect: float = MIN_EFFECT
    min_samples: int = MIN_SAMPLES
    confidence: float = CONFIDENCE
    n_resamples: int = BOOTSTRAP_RESAMPLES
    seed: int = BOOTSTRAP_SEED


@dataclass(frozen=True)
class MetricComparison:
    """Before vs after of one metric; ratio = after / before medians."""

    n_before: int
    n_after: int
    before_median: float | None
    after_median: float | None
    ratio: float | None
    ci95: tuple[float, float] | None
    p_value: float | None
    verdict: Verdict
    reason: str | None = None


def _array(values: Iterable[float]) -> FloatArray:
    return np.asarray(list(values), dtype=np.float64)


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    return float(np.median(_array(values)))


def ratio_of_medians(before: Sequence[float], after: Sequence[float]) -> float | None:
    """after / before medians; None when the before median is 0 (no finite ratio)."""
    base = median(before)
    return None if base == 0 else median(after) / base


def _ratio_statistic(before: FloatArray, after: FloatArray, axis: int = -1) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio: FloatArray = np.median(after, axis=axis) / np.median(before, axis=axis)
    return ratio


def ratio_ci(
    before: Sequence[float], after: Sequence[float], config: CompareConfig = CompareConfig()
) -> tuple[float, float] | None:
    """Bootstrap CI of the ratio of medians (independent resampling of each side).

    Percentile intervals rather than BCa: with a handful of samples the median's bootstrap
    distribution is lumpy and BCa's acceleration estimate turns unstable (NaN bounds).
    """
    if len(before) < 2 or len(after) < 2 or median(before) == 0:
        return None
    result = stats.bootstrap(
        (_array(before), _array(after)),
        _ratio_statistic,
        paired=False,
        vectorized=True,
        confidence_level=config.confidence,
        n_resamples=config.n_resamples,
        method="percentile",
        rng=np.random.default_rng(config.seed),
    )
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)):
        return None  # some resample had a before median of 0
    return low, high


def median_ci(
    values: Sequence[float], config: CompareConfig = CompareConfig()
) -> tuple[float, float] | None:
    """Bootstrap CI of one side's median (percentile method, as for the ratio)."""
    if len(values) < 2:
        return None
    result = stats.bootstrap(
        (_array(values),),
        np.median,
        vectorized=True,
        confidence_level=config.confidence,
        n_resamples=config.n_resamples,
        method="percentile",
        rng=np.random.default_rng(config.seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def mann_whitney_p(
    before: Sequence[float], after: Sequence[float], alternative: Alternative = "two-sided"
) -> float:
    """Mann-Whitney U p-value of after vs before; 1.0 when every value is the same."""
    result = stats.mannwhitneyu(_array(after), _array(before), alternative=alternative)
    p = float(result.pvalue)
    return 1.0 if math.isnan(p) else p


def smallest_p(n_before: int, n_after: int) -> float:
    """The smallest two-sided p the exact Mann-Whitney test can give at these sizes."""
    return 2.0 / math.comb(n_before + n_after, n_before)


def compare(
    before: Sequence[float],
    after: Sequence[float],
    better: Literal["lower", "higher"],
    config: CompareConfig = CompareConfig(),
) -> MetricComparison:
    """Compare valid samples of one metric; the verdict follows the module's rules."""
    n_before, n_after = len(before), len(after)
    if min(n_before, n_after) < config.min_samples:
        return MetricComparison(
            n_before,
            n_after,
            median(before) if before else None,
            median(after) if after else None,
            None,
            None,
            None,
            "inconclusive",
            f"too few valid samples ({n_before} before, {n_after} after; "
            f"needs {config.min_samples} each)",
        )
    before_median, after_median = median(before), median(after)
    ratio = ratio_of_medians(before, after)
    ci = ratio_ci(before, after, config)
    p = mann_whitney_p(before, after)
    verdict: Verdict
    reason = None
    if smallest_p(n_before, n_after) >= config.alpha:
        verdict = "inconclusive"
        reason = f"{n_before} before and {n_after} after samples cannot reach p < {config.alpha}"
    else:
        large = (
            before_median != after_median
            if ratio is None
            else (abs(ratio - 1) >= config.min_effect)
        )
        if p < config.alpha and large:
            went_down = after_median < before_median
            verdict = "improved" if went_down == (better == "lower") else "regressed"
        else:
            verdict = "no-change"
    return MetricComparison(
        n_before, n_after, before_median, after_median, ratio, ci, p, verdict, reason
    )


def pooled_percentile(windows: Sequence[Sequence[float]], quantile: float) -> float:
    """The `quantile` of all the windows' requests together: the smallest latency at or
    below which that share of them falls (locust's rule)."""
    pooled = np.sort(np.concatenate([_array(w) for w in windows]))
    if pooled.size == 0:
        raise ValueError("a percentile of no requests")
    return float(pooled[max(0, math.ceil(quantile * pooled.size) - 1)])


def pooled_ratio_ci(
    before: Sequence[Sequence[float]],
    after: Sequence[Sequence[float]],
    quantile: float,
    config: CompareConfig = CompareConfig(),
) -> tuple[float, float] | None:
    """Bootstrap CI of after / before pooled percentiles, resampling whole windows."""
    if len(before) < 2 or len(after) < 2:
        return None
    rng = np.random.default_rng(config.seed)
    ratios = []
    for _ in range(min(config.n_resamples, POOLED_RESAMPLES)):
        b = [before[i] for i in rng.integers(0, len(before), len(before))]
        a = [after[i] for i in rng.integers(0, len(after), len(after))]
        base = pooled_percentile(b, quantile)
        if base > 0:
            ratios.append(pooled_percentile(a, quantile) / base)
    if not ratios:
        return None
    tail = (1 - config.confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(low), float(high)


def pool(
    result: MetricComparison,
    before: Sequence[Sequence[float]],
    after: Sequence[Sequence[float]],
    quantile: float,
    better: Literal["lower", "higher"],
    config: CompareConfig = CompareConfig(),
) -> MetricComparison:
    """`result` with its figures from the pooled requests (see the module docstring)."""
    before_p, after_p = pooled_percentile(before, quantile), pooled_percentile(after, quantile)
    ratio = after_p / before_p if before_p > 0 else None
    verdict, reason = result.verdict, result.reason
    if verdict != "inconclusive":
        large = before_p != after_p if ratio is None else abs(ratio - 1) >= config.min_effect
        if result.p_value is not None and result.p_value < config.alpha and large:
            verdict = "improved" if (after_p < before_p) == (better == "lower") else "regressed"
        else:
            verdict = "no-change"
    return replace(
        result, before_median=before_p, after_median=after_p, ratio=ratio,
        ci95=pooled_ratio_ci(before, after, quantile, config), verdict=verdict, reason=reason,
    )  # fmt: skip


def median_is_lower_bound(values: Sequence[float], bounded: Sequence[bool]) -> bool:
    """Whether a side's median is only a lower bound: some bounded value lies at or below
    it, so its true value, higher, could raise the median."""
    if not values:
        return False
    middle = median(values)
    return any(
        is_bound and value <= middle for value, is_bound in zip(values, bounded, strict=True)
    )


def bounded_verdict(
    result: MetricComparison, before_bound: bool, after_bound: bool
) -> tuple[Verdict, str | None]:
    """The verdict once lower bounds are taken into account (see the module docstring)."""
    if not (before_bound or after_bound) or result.verdict == "inconclusive":
        return result.verdict, result.reason
    if before_bound and after_bound:
        return "inconclusive", "both ≥: two lower bounds say nothing of which side is higher"
    before, after = result.before_median, result.after_median
    assert before is not None and after is not None
    # A bounded side may truly be higher still: only an ordering where it already is the
    # higher one survives that.
    higher_side_bounded = after > before if after_bound else before > after
    if result.verdict in ("improved", "regressed") and higher_side_bounded:
        return result.verdict, result.reason
    side = "after" if after_bound else "before"
    return "inconclusive", f"the {side} side is only a lower bound (≥)"


def summarize(
    samples: Iterable[Sample],
    verification: Iterable[Verification],
    config: CompareConfig = CompareConfig(),
    pooled: Pooled | None = None,
) -> list[SummaryRow]:
    """The results.json `summary`: one row per (optimization, metric) with samples.

    Only valid samples count. An optimization whose verification failed is `broken`
    whatever its samples say.
    """
    values: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(
        lambda: {"before": [], "after": []}
    )
    # per value, the reason it is a lower bound ("" when exact), in the same order
    bounds: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(
        lambda: {"before": [], "after": []}
    )
    # requests behind the valid windows' percentiles, per side, where samples say so
    requests: dict[tuple[str, str], dict[str, int]] = {}
    for sample in samples:
        key = (sample["optimization"], sample["metric"])
        group = values[key]
        if sample["valid"] and "requests" in sample:
            behind = requests.setdefault(key, {"before": 0, "after": 0})
            behind[sample["variant"]] += sample["requests"]
        if sample["valid"]:
            group[sample["variant"]].append(sample["value"])
            why = sample.get("bound_reason", "") if sample.get("bound") == LOWER else ""
            bounds[key][sample["variant"]].append(why)
    failed = {v["optimization"]: v["detail"] for v in verification if not v["passed"]}
    rows: list[SummaryRow] = []
    for (optimization, metric_id), group in values.items():
        metric = METRICS[metric_id]
        result = compare(group["before"], group["after"], metric.better, config)
        windows = (pooled or {}).get((optimization, metric_id), {})
        pooling = (
            metric.pooled_quantile is not None
            and windows.get("before") and windows.get("after")
        )  # fmt: skip
        if pooling and metric.pooled_quantile is not None:
            result = pool(result, windows["before"], windows["after"],
                          metric.pooled_quantile, metric.better, config)  # fmt: skip
        expected: Expected | None = None
        if metric.current is not None and metric.optimized is not None:
            expected = {"current": metric.current, "optimized": metric.optimized}
        row: SummaryRow = {
            "optimization": optimization,
            "metric": metric_id,
            "before_median": result.before_median,
            "after_median": result.after_median,
            "ratio": result.ratio,
            "ci95": list(result.ci95) if result.ci95 else None,
            "p_value": result.p_value,
            "verdict": result.verdict,
            "expected": expected,
            "n_before": result.n_before,
            "n_after": result.n_after,
        }
        if pooling:
            row["requests_before"] = sum(len(w) for w in windows["before"])
            row["requests_after"] = sum(len(w) for w in windows["after"])
        elif (optimization, metric_id) in requests:
            row["requests_before"] = requests[(optimization, metric_id)]["before"]
            row["requests_after"] = requests[(optimization, metric_id)]["after"]
        sides = _bound_sides(group, bounds[(optimization, metric_id)])
        verdict, reason = bounded_verdict(result, "before" in sides, "after" in sides)
        row["verdict"] = verdict
        if sides:
            row["bound"] = LOWER
            row["bound_sides"] = list(sides)
            row["bound_reason"] = "; ".join(f"{side} ≥ ({why})" for side, why in sides.items())
        if optimization in failed:
            row["verdict"] = "broken"
            row["reason"] = f"verification failed: {failed[optimization]}"
        elif reason:
            row["reason"] = reason
        rows.append(row)
    return rows


def _bound_sides(values: dict[str, list[float]], reasons: dict[str, list[str]]) -> dict[Side, str]:
    """The sides whose median is a lower bound, each with its samples' reasons."""
    sides: dict[Side, str] = {}
    side: Side
    for side in ("before", "after"):
        bounded = [bool(reason) for reason in reasons[side]]
        if median_is_lower_bound(values[side], bounded):
            sides[side] = ", ".join(sorted({r for r in reasons[side] if r}))
    return sides


# The gate's power analysis: how small a regression a comparison of windows could detect.
POWER = 0.95
# Simulated comparisons per candidate shift; enough that the bisection's power estimate
# is within about 0.7 % (binomial sd at 95 %), with a fixed seed so checks repeat.
POWER_TRIALS = 4000
POWER_SEED = 20261206
BISECTION_STEPS = 14
# Shifts beyond this many noise sds are not searched: the comparison detects nothing.
MAX_SHIFT_SD = 64.0


def log_noise(reference: Sequence[float], current: Sequence[float]) -> float | None:
    """The windows' own noise: the pooled standard deviation of the log values, each side
    around its own mean (a shift between the sides is not noise). None when a value is
    not positive (no log) or there are fewer than three values in all."""
    values = [*reference, *current]
    dof = len(values) - 2
    if dof < 1 or min(values) <= 0 or min(len(reference), len(current)) < 1:
        return None
    squares = 0.0
    for side in (reference, current):
        logs = np.log(_array(side))
        squares += float(np.sum((logs - logs.mean()) ** 2))
    return math.sqrt(squares / dof)


@lru_cache(maxsize=256)
def _normal_draws(n_reference: int, n_current: int) -> tuple[FloatArray, FloatArray]:
    rng = np.random.default_rng(POWER_SEED)
    return rng.standard_normal((POWER_TRIALS, n_reference)), rng.standard_normal(
        (POWER_TRIALS, n_current)
    )


def mann_whitney_power(n_reference: int, n_current: int, shift_sd: float, alpha: float) -> float:
    """Share of simulated comparisons (normal noise, current shifted up by shift_sd sds)
    in which the one-sided Mann-Whitney test reaches p < alpha."""
    reference, current = _normal_draws(n_reference, n_current)
    result = stats.mannwhitneyu(current + shift_sd, reference, alternative="greater", axis=1)
    return float(np.mean(np.asarray(result.pvalue) < alpha))


@lru_cache(maxsize=1024)
def detectable_shift(n_reference: int, n_current: int, alpha: float, power: float = POWER) -> float:
    """The smallest shift, in sds of the noise, that the one-sided Mann-Whitney test at
    alpha detects with probability `power` at these sample counts; inf when the test
    cannot reach alpha at all (too few samples) or needs more than MAX_SHIFT_SD."""
    if min(n_reference, n_current) < 1:
        return math.inf
    if 1 / math.comb(n_reference + n_current, n_current) >= alpha:
        return math.inf
    low, high = 0.0, 1.0
    while mann_whitney_power(n_reference, n_current, high, alpha) < power:
        low, high = high, 2 * high
        if high > MAX_SHIFT_SD:
            return math.inf
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        if mann_whitney_power(n_reference, n_current, middle, alpha) >= power:
            high = middle
        else:
            low = middle
    return high


def detectable_regression(
    n_reference: int, n_current: int, noise: float, alpha: float, power: float = POWER
) -> float:
    """The smallest regression (0.2 = 20 % worse) detectable with probability `power` at
    these counts, for log-normal windows whose log values have sd `noise`."""
    shift = detectable_shift(n_reference, n_current, alpha, power)
    return math.inf if math.isinf(shift) else math.expm1(shift * noise)
