"""The gate's power analysis: how small a regression a comparison of windows could detect."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import stats

from harness.compare.stats import FloatArray, float_array

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
        logs = np.log(float_array(side))
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
