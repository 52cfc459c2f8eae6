"""The load generator: locust in its own process, and the ceiling it can reach here.

Locust runs as a subprocess (its gevent monkey-patching must never reach the harness's
asyncio code), pinned to the load generator's core, with its CPU sampled so a window
where it saturated is marked invalid. With `Placement.load_workers` it runs as a master
and that many workers (harness/distributed.py). Its ceiling is measured on nginx
answering a constant body, side by side with wrk, by one locust process and by a master
with two workers.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from mirakuru import SimpleExecutor

from harness.collect import Readings
from harness.collect.cpu import LoadgenCpu
from harness.collect.locust import AGGREGATE, EndpointStats, read_stats
from harness.errors import UserError
from harness.runtime.nginx import NginxServer
from harness.runtime.placement import Placement
from harness.runtime.process import require_binary

LOG = logging.getLogger(__name__)
LOCUSTFILES = Path(__file__).resolve().parent.parent / "scenarios" / "locustfiles"
# Locust needs a moment to import, then writes its stats after the last user stops.
EXIT_GRACE_S = 30.0
CEILING_DURATION_S = 6.0
CEILING_USERS = 32
# The distributed setup measured beside a single locust process.
CEILING_WORKERS = 2
WRK_CONNECTIONS = 64
WRK_RPS = re.compile(r"Requests/sec:\s+([0-9.]+)")


@dataclass(frozen=True)
class LocustSpec:
    """One headless locust run: which locustfile, against what, how hard and how long."""

    locustfile: Path
    host: str
    users: int
    spawn_rate: float
    duration_s: float
    env: Mapping[str, str] = field(default_factory=dict)
    # Drop what was measured while users were still being spawned.
    reset_stats: bool = True
    # Let requests in flight at the end finish (and count): cutting them off would drop
    # exactly the slowest ones.
    stop_timeout_s: float = 0.0


@dataclass(frozen=True)
class LocustResult:
    stats: dict[str, EndpointStats]
    loadgen: Readings
    started_at: float
    finished_at: float
    # distributed runs: workers per host, and the workers lost before the run ended
    workers: Mapping[str, int] = field(default_factory=dict)
    lost_workers: tuple[str, ...] = ()
    saturated_workers: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.invalid_reason is None

    @property
    def invalid_reason(self) -> str | None:
        """Why the window cannot be trusted: the load generator fell short, or None."""
        if self.lost_workers:
            return (
                f"{len(self.lost_workers)} of {sum(self.workers.values())} locust workers "
                f"died during the run ({', '.join(self.lost_workers)}): the load fell short"
            )
        if self.saturated_workers:
            return f"locust workers passed 90% CPU: {', '.join(self.saturated_workers)}"
        if self.loadgen.get("loadgen.valid", 1.0) != 1.0:
            return f"load generator CPU {self.loadgen['loadgen.cpu_mean_pct']:.0f}% > 90%"
        return None

    @property
    def total(self) -> EndpointStats:
        return self.stats[AGGREGATE]


def locust_command(spec: LocustSpec, stats_file: Path, loglevel: str = "WARNING") -> list[str]:
    command = [
        sys.executable, "-m", "locust",
        "-f", str(spec.locustfile),
        "--headless",
        "--host", spec.host,
        "--users", str(spec.users),
        "--spawn-rate", str(spec.spawn_rate),
        "--run-time", f"{max(1, round(spec.duration_s))}s",
        "--json-file", str(stats_file.with_suffix("")),
        "--only-summary",
        "--loglevel", loglevel,
        "--exit-code-on-error", "0",
        "--stop-timeout", f"{spec.stop_timeout_s:g}",
    ]  # fmt: skip
    if spec.reset_stats:
        command.append("--reset-stats")
    return command


def run_locust(spec: LocustSpec, out_dir: Path, name: str, placement: Placement) -> LocustResult:
    """Run locust to completion and read its stats; its CPU is sampled throughout."""
    if placement.load_workers:
        # imported here: harness.distributed builds on this module's spec and result
        from harness.distributed import run_distributed

        return run_distributed(spec, out_dir, name, placement)
    out_dir.mkdir(parents=True, exist_ok=True)
    stats_file = out_dir / f"{name}.json"
    stats_file.unlink(missing_ok=True)
    command = placement.wrap(locust_command(spec, stats_file), "loadgen")
    with (out_dir / f"{name}.log").open("w") as log:
        executor = SimpleExecutor(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, envvars=dict(spec.env)
        )
        started_at = time.time()
        executor.start()
        assert executor.process is not None
        cpu = LoadgenCpu(executor.process.pid)
        cpu.begin()
        try:
            executor.process.wait(timeout=spec.duration_s + spec.stop_timeout_s + EXIT_GRACE_S)
        except subprocess.TimeoutExpired as error:
            raise UserError(f"locust did not finish: see {out_dir / (name + '.log')}") from error
        finally:
            loadgen = cpu.end()
            executor.kill()
        finished_at = time.time()
    return LocustResult(read_stats(stats_file), loadgen, started_at, finished_at)


def run_wrk(url: str, duration_s: float, placement: Placement) -> float:
    """wrk's requests per second on `url`, one thread per load generator core."""
    wrk = require_binary("wrk", "wrk")
    threads = max(1, len(placement.loadgen_cpus))
    command = placement.wrap(
        [wrk, f"-t{threads}", f"-c{WRK_CONNECTIONS}", f"-d{round(duration_s)}s", url], "loadgen"
    )
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    match = WRK_RPS.search(output)
    if match is None:
        raise UserError(f"wrk printed no request rate: {output.strip()[:200]}")
    return float(match.group(1))


def measure_ceiling(
    work_dir: Path, placement: Placement, duration_s: float = CEILING_DURATION_S
) -> dict[str, float]:
    """Highest RPS of wrk, one locust process and a master with two workers, side by side
    on nginx's constant answer (`locust_workers_1`, `locust_workers_2`).

    The workers share the load generator's cores of `placement`, as a run's would.
    """
    single = replace(placement, load_workers=0, load_hosts=())
    with NginxServer(work_dir / "nginx", placement) as nginx:
        wrk_rps = run_wrk(nginx.url, duration_s, placement)
        spec = LocustSpec(
            locustfile=LOCUSTFILES / "ceiling.py",
            host=nginx.url.removesuffix("/ok"),
            users=CEILING_USERS,
            spawn_rate=CEILING_USERS,
            duration_s=duration_s,
        )
        result = run_locust(spec, work_dir / "locust", "ceiling", single)
        workers = replace(single, load_workers=CEILING_WORKERS)
        distributed = run_locust(spec, work_dir / "locust", "ceiling-workers", workers)
    LOG.info(
        "load generator ceiling: wrk %.0f rps, locust %.0f rps, %d workers %.0f rps",
        wrk_rps, result.total.rps, CEILING_WORKERS, distributed.total.rps,
    )  # fmt: skip
    return {
        "wrk": wrk_rps,
        "locust_workers_1": result.total.rps,
        f"locust_workers_{CEILING_WORKERS}": distributed.total.rps,
    }
