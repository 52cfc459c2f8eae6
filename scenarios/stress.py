"""The stress scenario (optimization `resource_limits`, compose runtime only).

The api scenario's load runs while a hog in the worker container (a runaway scrape) spins
CPU_HOGS_PER_CPU busy processes per host cpu and grows its memory steadily, over the hog's
lead and the load, to HOG_MEMORY_FACTOR times the worker's budget or HOG_HOST_FACTOR times
the budget's host memory, whichever is more (the latter only while it fits in
HOG_MACHINE_SHARE of this machine's available memory). Runs that plan this scenario put every
container under a parent cgroup holding the budget's host memory and cpus
(harness/runtime/compose/cgroup.py): without container limits (the report's "current") the
hog outgrows that "host", and the host's reclaim and OOM killer act inside it, not on
this machine. With the budget's limits the hog is held to the worker's cpus and memory
(past its memory limit the kernel kills it inside its own container), and the API must
keep its error rate under MAX_ERROR_RATE and its p95 under P95_SLO_MS.

Each window records, besides the API's latency and errors, the CPUs each watched
container used (`cpus_used`), the engine's OOM events per service (`oom_kills`: under
cgroup v1 every container of a cgroup tree under OOM gets one) and the processes the
kernel killed in each service's container (`oom_killed`, counted in the victim's cgroup).

What was measured with it, and why limits did not change the API's figures here:
docs/lab-notes.md.

Both variants run with the app's optimizations on (STRESS_BASE): what is compared is
the limits alone, on a stack otherwise as the report would deploy it; a run in isolate
mode compares them so (harness/run/session.py). Switching the limits recreates every
container, so each window under another variant than the last one starts with the warm-up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, cast

from harness.collect.memory import PeakMemory
from harness.errors import UserError
from harness.metrics import METRICS
from harness.results import Sample, Side, iso
from harness.runtime.target import Target
from harness.runtime.variants import Variant
from harness.units import kib_to_mib
from scenarios.api import ApiScenario
from scenarios.base import Measurement, WindowRecord
from scenarios.profiles import MeasureProfile

OPTIMIZATION = "resource_limits"
CPU_HOGS_PER_CPU = 16
HOG_MEMORY_FACTOR = 1.5
# ... and at least this times the budget's host memory: without limits the runaway
# outgrows the host (the compose runtime's host cgroup stands for it), as the report's
# "no container limits" risks; it grows steadily until the load ends, so the API's
# requests meet the host's reclaim and OOM killer.
HOG_HOST_FACTOR = 1.2
# ... but only while that fits in this share of this machine's available memory: a
# budget's host as big as the machine (`@local`) keeps the worker-sized hog, as the host
# cgroup would then hold no less than the machine itself (no swap here).
HOG_MACHINE_SHARE = 0.3
MEMINFO = Path("/proc/meminfo")
HOG_STEP_MB = 16
# The hog starts this long before the load, so the first requests already compete.
HOG_LEAD_S = 2.0
HOG_TAIL_S = 2.0
P95_SLO_MS = 500.0  # the report's bar for a usable API (docs/design.md, concurrent_users)
MAX_ERROR_RATE = 0.01
# Whose CPU use the scenario reports: the hog's container and its would-be victims.
CPU_WATCHED = ("worker", "api", "postgres")
STRESS_METRICS = ("api_p95_ms", "api_error_rate", "api_rps", "worker_memory_mb")
STRESS_BASE: Variant = frozenset(
    {"stats_aggregate", "db_indexes", "async_db", "db_pool", "redis_cache", "celery_tuning"}
)
BEFORE: Variant = STRESS_BASE
AFTER: Variant = STRESS_BASE | {OPTIMIZATION}
# The runaway, shaped like the worker it runs in: busy processes, and a prefork pool of
# `pool` children whose tasks' memory grows (a page body read whole, the report's
# non-streaming scraper) until the hog's total reaches memory_mb after growth_s. A child
# the kernel kills is replaced at once and its task runs again from nothing, as the
# report's Celery settings do (acks late, rejected on a lost worker): the runaway keeps
# pressing for as long as it lasts. Python is in the image.
HOG_PROGRAM = """
import multiprocessing, os, sys, time
duration, memory_mb, spinners = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
growth_s, step_mb, pool = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
deadline = time.time() + duration
share_mb = memory_mb / pool
def spin():
    os.nice(19)  # the container's CPU goes to its spinners, yet the growth keeps its pace
    while time.time() < deadline:
        pass
def task(born):
    held = []
    while time.time() < deadline:
        due = share_mb * min(1.0, (time.time() - born) / growth_s)
        while len(held) * step_mb < due:
            held.append(b"x" * (step_mb << 20))
        time.sleep(0.05)
def child():
    process = multiprocessing.Process(target=task, args=(time.time(),))
    process.start()
    return process
for _ in range(spinners):
    multiprocessing.Process(target=spin).start()
children = [child() for _ in range(pool)]
while time.time() < deadline:
    children = [c if c.is_alive() or c.exitcode == 0 else child() for c in children]
    time.sleep(0.1)
"""


class ContainerTarget(Target, Protocol):
    """What the stress scenario needs beyond a Target: the compose runtime's containers."""

    def container(self, service: str) -> Any: ...

    def memory_limit_mb(self, service: str) -> float | None: ...

    def cpu_seconds(self, service: str) -> float: ...

    def oom_events(self, since: float, until: float) -> dict[str, int]: ...

    def oom_kills(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class Hog:
    cpus: int
    memory_mb: int
    duration_s: float
    growth_s: float  # it reaches memory_mb after this long, in HOG_STEP_MB steps
    pool: int = 1  # children sharing memory_mb, each replaced when killed

    def command(self) -> list[str]:
        arguments = (
            self.duration_s, self.memory_mb, self.cpus, self.growth_s, HOG_STEP_MB, self.pool
        )  # fmt: skip
        return ["python", "-c", HOG_PROGRAM, *map(str, arguments)]


class StressScenario:
    name = "stress"
    metrics = STRESS_METRICS

    def __init__(
        self, host_cpus: int, worker_memory_mb: int, *, host_memory_mb: int, pool: int = 1
    ) -> None:
        self.api = ApiScenario()
        self.host_cpus = host_cpus
        self.worker_memory_mb = worker_memory_mb
        self.host_memory_mb = host_memory_mb
        self.pool = pool  # the worker's prefork pool the runaway is spread over
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
        memory_mb = HOG_MEMORY_FACTOR * self.worker_memory_mb
        host_mb = HOG_HOST_FACTOR * self.host_memory_mb
        if host_mb <= HOG_MACHINE_SHARE * available_mb():
            memory_mb = max(memory_mb, host_mb)
        return Hog(
            cpus=CPU_HOGS_PER_CPU * self.host_cpus,
            memory_mb=int(memory_mb),
            duration_s=HOG_LEAD_S + profile.api_duration_s + HOG_TAIL_S,
            # full size by the middle of the load: its second half meets a runaway that
            # keeps hitting the memory it may take, its killed children replaced
            growth_s=HOG_LEAD_S + profile.api_duration_s / 2,
            pool=self.pool,
        )

    def run(self, target: Target, profile: MeasureProfile, out_dir: Path) -> WindowRecord:
        containers = cast(ContainerTarget, target)  # checked by prepare()
        if self._warm != target.variant:  # the runner warms up its first variant only
            self.warm_up(target, profile, out_dir)
        hog = self.hog(profile)
        started = time.time()
        cpu_before = {name: containers.cpu_seconds(name) for name in CPU_WATCHED}
        kills_before = containers.oom_kills()
        containers.container("worker").exec_run(hog.command(), detach=True)
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
        # processes killed in each service's container, under the host cgroup only
        record.data["oom_killed"] = {
            name: count - kills_before.get(name, 0)
            for name, count in containers.oom_kills().items()
            if count > kills_before.get(name, 0)
        }
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


def available_mb(meminfo: Path = MEMINFO) -> float:
    """This machine's MemAvailable, in MiB."""
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return kib_to_mib(int(line.split()[1]))
    return 0.0


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
