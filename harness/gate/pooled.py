"""The regression check of a latency percentile from the requests behind it.

Where both runs kept their windows' request latencies (`latencies/` beside results.json),
a percentile metric (one with a `pooled_quantile`) is judged on each side's requests
pooled over its windows rather than on the windows' own percentiles: a short window's p95
rests on its few slowest requests, the pooled p95 on all of them. The percentile is read
between locust's whole-millisecond buckets (compare.pooled.interpolated_percentile): at a
p95 of 5 ms a bucket is 20 %, as wide as the regression the gate must see. Its noise comes from a
bootstrap that resamples each side's whole windows (harness.compare.pooled_ratio_draws),
so the drift between windows, the shared machine's busy and quiet spells, stays in it.

It fails as a regression when the ratio current / baseline passes 1 + `max_regression`
and fewer than `alpha` of the bootstrap ratios are at or below 1 (the one-sided bootstrap
test). The smallest regression it could detect with probability `power` is the shift of
the log ratio that clears the test's critical value that often, at the bootstrap's spread:
expm1((z(1 - alpha) + z(power)) * sd of the log ratios).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from harness.compare import CompareConfig
from harness.compare.pooled import interpolated_percentile, pooled_ratio_draws
from harness.gate.policy import Policy, Regression

# Resamples of whole windows: the tail share p < alpha = 0.02 rests on ~40 of them.
POOLED_GATE_RESAMPLES = 1999
POOLED_GATE_SEED = 20261206


def fmt_share(share: float) -> str:
    return "none" if math.isinf(share) else f"{share:.0%}"


def detectable_from_spread(log_sd: float, alpha: float, power: float) -> float:
    """The smallest regression (0.2 = 20 % worse) the one-sided test at alpha detects with
    probability `power`, for a log ratio whose sampling sd is `log_sd`."""
    z = float(stats.norm.ppf(1 - alpha) + stats.norm.ppf(power))
    return math.expm1(z * log_sd)


def pooled_verdict(
    reference: Sequence[Sequence[float]],
    current: Sequence[Sequence[float]],
    quantile: float,
    rule: Regression,
    policy: Policy,
) -> tuple[bool, float, str] | None:
    """(regressed, detectable, detail) for a lower-is-better latency percentile; None when
    a side has fewer than two windows or a resample's baseline percentile is 0."""
    config = CompareConfig(n_resamples=POOLED_GATE_RESAMPLES, seed=POOLED_GATE_SEED)
    draws = pooled_ratio_draws(reference, current, quantile, config, interpolate=True)
    ref_p = interpolated_percentile(reference, quantile)
    cur_p = interpolated_percentile(current, quantile)
    if isinstance(draws, str) or draws.size < POOLED_GATE_RESAMPLES or ref_p <= 0:
        return None
    ratio = cur_p / ref_p
    logs = np.log(draws)
    # the bootstrap p-value of "not worse", counting the observed ratio as one draw
    p = (int(np.sum(draws <= 1.0)) + 1) / (draws.size + 1)
    detectable = detectable_from_spread(float(np.std(logs, ddof=1)), policy.alpha, policy.power)
    low, high = np.percentile(draws, [2.5, 97.5])
    allowed = rule.max_regression
    change = f"{ratio - 1:.1%} worse" if ratio >= 1 else f"{1 - ratio:.1%} better"
    requests = f"{sum(map(len, reference))}/{sum(map(len, current))} requests"
    detail = (
        f"pooled p{quantile * 100:g} {ref_p:.4g} -> {cur_p:.4g} ({change}), bootstrap over "
        f"windows p={p:.3g}, current/baseline 95% CI {low:.3f}-{high:.3f}; "
        f"n={len(reference)}/{len(current)} windows, {requests}, "
        f"detectable {fmt_share(detectable)}, allowed {allowed:.0%}"
    )
    return p < policy.alpha and ratio > 1 + allowed, detectable, detail
