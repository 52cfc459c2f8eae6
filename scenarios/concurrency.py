"""The concurrency scenario: how many of the report's users the API serves within its SLO.

The users of the report's locustfile (scenarios/locustfiles/concurrency.py: logged in,
list x3, stats x2, search x1, 1-3 s think time) on a ladder (scenarios/ladder.py) from
one user up, until a step's p95 passes 500 ms or its errors 1 %. `concurrent_users` is
the last step that held, exact; or a lower bound when the ladder stopped at its ceiling
or at the load generator's limit.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from pathlib import Path

from harness.load.local import run_locust
from harness.load.spec import LOCUSTFILES, LocustSpec
from harness.runtime.target import Target
from scenarios.api import bench_project_ids
from scenarios.base import Measurement, WindowRecord
from scenarios.ladder import (
    MIN_VERDICT_REQUESTS,
    STEP_HOLD_MAX_S,
    LadderSpec,
    Outcome,
    Step,
    held_nothing,
    replay,
)
from scenarios.profiles import REPORT_WAIT_S, MeasureProfile

# The last step's slow requests must finish and count, not be cut off.
STOP_TIMEOUT_S = 15.0
# What a step costs beyond its hold: judging it, spawning its users (locustfile).
STEP_OVERHEAD_S = 3.0


def ladder_steps(spec: LadderSpec) -> int:
    """The most steps a ladder can take: the geometric climb, then the bisection."""
    climb = math.ceil(math.log(spec.ceiling / spec.start, spec.factor)) + 1
    return climb + (math.ceil(math.log2(spec.ceiling)) if spec.bisect else 0)


def ladder_duration_s(spec: LadderSpec, step_s: float) -> float:
    """The longest a ladder can run: every step held for its time, and each step below
    MIN_VERDICT_REQUESTS users (one request a user may take a step) held to the longest
    hold twice (failing, then again as the last to hold below a failure)."""
    thin_steps = max(0, math.ceil(math.log(MIN_VERDICT_REQUESTS / spec.start, spec.factor)))
    return ladder_steps(spec) * (step_s + STEP_OVERHEAD_S) + 2 * thin_steps * STEP_HOLD_MAX_S


def decided(spec: LadderSpec, steps: list[Step], outcome: Outcome) -> tuple[str | None, int]:
    """What decided a ladder's value, in words, and how many requests stand behind it: the
    last step that held and the first that failed (a load held again counts once, last)."""
    latest = {step.load: step for step in steps}
    deciding = [latest[load] for load in (outcome.value, outcome.failed_at) if load in latest]
    requests = sum(step.extra.get("requests", 0) for step in deciding)
    if outcome.value == 0:
        return held_nothing(spec, steps, outcome), requests
    held = latest[outcome.value].extra.get("requests", 0)
    words = f"held {outcome.value} {spec.unit} on {held} requests"
    if outcome.failed_at is not None:
        words += f"; {outcome.failed_at} failed ({latest[outcome.failed_at].detail})"
    return words, requests


class ConcurrencyScenario:
    name = "concurrency"
    metrics = ("concurrent_users",)

    def __init__(self) -> None:
        self.project_ids: list[int] = []

    def prepare(self, target: Target, profile: MeasureProfile) -> None:
        self.project_ids = bench_project_ids(target.database_url)

    def warm_up(self, target: Target, profile: MeasureProfile, out_dir: Path) -> None:
        """The runner's warm-up after each restart drives the same requests."""

    def run(self, target: Target, profile: MeasureProfile, out_dir: Path) -> WindowRecord:
        out_dir.mkdir(parents=True, exist_ok=True)
        samples_file = out_dir / "concurrency-steps.json"
        samples_file.unlink(missing_ok=True)
        spec = profile.users_ladder
        ladder = {k: v for k, v in asdict(spec).items() if k != "unit"}
        locust = LocustSpec(
            locustfile=LOCUSTFILES / "concurrency.py",
            host=target.api_url,
            # the ladder's shape sets the users; these only satisfy locust's options
            users=spec.start,
            spawn_rate=spec.start,
            duration_s=ladder_duration_s(spec, profile.users_step_s),
            reset_stats=False,
            stop_timeout_s=STOP_TIMEOUT_S,
            env={
                "CHRONO_BENCH_PROJECT_IDS": ",".join(map(str, self.project_ids)),
                "CHRONO_BENCH_WAIT_MIN_S": str(REPORT_WAIT_S[0]),
                "CHRONO_BENCH_WAIT_MAX_S": str(REPORT_WAIT_S[1]),
                "CHRONO_BENCH_LADDER": json.dumps(ladder),
                "CHRONO_BENCH_STEP_S": str(profile.users_step_s),
                "CHRONO_BENCH_SAMPLES_FILE": str(samples_file),
            },
        )
        # One locust process: the ladder judges each step from the requests it saw, which
        # a master does not (its workers do). Its own CPU, per second, says when it is
        # the limit.
        placement = replace(target.placement, load_workers=0, load_hosts=())
        result = run_locust(locust, out_dir, self.name, placement)
        written = json.loads(samples_file.read_text()) if samples_file.exists() else {}
        return WindowRecord(
            self.name,
            result.started_at,
            result.finished_at,
            dict(result.loadgen),
            data={"steps": written.get("steps", []), "ladder": asdict(spec)},
            # a saturated load generator ends the ladder as a lower bound, not invalid
            invalid_reason=None if written else f"locust wrote no steps: see {out_dir}",
        )

    def collect(self, target: Target, record: WindowRecord) -> list[Measurement]:
        spec = LadderSpec(**record.data["ladder"])
        steps = [Step.from_json(step) for step in record.data["steps"]]
        outcome = replay(spec, steps)
        valid = record.invalid_reason is None
        note, requests = decided(spec, steps, outcome) if steps else (None, None)
        return [
            Measurement(
                "concurrent_users", float(outcome.value), valid, record.invalid_reason,
                bound_reason=outcome.bound_reason, failed_at=outcome.bracket_top,
                requests=requests, note=note,
            )
        ]  # fmt: skip
