"""The stress scenario (optimization `resource_limits`, compose runtime only).

The api scenario's load runs while a hog in the worker container (a runaway scrape) spins
CPU_HOGS_PER_CPU busy processes per host cpu and grows its memory to HOG_MEMORY_FACTOR
times the worker's budget. Without container limits (the report's "current") the hog
takes whatever the host has; with the budget's limits it is held to the worker's cpus
and memory (past its memory limit the kernel kills it inside its own container), and the
API must keep its error rate under MAX_ERROR_RATE and its p95 under P95_SLO_MS.

Each window records, besides the API's latency and errors, the CPUs each watched
container used (`cpus_used`) and the OOM kills per service. Measured on this 2-core
machine (cgroup v1): the unlimited hog takes about the whole host, yet the API's p95
barely moves, because the engine gives every container its own cgroup and CFS shares CPU
between cgroups first; what limits add here is the cap on the runaway, not API latency.

Both variants run with the app's optimizations on (STRESS_BASE): what is compared is
the limits alone, on a stack otherwise as the report would deploy it; a run in isolate
mode compares them so (harness/bench.py). Switching the limits recreates every container,
so each window under another variant than the last one starts with the warm-up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, cast

from harness.collect.memory import PeakMemory
from harness.errors import UserError
from harness.results import METRICS, Sample
from harness.results import Variant as Side
from harness.runtime.stack import Target
from harness.runtime.variants import Variant
from scenarios.api import ApiScenario
from scenarios.base import Measurement, WindowRecord
from scenarios.profiles import MeasureProfile

OPTIMIZATION = "resource_limits"
CPU_HOGS_PER_CPU = 16
HOG_MEMORY_FACTOR = 1.5
# The hog starts this long before the load, so the first requests already compete.
HOG_LEAD_S = 2.0
HOG_TAIL_S = 2.0
P95_SLO_MS = 500.0  # the report's bar for a usable API (DESIGN.md, concurrent_users)
MAX_ERROR_RATE = 0.01
# Whose CPU use the scenario reports: the hog's container and its would-be victims.
CPU_WATCHED = ("worker", "api", "postgres")
STRESS_METRICS = ("api_p95_ms", "api_error_rate", "api_rps", "worker_memory_mb")
STRESS_BASE: Variant = frozenset(
    {"stats_aggregate", "db_indexes", "async_db", "db_pool", "redis_cache", "celery_tuning"}
)
BEFORE: Variant = STRESS_BASE
AFTER: Variant = STRESS_BASE | {OPTIMIZATION}
# Busy processes and a growing allocation, for `duration` seconds; python is in the image.
HOG_PROGRAM = """
import multiprocessing, sys, time
duration, memory_mb, spinners = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
deadline = time.time() + duration
def spin():
    while time.time() < deadline:
        pass
for _ in range(spinners):
    multiprocessing.Process(target=spin, daemon=False).start()
held = []
for _ in range(memory_mb // 16):
    held.append(b"x" * (16 << 20))
    time.sleep(0.01)
while time.time() < deadline:
    time.sleep(0.2)
"""


class ContainerTarget(Target, Protocol):
    """What the stress scenario needs beyond a Target: the compose runtime's containers."""

    def container(self, service: str) -> Any: ...

    def memory_limit_mb(self, service: str) -> float | None: ...

    def cpu_seconds(self, service: str) -> float: ...

    def oom_events(self, since: float, until: float) -> dict[str, int]: ...


@dataclass(frozen=True)
class Hog:
    cpus: int
    memory_mb: int
    duration_s: float


class StressScenario:
    name = "stress"
    metrics = STRESS_METRICS

    def __init__(self, host_cpus: int, worker_memory_mb: int) -> None:
        self.api = ApiScenario()
        self.host_cpus = host_cpus
        self.worker_memory_mb = worker_memory_mb
        # the variant of the last warm-up or window: the containers are warm under it
        self._warm: Variant | None = None

    def prepare(self, target: Target, profile: MeasureProfile) -> None:
        if not hasattr(target, "container"):
            raise UserError(f"the stress scenario needs containers: runtime '{target.runtime}'")
        self.api.prepare(target, profile)

    def warm_up(self, target: Target, profile: MeasureProfile, out_dir: Path) -> None:
        """Unmeasured load without the hog: switching resource_limits recreates every
        container, and a cold PostgreSQL or cache would be measured as the limits' cost."""
        self.api.warm_up(target, profile, out_dir)
        self._warm = target.variant

    def hog(self, profile: MeasureProfile) -> Hog:
        return Hog(
            cpus=CPU_HOGS_PER_CPU * self.host_cpus,
            memory_mb=int(HOG_MEMORY_FACTOR * self.worker_memory_mb),
            duration_s=HOG_LEAD_S + profile.api_duration_s + HOG_TAIL_S,
        )

    def run(self, target: Target, profile: MeasureProfile, out_dir: Path) -> WindowRecord:
        containers = cast(ContainerTarget, target)  # checked by prepare()
        if self._warm != target.variant:  # the runner warms up its first variant only
            self.warm_up(target, profile, out_dir)
        hog = self.hog(profile)
        started = time.time()
        cpu_before = {name: containers.cpu_seconds(name) for name in CPU_WATCHED}
        containers.container("worker").exec_run(
            ["python", "-c", HOG_PROGRAM, str(hog.duration_s), str(hog.memory_mb), str(hog.cpus)],
            detach=True,
        )
        time.sleep(HOG_LEAD_S)
        workers = PeakMemory("worker", target.worker_pids)
        workers.begin()
        try:
            record = self.api.run(target, profile, out_dir)
        finally:
            worker_readings = workers.end()
        # Let the hog end before the next window (or the other variant) starts.
        time.sleep(max(0.0, started + hog.duration_s - time.time()))
        elapsed = time.time() - started
        record.data["cpus_used"] = {
            name: (containers.cpu_seconds(name) - cpu_before[name]) / elapsed
            for name in CPU_WATCHED
        }
        record.readings.update(worker_readings)
        record.data["oom_kills"] = containers.oom_events(started, time.time())
        record.data["hog"] = hog
        record.data["worker_memory_limit_mb"] = containers.memory_limit_mb("worker")
        return replace(record, scenario=self.name)

    def collect(self, target: Target, record: WindowRecord) -> list[Measurement]:
        measured = {m.metric: m for m in self.api.collect(target, record)}
        worker = record.readings.get("worker.rss_peak_mb", float("nan"))
        measured["worker_memory_mb"] = Measurement(
            "worker_memory_mb", worker, valid=record.invalid_reason is None
        )
        return [measured[metric] for metric in STRESS_METRICS if metric in measured]


def within_slo(measurements: list[Measurement]) -> bool:
    """The API held up: errors under MAX_ERROR_RATE and p95 under P95_SLO_MS."""
    values = {m.metric: m.value for m in measurements}
    return (
        values.get("api_error_rate", 1.0) < MAX_ERROR_RATE
        and values.get("api_p95_ms", float("inf")) < P95_SLO_MS
    )


def to_samples(
    variant: Side, repeat: int, record: WindowRecord, measurements: list[Measurement]
) -> list[Sample]:
    """One window's measurements as results.json samples of `resource_limits`."""
    from harness.runner import iso

    samples: list[Sample] = []
    for m in measurements:
        sample: Sample = {
            "optimization": OPTIMIZATION,
            "variant": variant,
            "scenario": record.scenario,
            "metric": m.metric,
            "value": m.value,
            "unit": METRICS[m.metric].unit,
            "repeat": repeat,
            "window": [iso(record.started_at), iso(record.finished_at)],
            "valid": m.valid,
        }
        if not m.valid:
            sample["invalid_reason"] = m.invalid_reason or record.invalid_reason or "invalid"
        samples.append(sample)
    return samples
