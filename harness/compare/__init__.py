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

An exact ladder value is still a bracket: the limit lies between the step that held and
the first that failed (`failed_at`). The ratio's CI then spans the brackets
(stats.bracketed_ratio_interval), so windows that all land on one bisection point do not
give an interval of width zero.
"""

from harness.compare.pooled import (
    POOLED_RESAMPLES,
    Pooled,
    pool,
    pooled_percentile,
    pooled_ratio_interval,
)
from harness.compare.power import (
    POWER,
    detectable_regression,
    detectable_shift,
    log_noise,
    mann_whitney_power,
)
from harness.compare.stats import (
    ALPHA,
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    MIN_EFFECT,
    MIN_SAMPLES,
    Alternative,
    Brackets,
    CompareConfig,
    MetricComparison,
    bracketed_ratio_interval,
    compare,
    mann_whitney_p,
    median,
    median_ci,
    ratio_ci,
    ratio_interval,
    ratio_of_medians,
    smallest_p,
)
from harness.compare.summary import bounded_verdict, median_is_lower_bound, summarize

__all__ = [
    "ALPHA",
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "CONFIDENCE",
    "MIN_EFFECT",
    "MIN_SAMPLES",
    "POOLED_RESAMPLES",
    "POWER",
    "Alternative",
    "Brackets",
    "CompareConfig",
    "MetricComparison",
    "Pooled",
    "bounded_verdict",
    "bracketed_ratio_interval",
    "compare",
    "detectable_regression",
    "detectable_shift",
    "log_noise",
    "mann_whitney_p",
    "mann_whitney_power",
    "median",
    "median_ci",
    "median_is_lower_bound",
    "pool",
    "pooled_percentile",
    "pooled_ratio_interval",
    "ratio_ci",
    "ratio_interval",
    "ratio_of_medians",
    "smallest_p",
    "summarize",
]
