"""The statistics of one before/after comparison: medians, the ratio of medians with its
bootstrap CI, the Mann-Whitney U test, and the verdict they give together."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence, Sized
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from harness.results import Verdict

ALPHA = 0.05
MIN_EFFECT = 0.05  # smallest |ratio - 1| that counts as a change
MIN_SAMPLES = 3  # valid samples per side
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 9999
# A fixed seed makes a report's CIs reproducible from its results.json.
BOOTSTRAP_SEED = 20261129

Alternative = Literal["two-sided", "greater", "less"]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Brackets:
    """One side's windows as brackets: each true value lies in [values[i], upper[i]]."""

    values: Sequence[float]
    upper: Sequence[float]

    @property
    def exact(self) -> bool:
        return all(u == v for v, u in zip(self.values, self.upper, strict=True))


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
    # Why ci95 is None, when it is.
    ci_reason: str | None = None


def too_few_windows(before: Sized, after: Sized) -> str | None:
    """Why a bootstrap over windows has no interval when a side has one window (its
    resamples would all be that window), else None."""
    return "fewer than two windows a side" if min(len(before), len(after)) < 2 else None


def float_array(values: Iterable[float]) -> FloatArray:
    return np.asarray(list(values), dtype=np.float64)


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    return float(np.median(float_array(values)))


def ratio_of_medians(before: Sequence[float], after: Sequence[float]) -> float | None:
    """after / before medians; None when the before median is 0 (no finite ratio)."""
    base = median(before)
    return None if base == 0 else median(after) / base


def _ratio_statistic(before: FloatArray, after: FloatArray, axis: int = -1) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio: FloatArray = np.median(after, axis=axis) / np.median(before, axis=axis)
    return ratio


def ratio_interval(
    before: Sequence[float], after: Sequence[float], config: CompareConfig = CompareConfig()
) -> tuple[float, float] | str:
    """Bootstrap CI of the ratio of medians (independent resampling of each side), or why
    there is none.

    Percentile intervals rather than BCa: with a handful of samples the median's bootstrap
    distribution is lumpy and BCa's acceleration estimate turns unstable (NaN bounds).
    """
    if why := too_few_windows(before, after):
        return why
    if median(before) == 0:
        return "before median is 0"
    # A before with windows of 0 gives some resamples an infinite ratio, or none at all
    # (0 / 0) where the after has them too; numpy and scipy warn of them (inf - inf, NaN
    # bounds), and the bounds below say so instead.
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        result = stats.bootstrap(
            (float_array(before), float_array(after)),
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
        return "some of the before's windows are 0, so resampled ratios are unbounded"
    return low, high


def ratio_ci(
    before: Sequence[float], after: Sequence[float], config: CompareConfig = CompareConfig()
) -> tuple[float, float] | None:
    """ratio_interval's bounds; None where it has none."""
    interval = ratio_interval(before, after, config)
    return None if isinstance(interval, str) else interval


def bracketed_ratio_interval(
    before: Brackets, after: Brackets, config: CompareConfig = CompareConfig()
) -> tuple[float, float] | str:
    """The ratio's CI when each window's true value is known only to lie in a bracket
    [value, upper] (a ladder's last step that held and its first that failed).

    In every resample the ratio of medians can only rise with an after value and only fall
    with a before value, and the resamples draw the same windows whatever the values (a
    fixed seed, the same sizes), so each percentile bound is monotone in the values too.
    The interval from the afters' lows over the befores' highs to the afters' highs over
    the befores' lows therefore holds the interval of any true values within the brackets;
    with every window on the same bisection point, the values alone would give a width of
    zero."""
    low = ratio_interval(before.upper, after.values, config)
    high = ratio_interval(before.values, after.upper, config)
    if isinstance(high, str):
        return high
    if isinstance(low, str):
        return low
    return low[0], high[1]


def median_ci(
    values: Sequence[float], config: CompareConfig = CompareConfig()
) -> tuple[float, float] | None:
    """Bootstrap CI of one side's median (percentile method, as for the ratio)."""
    if len(values) < 2:
        return None
    result = stats.bootstrap(
        (float_array(values),),
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
    """Mann-Whitney U p-value of after vs before; 1.0 when every value is the same.

    With ties scipy uses the normal approximation, which at a few windows a side gives
    p-values no arrangement of the ranks can: the exact test's smallest is the floor
    (three identical before windows and four after ones gave 0.0497 below its 0.057)."""
    result = stats.mannwhitneyu(float_array(after), float_array(before), alternative=alternative)
    p = float(result.pvalue)
    if math.isnan(p):
        return 1.0
    floor = smallest_p(len(before), len(after))
    return max(p, floor / 2 if alternative != "two-sided" else floor)


def smallest_p(n_before: int, n_after: int) -> float:
    """The smallest two-sided p the exact Mann-Whitney test can give at these sizes."""
    return 2.0 / math.comb(n_before + n_after, n_before)


def compare(
    before: Sequence[float],
    after: Sequence[float],
    better: Literal["lower", "higher"],
    config: CompareConfig = CompareConfig(),
    *,
    before_upper: Sequence[float] | None = None,
    after_upper: Sequence[float] | None = None,
) -> MetricComparison:
    """Compare valid samples of one metric; the verdict follows the module's rules.

    `before_upper` / `after_upper`, where given, bound each window's true value from above
    (a ladder's first failing step): the CI is then bracketed_ratio_interval's."""
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
            "too few valid samples",
        )
    before_median, after_median = median(before), median(after)
    ratio = ratio_of_medians(before, after)
    sides = Brackets(before, before_upper or before), Brackets(after, after_upper or after)
    interval = (
        ratio_interval(before, after, config)
        if all(side.exact for side in sides)
        else bracketed_ratio_interval(*sides, config)
    )
    ci, ci_reason = (None, interval) if isinstance(interval, str) else (interval, None)
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
        n_before, n_after, before_median, after_median, ratio, ci, p, verdict, reason, ci_reason
    )
