"""The concurrency scenario: the largest user count the API serves within its SLO.

A step ramp (scenarios/locustfiles/concurrency.py) adds users until a step's p95 passes
500 ms or its errors 1 %; `concurrent_users` is the last step before that (0 if even the
first step misses).
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.load.local import run_locust
from harness.load.spec import LOCUSTFILES, LocustSpec
from harness.runtime.target import Target
from scenarios.api import bench_project_ids
from scenarios.base import Measurement, WindowRecord
from scenarios.profiles import MeasureProfile

P95_SLO_MS = 500.0
MAX_ERROR_RATIO = 0.01
STOP_TIMEOUT_S = 15.0


def step_passes(times_ms: list[float], errors: int) -> bool:
    if not times_ms:
        return False
    ordered = sorted(times_ms)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return p95 < P95_SLO_MS and errors / len(ordered) < MAX_ERROR_RATIO


def largest_passing_step(samples: list[tuple[int, float, bool]]) -> int:
    """The highest user count such that it and every lower step met the SLO."""
    best = 0
    for users in sorted({u for u, _, _ in samples if u > 0}):
        times = [t for u, t, _ in samples if u == users]
        errors = sum(1 for u, _, ok in samples if u == users and not ok)
        if not step_passes(times, errors):
            break
        best = users
    return best


class ConcurrencyScenario:
    name = "concurrency"
    metrics = ("concurrent_users",)

    def __init__(self) -> None:
        self.project_ids: list[int] = []

    def prepare(self, target: Target, profile: MeasureProfile) -> None:
        self.project_ids = bench_project_ids(target.database_url)

    def warm_up(self, target: Target, profile: MeasureProfile, out_dir: Path) -> None:
        """The api scenario's warm-up covers the same requests."""

    def run(self, target: Target, profile: MeasureProfile, out_dir: Path) -> WindowRecord:
        out_dir.mkdir(parents=True, exist_ok=True)
        samples_file = out_dir / "concurrency-samples.json"
        spec = LocustSpec(
            locustfile=LOCUSTFILES / "concurrency.py",
            host=target.api_url,
            users=profile.ramp_step_users,
            spawn_rate=profile.ramp_step_users,
            duration_s=profile.ramp_step_s * (profile.ramp_max_users / profile.ramp_step_users),
            reset_stats=False,
            # The last step's slow requests must finish and count, not be cut off.
            stop_timeout_s=STOP_TIMEOUT_S,
            env={
                "CHRONO_BENCH_PROJECT_IDS": ",".join(map(str, self.project_ids)),
                "CHRONO_BENCH_WAIT_MIN_S": str(profile.api_wait_s[0]),
                "CHRONO_BENCH_WAIT_MAX_S": str(profile.api_wait_s[1]),
                "CHRONO_BENCH_STEP_USERS": str(profile.ramp_step_users),
                "CHRONO_BENCH_STEP_S": str(profile.ramp_step_s),
                "CHRONO_BENCH_MAX_USERS": str(profile.ramp_max_users),
                "CHRONO_BENCH_SAMPLES_FILE": str(samples_file),
            },
        )
        result = run_locust(spec, out_dir, self.name, target.placement)
        written = json.loads(samples_file.read_text()) if samples_file.exists() else {}
        # the load generator saturated, or lost locust workers: the load fell short
        invalid = result.invalid_reason
        return WindowRecord(
            self.name,
            result.started_at,
            result.finished_at,
            dict(result.loadgen),
            data={"samples": [tuple(s) for s in written.get("samples", [])]},
            invalid_reason=invalid,
        )

    def collect(self, target: Target, record: WindowRecord) -> list[Measurement]:
        users = largest_passing_step(record.data["samples"])
        valid = record.invalid_reason is None
        return [Measurement("concurrent_users", float(users), valid, record.invalid_reason)]
