"""The CI performance gate: a run against a stored baseline (or its own before), per policy.

Checks, one per (optimization, metric) with samples on both sides:

- **regression**: the run's `after` samples against the baseline's `after` samples (or, with
  `within`, the run's `before`). It fails when the one-sided Mann-Whitney U test says the
  run is worse with p < alpha AND the ratio of medians, oriented so that > 1 is worse,
  exceeds 1 + the metric's `max_regression`. Both conditions: significance alone cries
  wolf on a tiny but real drift, the ratio alone on noise.
- **expectation** (only where the policy sets `min_expected_share`, for the optimizations
  in `expected_from`): inside the run, after vs before must be `improved` and reach that
  share of the report's claim (a reduction of share x claimed %, an increase of
  1 + share x (claimed factor - 1), or share x a target value).
- **verification**: an optimization whose before and after answered differently fails.

How many samples a regression check needs follows from the metric's noise (`noise_cv`,
run-to-run coefficient of variation of one sample) by `required_samples`: enough that a
regression of `detect_regression` (15 %) is caught with probability `power` (99 %) while
the false-alarm rate stays below alpha (1 %). Fewer valid samples make a check
`skipped` as inconclusive, never passed silently (a failure with `fail_on_inconclusive`).
tests/gate/test_power.py shows both rates on synthetic samples with the noise measured on
the development machine (tests/cases/gate/noise.json).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import pydantic
from scipy import stats

from harness.compare import (
    Alternative,
    CompareConfig,
    compare,
    mann_whitney_p,
    median,
    ratio_ci,
)
from harness.errors import UserError
from harness.results import ALL, METRICS, Claim, Results

DEFAULT_POLICY = "policy.json"
# The gate's CI is only shown, not decided on: fewer resamples keep large checks quick.
GATE_RESAMPLES = 999
PASS_EXIT = 0
FAIL_EXIT = 1

Status = Literal["pass", "fail", "skip"]
# Asymptotic efficiency of Mann-Whitney U relative to the t-test on normal data is 3/pi.
MWU_EFFICIENCY = 3 / math.pi
# The sample median's standard error is sqrt(pi/2) times the mean's on normal data.
MEDIAN_SE_FACTOR = math.sqrt(math.pi / 2)


class MetricPolicy(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    max_regression: float = pydantic.Field(default=0.10, ge=0)
    # Run-to-run coefficient of variation of one sample; None: the policy's default.
    noise_cv: float | None = pydantic.Field(default=None, ge=0)
    min_expected_share: float | None = pydantic.Field(default=None, gt=0)
    expected_from: tuple[str, ...] = (ALL,)


class Policy(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    alpha: float = pydantic.Field(default=0.01, gt=0, lt=1)
    min_samples: int = pydantic.Field(default=5, ge=2)
    detect_regression: float = pydantic.Field(default=0.15, gt=0)
    # Designed above the 95 % target so that 100 trials reach 95 despite chance.
    power: float = pydantic.Field(default=0.99, gt=0, lt=1)
    noise_cv: float = pydantic.Field(default=0.45, ge=0)
    fail_on_inconclusive: bool = False
    default: MetricPolicy = pydantic.Field(default_factory=MetricPolicy)
    metrics: dict[str, MetricPolicy] = {}

    @pydantic.field_validator("metrics")
    @classmethod
    def _known_metrics(cls, metrics: dict[str, MetricPolicy]) -> dict[str, MetricPolicy]:
        unknown = sorted(set(metrics) - set(METRICS))
        if unknown:
            raise ValueError(f"unknown metric {unknown[0]!r} (known: {', '.join(METRICS)})")
        return metrics

    def for_metric(self, metric: str) -> MetricPolicy:
        return self.metrics.get(metric, self.default)

    def required_samples(self, metric: str) -> int:
        """Valid samples per side the regression check needs for this metric's noise.

        Samples are taken as log-normal with sigma from noise_cv. Two conditions must both
        hold for a true regression of detect_regression with probability `power`: the
        median ratio must land beyond 1 + max_regression (the median's standard error
        bounds that), and the one-sided Mann-Whitney test must reach alpha (normal
        approximation scaled by its efficiency). The larger count wins, never below
        min_samples. tests/gate/test_power.py checks the result by simulation.
        """
        rule = self.for_metric(metric)
        cv = self.noise_cv if rule.noise_cv is None else rule.noise_cv
        sigma = math.sqrt(math.log1p(cv**2))
        z_power = float(stats.norm.ppf(self.power))
        z_alpha = float(stats.norm.ppf(1 - self.alpha))
        shift = math.log1p(self.detect_regression)
        margin = shift - math.log1p(rule.max_regression)
        if margin <= 0:
            raise UserError(
                f"gate policy: {metric} allows {rule.max_regression:.0%} regression, so a "
                f"{self.detect_regression:.0%} regression cannot be caught."
            )
        n_ratio = 2 * (MEDIAN_SE_FACTOR * sigma * z_power / margin) ** 2
        n_test = 2 * (sigma * (z_alpha + z_power) / shift) ** 2 / MWU_EFFICIENCY
        return max(self.min_samples, math.ceil(max(n_ratio, n_test)))


@dataclass(frozen=True)
class Check:
    kind: Literal["regression", "expectation", "verification"]
    optimization: str
    metric: str | None
    status: Status
    message: str

    @property
    def name(self) -> str:
        return f"{self.kind}: {self.optimization}" + (f" / {self.metric}" if self.metric else "")


@dataclass(frozen=True)
class GateResult:
    checks: list[Check]
    reference: str

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def exit_code(self) -> int:
        return FAIL_EXIT if self.failed else PASS_EXIT


def load_policy(path: Path | None = None) -> Policy:
    """The policy file at path, or the packaged default; UserError on any fault."""
    if path is None:
        text = resources.files("harness.gate").joinpath(DEFAULT_POLICY).read_text(encoding="utf-8")
        source = f"default policy {DEFAULT_POLICY}"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise UserError(f"{path}: cannot read the policy ({error.strerror}).") from None
        source = str(path)
    try:
        return Policy.model_validate(json.loads(text))
    except json.JSONDecodeError as error:
        raise UserError(f"{source}: not valid JSON ({error}).") from None
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise UserError(f"{source}: invalid policy, {where}: {message}.") from None


def _valid(results: Results, variant: str) -> dict[tuple[str, str], list[float]]:
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for sample in results["samples"]:
        if sample["valid"] and sample["variant"] == variant:
            groups[(sample["optimization"], sample["metric"])].append(sample["value"])
    return groups


def check_regression(
    reference: list[float], current: list[float], metric: str, policy: Policy
) -> tuple[Status, str]:
    """The regression rule of this module's docstring, for one metric's samples."""
    allowed = policy.for_metric(metric).max_regression
    n_ref, n_cur = len(reference), len(current)
    needed = policy.required_samples(metric)
    if min(n_ref, n_cur) < needed:
        status: Status = "fail" if policy.fail_on_inconclusive else "skip"
        return status, (
            f"inconclusive: {n_ref} reference and {n_cur} current valid samples; at its "
            f"noise this metric needs {needed} each to catch a "
            f"{policy.detect_regression:.0%} regression"
        )
    lower_is_better = METRICS[metric].better == "lower"
    ref_median, cur_median = median(reference), median(current)
    worse: Alternative = "greater" if lower_is_better else "less"
    p = mann_whitney_p(reference, current, alternative=worse)
    if min(ref_median, cur_median) <= 0:
        worse_ratio = 1.0 if cur_median == ref_median else float("inf")
    else:
        worse_ratio = cur_median / ref_median if lower_is_better else ref_median / cur_median
    ci = ratio_ci(reference, current, CompareConfig(n_resamples=GATE_RESAMPLES))
    ci_text = f", ratio 95% CI {ci[0]:.3f}-{ci[1]:.3f}" if ci else ""
    detail = (
        f"median {ref_median:.4g} -> {cur_median:.4g} ({(worse_ratio - 1):+.1%} worse), "
        f"one-sided p={p:.3g}{ci_text}; allowed {allowed:.0%}"
    )
    if p < policy.alpha and worse_ratio > 1 + allowed:
        return "fail", f"regression: {detail}"
    return "pass", detail


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
    config = CompareConfig(alpha=policy.alpha, min_samples=policy.min_samples)
    result = compare(before, after, METRICS[metric].better, config)
    if result.verdict == "inconclusive" or result.after_median is None:
        status: Status = "fail" if policy.fail_on_inconclusive else "skip"
        return status, f"inconclusive: {result.reason}"
    ratio_text = f"ratio {result.ratio:.3g}" if result.ratio is not None else "no ratio"
    detail = (
        f"{result.verdict}, {ratio_text}, after median {result.after_median:.4g}; needs "
        f"{share:.0%} of the report's {METRICS[metric].improvement}"
    )
    ok = result.verdict == "improved" and reaches(claim, result.ratio, result.after_median, share)
    return ("pass" if ok else "fail"), detail


def run_gate(run: Results, baseline: Results | None, policy: Policy) -> GateResult:
    """All checks of a run; baseline None compares after with before inside the run."""
    current = _valid(run, "after")
    before = _valid(run, "before")
    reference = before if baseline is None else _valid(baseline, "after")
    label = "the run's own before" if baseline is None else f"baseline {baseline['run_id']}"
    checks: list[Check] = []
    for key in sorted(set(current) & set(reference)):
        optimization, metric = key
        status, message = check_regression(reference[key], current[key], metric, policy)
        checks.append(Check("regression", optimization, metric, status, message))
    for key in sorted(set(current) & set(before)):
        optimization, metric = key
        rule = policy.for_metric(metric)
        if rule.min_expected_share is not None and optimization in rule.expected_from:
            status, message = check_expectation(
                before[key], current[key], metric, rule.min_expected_share, policy
            )
            checks.append(Check("expectation", optimization, metric, status, message))
    for verification in run["verification"]:
        status = "pass" if verification["passed"] else "fail"
        checks.append(
            Check("verification", verification["optimization"], None, status,
                  verification["detail"])
        )  # fmt: skip
    if not any(c.kind == "regression" for c in checks):
        raise UserError(
            f"run {run['run_id']} and {label} have no (optimization, metric) in common to compare."
        )
    return GateResult(checks, label)
