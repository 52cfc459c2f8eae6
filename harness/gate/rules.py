"""The CI gate's checks of a run, per policy (harness/gate/policy.py).

- **limit**: the optimized stack's median (the `limits_on` comparison's after) against an
  absolute `max` or `min`; level `error` fails, `warn` reports.
- **regression**: the run's after windows against the baseline's after windows (or, with
  `within`, the run's before). It fails when the one-sided Mann-Whitney test says the run
  is worse with p < alpha, the ratio of medians, oriented so that > 1 is worse, passes
  1 + `max_regression`, and its bootstrap 95 % CI lies wholly on the worse side:
  significance alone cries wolf on a tiny real drift, the ratio alone on noise.
  Otherwise the check prints the smallest regression it could have detected with
  probability `power` at its sample counts and the windows' own noise
  (`detectable_regression`); when that exceeds `max_regression` the check is
  inconclusive: skipped, or failed when the rule is `required`.
  A latency percentile whose windows' request latencies both runs kept is judged on the
  requests pooled over the windows instead, its noise from a bootstrap over whole
  windows (harness/gate/pooled.py).
- **expectation**: inside the run, after vs before must be `improved` and reach
  `min_share` of the report's claim.
- **verification**: a broken comparison fails: its before and after answered differently,
  a probe did not see the problem in its before or the fix in its after, or the app's
  statement counter disagreed with pg_stat_statements (results.json `verification` parts).

A side whose windows are lower bounds ("≥ N", a ladder that hit its ceiling) is compared
as one: the true worse-ratio is then only known to lie above or below the measured one,
so only the verdict that bound supports stands; the other is inconclusive.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from harness.compare import (
    Alternative,
    CompareConfig,
    compare,
    detectable_regression,
    log_noise,
    mann_whitney_p,
    median,
    median_is_lower_bound,
    ratio_ci,
)
from harness.compare.pooled import Pooled
from harness.errors import UserError
from harness.gate.policy import Limit, Policy, Regression
from harness.gate.pooled import fmt_share, pooled_verdict
from harness.metrics import METRICS, Claim
from harness.results import LOWER, Results

# The gate's CI is only shown, not decided on: fewer resamples keep large checks quick.
GATE_RESAMPLES = 999
PASS_EXIT = 0
FAIL_EXIT = 1

Status = Literal["pass", "fail", "warn", "skip"]
Kind = Literal["limit", "regression", "expectation", "verification"]


@dataclass(frozen=True)
class Check:
    kind: Kind
    optimization: str
    metric: str | None
    status: Status
    message: str
    # regression checks: the smallest regression detectable at this check's sample counts
    # (0.2 = 20 % worse; inf: none), and the tolerance it was held to
    detectable: float | None = None
    allowed: float | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}: {self.optimization}" + (f" / {self.metric}" if self.metric else "")


# A regression check's result from its status, message and detectable regression.
_Result = Callable[[Status, str, float | None], Check]


@dataclass(frozen=True)
class GateResult:
    checks: list[Check]
    reference: str
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def exit_code(self) -> int:
        return FAIL_EXIT if self.failed else PASS_EXIT


@dataclass
class Windows:
    """One side of a comparison: valid window values, and whether its median is only a
    lower bound (compare.median_is_lower_bound)."""

    values: list[float] = field(default_factory=list)
    lower_bound: bool = False
    # each window's request latencies, where the run kept them for every valid window
    requests: list[list[float]] | None = None


def _valid(
    results: Results, variant: str, latencies: Pooled | None = None
) -> dict[tuple[str, str], Windows]:
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    bounded: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for sample in results["samples"]:
        if sample["valid"] and sample["variant"] == variant:
            key = (sample["optimization"], sample["metric"])
            values[key].append(sample["value"])
            bounded[key].append(sample.get("bound") == LOWER)
    windows = {}
    for key, side in values.items():
        requests = [list(w) for w in (latencies or {}).get(key, {}).get(variant, [])]
        windows[key] = Windows(
            side, median_is_lower_bound(side, bounded[key]),
            requests if len(requests) == len(side) else None,
        )  # fmt: skip
    return windows


def _worse_ratio(reference: float, current: float, lower_is_better: bool) -> float:
    """current relative to reference, > 1 when current is worse."""
    if min(reference, current) <= 0:
        if current == reference:
            return 1.0
        worse = current > reference if lower_is_better else current < reference
        return math.inf if worse else 0.0
    return current / reference if lower_is_better else reference / current


def _noise(reference: list[float], current: list[float]) -> float | None:
    """The windows' noise in log units; for values at or below 0, the pooled spread
    relative to the reference's median (None when that median is 0)."""
    noise = log_noise(reference, current)
    if noise is not None:
        return noise
    level = abs(median(reference))
    if level == 0 or len(reference) + len(current) < 3:
        return None
    spread = [v - median(reference) for v in reference] + [v - median(current) for v in current]
    dof = len(spread) - 2
    return math.sqrt(sum(d * d for d in spread) / max(dof, 1)) / level


def check_regression(
    reference: Windows, current: Windows, metric: str, rule: Regression, policy: Policy
) -> Check:
    """The regression rule of this module's docstring, for one metric's windows."""
    allowed = rule.max_regression
    n_ref, n_cur = len(reference.values), len(current.values)

    def result(status: Status, message: str, detectable: float | None = None) -> Check:
        return Check("regression", "", metric, status, message, detectable, allowed)

    if min(n_ref, n_cur) < 2:
        status: Status = "fail" if rule.required else "skip"
        return result(status, f"inconclusive: {n_ref} reference and {n_cur} current valid "
                              "windows, at least 2 each needed")  # fmt: skip
    lower_is_better = METRICS[metric].better == "lower"
    quantile = METRICS[metric].pooled_quantile
    pooled = (
        None if quantile is None or reference.requests is None or current.requests is None
        or reference.lower_bound or current.lower_bound or not lower_is_better
        else pooled_verdict(reference.requests, current.requests, quantile, rule, policy)
    )  # fmt: skip
    if pooled is not None:
        return _decide(*pooled, rule, result)
    # (windows' percentiles all alike in whole ms may still hide their requests moving)
    if len({*reference.values, *current.values}) == 1 and not (
        reference.lower_bound or current.lower_bound
    ):
        return result("pass", f"every window the same value, {reference.values[0]:.4g}: any "
                              f"change detectable; n={n_ref}/{n_cur}, allowed {allowed:.0%}",
                      0.0)  # fmt: skip
    ref_median, cur_median = median(reference.values), median(current.values)
    worse: Alternative = "greater" if lower_is_better else "less"
    p = mann_whitney_p(reference.values, current.values, alternative=worse)
    ratio = _worse_ratio(ref_median, cur_median, lower_is_better)
    noise = _noise(reference.values, current.values)
    detectable = (
        math.inf if noise is None
        else detectable_regression(n_ref, n_cur, noise, policy.alpha, policy.power)
    )  # fmt: skip
    ci = ratio_ci(reference.values, current.values, CompareConfig(n_resamples=GATE_RESAMPLES))
    ci_text = f", current/baseline 95% CI {ci[0]:.3f}-{ci[1]:.3f}" if ci else ""
    ref_text = ("≥ " if reference.lower_bound else "") + f"{ref_median:.4g}"
    cur_text = ("≥ " if current.lower_bound else "") + f"{cur_median:.4g}"
    change = (
        "no ratio" if math.isinf(ratio)
        else f"{ratio - 1:.1%} worse" if ratio >= 1 else f"{1 - ratio:.1%} better"
    )  # fmt: skip
    detail = (
        f"median {ref_text} -> {cur_text} ({change}), one-sided p={p:.3g}{ci_text}; "
        f"n={n_ref}/{n_cur}, detectable {fmt_share(detectable)}, allowed {allowed:.0%}"
    )
    # the bootstrap CI of current/baseline must exclude "no worse" too: with few windows
    # of a bimodal noise (a machine busy for part of a run) the rank test alone cries wolf
    ci_worse = ci is not None and (ci[0] > 1 if lower_is_better else ci[1] < 1)
    regressed = p < policy.alpha and ratio > 1 + allowed and ci_worse
    # Which way a lower bound moves the true worse-ratio (see the module's docstring):
    # the side where "more" is worse being a bound makes the ratio a lower bound of the
    # truth (a regression stands), the other side makes it an upper bound (a pass stands).
    worse_side_bound = current.lower_bound if lower_is_better else reference.lower_bound
    better_side_bound = reference.lower_bound if lower_is_better else current.lower_bound
    if worse_side_bound and better_side_bound:
        if not lower_is_better and cur_median >= ref_median:
            return result("pass", f"both lower bounds, current at least the baseline: {detail}",
                          detectable)  # fmt: skip
        return result("skip", f"inconclusive: both sides are lower bounds: {detail}", detectable)
    if regressed:
        if better_side_bound:
            return result("skip", "inconclusive: worse than a lower bound, which the truth may "
                                  f"exceed: {detail}", detectable)  # fmt: skip
        return result("fail", f"regression: {detail}", detectable)
    if worse_side_bound and ratio > 1:
        return result("skip", f"inconclusive: a lower bound, the truth may be worse: {detail}",
                      detectable)  # fmt: skip
    if better_side_bound and ratio <= 1:
        return result("pass", f"no regression (a lower bound at least the baseline): {detail}",
                      detectable)  # fmt: skip
    return _decide(False, detectable, detail, rule, result)


def _decide(
    regressed: bool, detectable: float, detail: str, rule: Regression, result: _Result
) -> Check:
    if regressed:
        return result("fail", f"regression: {detail}", detectable)
    if detectable > rule.max_regression:
        status: Status = "fail" if rule.required else "skip"
        return result(status, f"inconclusive: could detect only {fmt_share(detectable)} at "
                              f"this noise and these counts: {detail}", detectable)  # fmt: skip
    return result("pass", detail, detectable)


def check_limit(windows: Windows, metric: str, limit: Limit) -> tuple[Status, str]:
    """The median against the limit; a lower-bound median decides only what it can."""
    value = median(windows.values)
    unit = METRICS[metric].unit
    shown = ("≥ " if windows.lower_bound else "") + f"{value:.4g} {unit}"
    broken: Status = "fail" if limit.level == "error" else "warn"
    if limit.max is not None and value > limit.max:
        return broken, f"median {shown} above the limit {limit.max:g} ({limit.level})"
    if limit.min is not None and value < limit.min:
        if windows.lower_bound:
            return "skip", f"inconclusive: median {shown} is a lower bound below min {limit.min:g}"
        return broken, f"median {shown} below the limit {limit.min:g} ({limit.level})"
    if limit.max is not None and windows.lower_bound:
        return "skip", f"inconclusive: median {shown} is a lower bound, max {limit.max:g}"
    bounds = " and ".join(
        f"{word} {v:g}" for word, v in (("min", limit.min), ("max", limit.max)) if v is not None
    )
    return "pass", f"median {shown} within {bounds}"


def reaches(claim: Claim, ratio: float | None, after_median: float, share: float) -> bool:
    """Does a measured change reach `share` of the report's claim?"""
    if claim.kind == "target":
        return after_median >= share * claim.amount
    if ratio is None:
        return False
    if claim.kind == "reduction":
        return ratio <= 1 - share * claim.amount
    return ratio >= 1 + share * (claim.amount - 1)


def check_expectation(
    before: list[float], after: list[float], metric: str, share: float, policy: Policy
) -> tuple[Status, str]:
    claim = METRICS[metric].claim
    if claim is None:
        return "skip", f"{metric} has no claim in the report"
    config = CompareConfig(alpha=policy.alpha)
    result = compare(before, after, METRICS[metric].better, config)
    if result.verdict == "inconclusive" or result.after_median is None:
        return "skip", f"inconclusive: {result.reason}"
    ratio_text = f"ratio {result.ratio:.3g}" if result.ratio is not None else "no ratio"
    detail = (
        f"{result.verdict}, {ratio_text}, after median {result.after_median:.4g}; needs "
        f"{share:.0%} of the report's {METRICS[metric].improvement}"
    )
    ok = result.verdict == "improved" and reaches(claim, result.ratio, result.after_median, share)
    return ("pass" if ok else "fail"), detail


def run_gate(
    run: Results,
    baseline: Results | None,
    policy: Policy,
    latencies: Pooled | None = None,
    baseline_latencies: Pooled | None = None,
) -> GateResult:
    """All checks of a run; baseline None compares after with before inside the run.
    Given the runs' request latencies (results.pooled_latencies), percentile metrics are
    judged on the pooled requests (harness/gate/pooled.py)."""
    current = _valid(run, "after", latencies)
    before = _valid(run, "before", latencies)
    reference = before if baseline is None else _valid(baseline, "after", baseline_latencies)
    label = "the run's own before" if baseline is None else f"baseline {baseline['run_id']}"
    checks: list[Check] = []
    for (optimization, metric), windows in sorted(current.items()):
        limit = policy.limits.get(metric)
        if limit is not None and optimization == policy.limits_on and windows.values:
            status, message = check_limit(windows, metric, limit)
            checks.append(Check("limit", optimization, metric, status, message))
    compared = 0
    for key in sorted(set(current) & set(reference)):
        optimization, metric = key
        rule = policy.regression(metric)
        if rule is None:
            continue
        compared += 1
        check = check_regression(reference[key], current[key], metric, rule, policy)
        checks.append(
            Check("regression", optimization, metric, check.status, check.message,
                  check.detectable, check.allowed)
        )  # fmt: skip
    for optimization, metric in sorted(set(current) & set(before)):
        expectation = policy.expectations.get(metric)
        if expectation is not None and optimization in expectation.optimizations:
            status, message = check_expectation(
                before[(optimization, metric)].values, current[(optimization, metric)].values,
                metric, expectation.min_share, policy,
            )  # fmt: skip
            checks.append(Check("expectation", optimization, metric, status, message))
    for verification in run["verification"]:
        status = "pass" if verification["passed"] else "fail"
        detail = verification["detail"] if verification["passed"] else (
            f"broken comparison: {verification['detail']}"
        )  # fmt: skip
        checks.append(Check("verification", verification["optimization"], None, status, detail))
    broken = any(c.kind == "verification" and c.status == "fail" for c in checks)
    if not compared and not broken:
        raise UserError(
            f"run {run['run_id']} and {label} have no (optimization, metric) in common that "
            "the policy compares."
        )
    return GateResult(checks, label)
