"""The gate's policy: a user-editable JSON file (policy.schema.json beside the default).

Like k6 thresholds and Lighthouse CI assertions, it holds per metric
- `limits`: absolute bounds on the optimized stack's median (`max`, `min`), each with a
  level: `error` fails the gate, `warn` only reports;
- `regressions`: relative rules against a baseline, `max_regression` (0.2: 20 % worse
  is tolerated) and `required` (an inconclusive check fails instead of being skipped);
  the key `default` applies to every metric not named;
- `expectations`: the share of the report's claim an optimization must reach inside the
  run (after vs before).
`alpha` is the one-sided Mann-Whitney test's level, `power` the probability with which a
check's printed smallest detectable regression is caught.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Literal, Self

import pydantic

from harness.errors import UserError
from harness.metrics import METRICS
from harness.results import ALL, OPTIMIZATIONS

DEFAULT_POLICY = "policy.json"
SCHEMA_FILE = "policy.schema.json"
DEFAULT_RULE = "default"
Level = Literal["error", "warn"]


def _known_metrics(names: dict[str, object], extra: tuple[str, ...] = ()) -> None:
    unknown = sorted(set(names) - set(METRICS) - set(extra))
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r} (known: {', '.join(METRICS)})")


class Limit(pydantic.BaseModel):
    """An absolute bound on a metric's median: `max` for lower-is-better, `min` for the rest."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    max: float | None = None
    min: float | None = None
    level: Level = "error"

    @pydantic.model_validator(mode="after")
    def _one_bound(self) -> Self:
        if self.max is None and self.min is None:
            raise ValueError("a limit needs max or min")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class Regression(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    max_regression: float = pydantic.Field(ge=0, le=10)
    required: bool = False


class Expectation(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    min_share: float = pydantic.Field(gt=0, le=1)
    optimizations: tuple[str, ...] = (ALL,)

    @pydantic.field_validator("optimizations")
    @classmethod
    def _known(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(names) - {ALL, *OPTIMIZATIONS})
        if unknown:
            raise ValueError(f"unknown optimization {unknown[0]!r}")
        return names


class Policy(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_ref: str | None = pydantic.Field(default=None, alias="$schema")
    description: str = ""
    alpha: float = pydantic.Field(default=0.02, gt=0, lt=0.5)
    power: float = pydantic.Field(default=0.95, gt=0.5, lt=1)
    # Limits hold the optimized stack: the end-to-end comparison's after.
    limits_on: str = ALL
    limits: dict[str, Limit] = {}
    # null turns the default off for a metric (a rate that is 0 has no ratio: use a limit)
    regressions: dict[str, Regression | None] = {}
    expectations: dict[str, Expectation] = {}

    @pydantic.field_validator("limits", "expectations")
    @classmethod
    def _metric_keys(cls, rules: dict[str, object]) -> dict[str, object]:
        _known_metrics(rules)
        return rules

    @pydantic.field_validator("regressions")
    @classmethod
    def _regression_keys(cls, rules: dict[str, Regression | None]) -> dict[str, Regression | None]:
        _known_metrics(dict(rules), (DEFAULT_RULE,))
        return rules

    def regression(self, metric: str) -> Regression | None:
        """The metric's relative rule: its own, else the default; None: not compared."""
        if metric in self.regressions:
            return self.regressions[metric]
        return self.regressions.get(DEFAULT_RULE)


def policy_schema() -> dict[str, object]:
    """The JSON schema of a policy file (policy.schema.json is this, written out)."""
    return Policy.model_json_schema(by_alias=True)


def load_policy(path: Path | None = None) -> Policy:
    """The policy file at path, or the packaged default; UserError (one line) on any fault."""
    if path is None:
        text = resources.files("harness.gate").joinpath(DEFAULT_POLICY).read_text("utf-8")
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
