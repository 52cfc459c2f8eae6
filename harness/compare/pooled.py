"""Pooled latency percentiles: a side's percentile of all its windows' requests together,
and the ratio's CI from a bootstrap over whole windows (each resample draws whole windows,
so the rounds' drift stays in the interval)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Literal

import numpy as np

from harness.compare.stats import (
    CompareConfig,
    FloatArray,
    MetricComparison,
    float_array,
    too_few_windows,
)

# Each resample of a pooled percentile pools whole windows again: fewer resamples.
POOLED_RESAMPLES = 1999
# (optimization, metric) -> side -> one list of request latencies per valid window
Pooled = Mapping[tuple[str, str], Mapping[str, Sequence[Sequence[float]]]]


def pooled_percentile(windows: Sequence[Sequence[float]], quantile: float) -> float:
    """The `quantile` of all the windows' requests together: the smallest latency at or
    below which that share of them falls (locust's rule)."""
    pooled = np.sort(np.concatenate([float_array(w) for w in windows]))
    if pooled.size == 0:
        raise ValueError("a percentile of no requests")
    return float(pooled[max(0, math.ceil(quantile * pooled.size) - 1)])


def pooled_ratio_interval(
    before: Sequence[Sequence[float]],
    after: Sequence[Sequence[float]],
    quantile: float,
    config: CompareConfig = CompareConfig(),
) -> tuple[float, float] | str:
    """Bootstrap CI of after / before pooled percentiles, resampling whole windows; or why
    there is none (pooled_ratio_draws')."""
    ratios = pooled_ratio_draws(before, after, quantile, config)
    if isinstance(ratios, str):
        return ratios
    tail = (1 - config.confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(low), float(high)


def pooled_ratio_draws(
    before: Sequence[Sequence[float]],
    after: Sequence[Sequence[float]],
    quantile: float,
    config: CompareConfig = CompareConfig(),
    *,
    interpolate: bool = False,
) -> FloatArray | str:
    """The bootstrap distribution of after / before pooled percentiles: each resample draws
    each side's windows with replacement (so the drift between windows is in it) and pools
    their requests; a resample whose before percentile is 0 has no ratio and is left out.
    With `interpolate`, each percentile is interpolated_percentile's rather than locust's
    rule. Where no resample has a ratio, why not."""
    if why := too_few_windows(before, after):
        return why
    resamples = min(config.n_resamples, POOLED_RESAMPLES)
    rng = np.random.default_rng(config.seed)
    before_p, after_p = (
        _bucket_percentiles(side, quantile, _draws(len(side), resamples, rng), interpolate)
        for side in (before, after)
    )
    keep = before_p > 0
    if not keep.any():
        return "the before's pooled percentile is 0 in every resample"
    return float_array(after_p[keep] / before_p[keep])


def interpolated_percentile(windows: Sequence[Sequence[float]], quantile: float) -> float:
    """The `quantile` of the windows' requests pooled, read between locust's buckets: a
    request kept as 5 ms took 4.5 to 5.5 ms (LOCUST_BUCKET_WIDTH), spread evenly over it.
    Unlike the bucket's own value it moves with every request that crosses it, so two
    runs whose percentile sits at a bucket's edge do not differ by a whole bucket."""
    every = np.ones((1, len(windows)))
    return float(_bucket_percentiles(windows, quantile, every, interpolate=True)[0])


def bucket_width_ms(values: FloatArray) -> FloatArray:
    """The width of locust's response-time bucket at each value: it keeps whole ms below
    100 ms, two significant figures above (10 ms buckets to 1 s, 100 ms to 10 s, ...)."""
    digits = np.floor(np.log10(np.maximum(values, 1.0)))
    return float_array(10.0 ** np.maximum(digits - 1, 0))


def _draws(windows: int, resamples: int, rng: np.random.Generator) -> FloatArray:
    """How often each resample draws each window (rows: resamples)."""
    picks = rng.integers(0, windows, (resamples, windows))
    chosen = np.zeros((resamples, windows))
    np.add.at(chosen, (np.arange(resamples)[:, None], picks), 1)
    return chosen


def _bucket_percentiles(
    windows: Sequence[Sequence[float]], quantile: float, chosen: FloatArray, interpolate: bool
) -> FloatArray:
    """The pooled percentile of each row of `chosen` (times each window is drawn), all at
    once: each window as its counts of each distinct latency, a draw as the weighted sum
    of its windows' counts (locust's latencies are bucketed: few distinct values)."""
    values, inverse = np.unique(np.concatenate([float_array(w) for w in windows]),
                                return_inverse=True)  # fmt: skip
    counts = np.zeros((len(windows), values.size))
    start = 0
    for row, window in enumerate(windows):
        np.add.at(counts[row], inverse[start : start + len(window)], 1)
        start += len(window)
    pooled = chosen @ counts
    cumulative = np.cumsum(pooled, axis=1)
    totals = cumulative[:, -1]
    if not interpolate:
        # locust's rule, as in pooled_percentile: the ceil(q * n)-th smallest request
        rank = np.maximum(np.ceil(quantile * totals), 1)
        index = np.minimum((cumulative < rank[:, None]).sum(axis=1), values.size - 1)
        return float_array(values[index])
    rank = quantile * totals
    index = np.minimum((cumulative < rank[:, None]).sum(axis=1), values.size - 1)
    rows = np.arange(len(chosen))
    below = cumulative[rows, index] - pooled[rows, index]
    share = (rank - below) / np.maximum(pooled[rows, index], 1e-12)
    width = bucket_width_ms(values)[index]
    return float_array(values[index] - width / 2 + np.clip(share, 0, 1) * width)


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
    interval = pooled_ratio_interval(before, after, quantile, config)
    ci, ci_reason = (None, interval) if isinstance(interval, str) else (interval, None)
    return replace(
        result, before_median=before_p, after_median=after_p, ratio=ratio,
        ci95=ci, verdict=verdict, reason=reason, ci_reason=ci_reason,
    )  # fmt: skip
