"""What one locust run is (its spec and command line) and what it gives back."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.collect import Readings
from harness.collect.locust import AGGREGATE, EndpointStats
from harness.paths import REPO_ROOT

LOCUSTFILES = REPO_ROOT / "scenarios" / "locustfiles"
# How long past its run time a locust process may take to stop and write its stats.
EXIT_GRACE_S = 30.0


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
            return (
                f"load generator CPU {self.loadgen['loadgen.cpu_max_pct']:.0f}% > 90% "
                "in one second of the window"
            )
        return None

    @property
    def total(self) -> EndpointStats:
        return self.stats[AGGREGATE]


def locust_command(
    spec: LocustSpec, stats_file: Path, loglevel: str = "WARNING", module: str = "locust"
) -> list[str]:
    """The command line of one locust run; `module` is what `python -m` runs (locust, or
    harness.load.held, which imports it and waits to be released)."""
    command = [
        sys.executable, "-m", module,
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
