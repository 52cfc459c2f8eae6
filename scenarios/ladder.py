"""A load ladder run to failure: which load to try next, and what the steps so far measured.

Steps grow geometrically from `start` (1 user, 10 connections) until one misses its SLO;
with `bisect` (the full profile) the ladder then halves the gap between the last step
that held and the first that failed until it is within `resolution` of the former. A
ladder that stops for another reason says so, and its value is a lower bound: the load
generator at its limit on a step (harness.collect.cpu.saturated: any second of it above
SATURATED_CPU_PCT of a core), or the profile's safety ceiling held.

A concurrency step is judged on at least MIN_VERDICT_REQUESTS requests: the locust
process holds a step that misses its SLO on fewer until it has them (or STEP_HOLD_MAX_S
passes, and then says on how many it was judged), unless the ones it has already fail
any verdict on the minimum (two slow requests of 20 make its p95). A climbing step that
passes on fewer is `provisional`: the next step's pass confirms it, and when it is the
last to hold below the first failure the ladder holds its load again until it has them,
so both steps that decide the value stand on the minimum.

Pure and free of heavy imports (harness.collect.cpu brings psutil, which locust loads
anyway): the locust process (scenarios/locustfiles/concurrency.py) and the WebSocket
client process (scenarios/ws_client.py) drive a ladder themselves, and the scenarios read
its outcome.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from harness.collect.cpu import saturated

# The concurrency ladder's SLO per step (the report's bar for a usable API).
P95_SLO_MS = 500.0
MAX_ERROR_RATIO = 0.01
# A p95 of n requests is the ceil(0.95 n)-th slowest: up to 19 requests it is the
# maximum, so one slow request decides it (at one user, whichever kind locust happened
# to draw). From 20 on it is the second slowest or lower, and an error ratio of one in
# 20 already says more than "the only request failed".
MIN_VERDICT_REQUESTS = 20
# Enough slow requests (or errors) that a verdict on MIN_VERDICT_REQUESTS would fail
# whatever the others do: the p95 of 20 is its 19th fastest, so two slow ones fail it,
# and one error in 20 is over the error ratio. A step that has them ends at its hold time.
SLOW_TO_FAIL = MIN_VERDICT_REQUESTS - math.ceil(0.95 * MIN_VERDICT_REQUESTS) + 1
ERRORS_TO_FAIL = math.ceil(MAX_ERROR_RATIO * MIN_VERDICT_REQUESTS)
# The longest a step is held waiting for its requests: at one user the report's 1-3 s
# think time gives about 20 requests in 45 s.
STEP_HOLD_MAX_S = 60.0
LOWER = "lower"  # harness.results.LOWER: the scenarios' processes import nothing of harness


@dataclass(frozen=True)
class LadderSpec:
    """How a ladder climbs: from `start`, times `factor` a step, never above `ceiling`."""

    start: int
    factor: float
    ceiling: int
    bisect: bool
    # Bisection ends when the gap is at most this share of the last passing load.
    resolution: float = 0.1
    unit: str = "users"

    def __post_init__(self) -> None:
        if self.start < 1 or self.factor <= 1 or self.ceiling < self.start:
            raise ValueError(f"a ladder needs 1 <= start <= ceiling and factor > 1: {self}")


@dataclass(frozen=True)
class Step:
    """One held load: whether it met its SLO, why not, and whether the load generator
    reached its limit during it (then the step measured the harness, not the stack)."""

    load: int
    passed: bool
    loadgen_bound: bool = False
    detail: str = ""
    cpu_max_pct: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    # passed on fewer requests than the minimum while climbing (see the module docstring)
    provisional: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(**data)


@dataclass(frozen=True)
class Outcome:
    """The ladder's value: exact (`bound` None) or a lower bound with its reason."""

    value: int
    bound: str | None = None
    bound_reason: str | None = None
    # the first load that missed its SLO, when one did
    failed_at: int | None = None

    @property
    def bracket_top(self) -> float | None:
        """The first failing load of an exact value: its true limit lies below it."""
        return float(self.failed_at) if self.bound is None and self.failed_at else None


class Ladder:
    """Decides the next load from the steps recorded so far (see the module docstring)."""

    def __init__(self, spec: LadderSpec) -> None:
        self.spec = spec
        self.steps: list[Step] = []

    def record(self, step: Step) -> None:
        self.steps.append(step)

    def latest(self) -> dict[int, Step]:
        """Each load's last step: one held again stands for the load, not the first."""
        return {step.load: step for step in self.steps}

    def _passed(self) -> list[int]:
        return [s.load for s in self.latest().values() if s.passed and not s.loadgen_bound]

    def _failed(self) -> list[int]:
        return [s.load for s in self.latest().values() if not s.passed and not s.loadgen_bound]

    @property
    def climbing(self) -> bool:
        """Still in the geometric phase: no step has failed or hit a limit yet."""
        return not any(not s.passed or s.loadgen_bound for s in self.steps)

    def grow(self, load: int) -> int:
        """The geometric step after `load`, never above the ceiling."""
        return min(max(load + 1, math.floor(load * self.spec.factor)), self.spec.ceiling)

    def next_load(self) -> int | None:
        """The load of the next step, or None when the ladder is done."""
        if not self.steps:
            return self.spec.start
        last = self.steps[-1]
        if last.loadgen_bound:
            return None
        failed = self._failed()
        passed = self._passed()
        if not failed:
            return None if last.load >= self.spec.ceiling else self.grow(last.load)
        low = max((load for load in passed if load < min(failed)), default=0)
        if low and self.latest()[low].provisional:
            return low  # the value's step, held again until its pass stands on the minimum
        if not self.spec.bisect or low == 0:
            return None
        high = min(failed)
        if high - low <= max(1, self.spec.resolution * low):
            return None
        return (low + high) // 2

    def outcome(self) -> Outcome:
        failed = self._failed()
        first_failure = min(failed) if failed else None
        passed = [load for load in self._passed()
                  if first_failure is None or load < first_failure]  # fmt: skip
        value = max(passed, default=0)
        bound_step = next((s for s in self.steps if s.loadgen_bound), None)
        if bound_step is not None:
            return Outcome(
                value, LOWER,
                f"load-generator bound at {bound_step.load} {self.spec.unit}", first_failure,
            )  # fmt: skip
        if first_failure is None and value >= self.spec.ceiling:
            return Outcome(value, LOWER, f"ceiling {self.spec.ceiling}")
        return Outcome(value, failed_at=first_failure)


def judge_requests(
    users: int, times_ms: Sequence[float], errors: int, started: int, cpu_pct: Sequence[float]
) -> Step:
    """A users step from its requests: `started` of them began in it, `times_ms` are those
    that finished (`errors` of them failed); one still running when the step is judged
    has already taken longer than the SLO and counts as slow. Fewer than
    MIN_VERDICT_REQUESTS say so: the step was judged on what it had."""
    late = max(started - len(times_ms), 0)
    count = len(times_ms) + late
    cpu_max = max(cpu_pct, default=0.0)
    if count == 0:
        return Step(users, False, saturated(cpu_pct), "no request started", cpu_max)
    ordered = sorted(times_ms) + [math.inf] * late
    p95 = ordered[max(0, math.ceil(0.95 * count) - 1)]
    error_ratio = (errors + late) / count
    passed = p95 < P95_SLO_MS and error_ratio < MAX_ERROR_RATIO
    p95_text = f"{p95:.0f} ms" if math.isfinite(p95) else "unfinished"
    few = ""
    if count < MIN_VERDICT_REQUESTS:
        few = f", judged on fewer than {MIN_VERDICT_REQUESTS}"
        if certain_to_fail(times_ms, errors):
            few = f", so any {MIN_VERDICT_REQUESTS} would fail"
    return Step(
        users, passed, saturated(cpu_pct),
        f"p95 {p95_text}, errors {error_ratio:.1%} of {count} requests{few}", cpu_max,
        {"requests": count, "p95_ms": p95 if math.isfinite(p95) else None,
         "error_ratio": error_ratio},
    )  # fmt: skip


def certain_to_fail(times_ms: Sequence[float], errors: int) -> bool:
    """Whether these finished requests fail a verdict on MIN_VERDICT_REQUESTS, whatever
    the rest of them do."""
    slow = sum(t >= P95_SLO_MS for t in times_ms)
    return slow >= SLOW_TO_FAIL or errors >= ERRORS_TO_FAIL


def steady_phase_s(wait_min_s: float, wait_max_s: float) -> float:
    """How long a user of a steady load has still to think, at a random moment: the
    rest of a think time drawn by length (a long pause is more likely to be under way),
    uniform within it."""
    think_s = math.sqrt(wait_min_s**2 + random.random() * (wait_max_s**2 - wait_min_s**2))
    return random.uniform(0.0, think_s)


@dataclass
class Window:
    """One users step in flight: its users, when it ran, what its requests did."""

    users: int
    started: float
    ended: float | None = None
    requests_started: int = 0
    times_ms: list[float] = field(default_factory=list)
    errors: int = 0
    cpu_pct: list[float] = field(default_factory=list)
    # ended on a pass with fewer than the minimum of requests while climbing
    provisional: bool = False

    def holds(self, moment: float) -> bool:
        return self.started <= moment and (self.ended is None or moment < self.ended)

    def judge(self) -> Step:
        step = judge_requests(
            self.users, self.times_ms, self.errors, self.requests_started, self.cpu_pct
        )
        return replace(step, provisional=self.provisional and step.passed)

    def passing(self) -> bool:
        """Whether every request started so far has finished, within the SLO."""
        done = self.requests_started > 0 and len(self.times_ms) == self.requests_started
        return done and self.judge().passed

    def close_if_held(self, moment: float, step_s: float, climbing: bool) -> bool:
        """End the step once held long enough to be judged: its hold time `step_s` and
        the minimum of requests, or the longest hold, or a failure the rest of the
        minimum cannot undo, or (climbing) a pass on fewer."""
        held_s = moment - self.started
        if held_s < step_s:
            return False
        thin = self.requests_started < MIN_VERDICT_REQUESTS and held_s < STEP_HOLD_MAX_S
        if thin and not certain_to_fail(self.times_ms, self.errors):
            if not (climbing and self.passing()):
                return False
            self.provisional = True
        self.ended = moment
        return True


def held_nothing(spec: LadderSpec, steps: Sequence[Step], outcome: Outcome) -> str | None:
    """Why a ladder's value is 0: its first step missed the SLO (None when it is not 0)."""
    if outcome.value > 0 or outcome.failed_at is None:
        return None
    first = next(s for s in reversed(steps) if s.load == outcome.failed_at)
    return f"the first step missed the SLO ({spec.unit}: {first.load}; {first.detail})"


def replay(spec: LadderSpec, steps: Sequence[Step]) -> Outcome:
    """The outcome of steps a ladder process recorded."""
    ladder = Ladder(spec)
    for step in steps:
        ladder.record(step)
    return ladder.outcome()
