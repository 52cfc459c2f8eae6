"""Benchmark runs end to end: budget, stack, load generator ceiling, runner, results.

`run_benchmarks` is what `chrono-bench run` (one mode) and `chrono-bench demo` (end to
end and isolate, sharing one stack and their baseline windows) call. Each mode is a run
of its own: `reports/<run-id>/` with results.json written as it goes and the locust logs
and stats of every window; `reports/latest` points at the first mode's run (where the
demo writes its one report). The stack runs on the chosen runtime
(harness/runtime/runtimes.py: local processes, or a compose project) from a temporary
directory the postgres user can reach, removed afterwards, whatever the exit.
What the runtime cannot measure is listed in results.json's environment.not_measured.
With `host` (`run --runtime compose --host NAME`) the stack runs on a deployed inventory
host's engine over SSH, sized by that host's budget; the connection is opened and the
host checked before any report folder is made.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from harness.budget.allocation import allocate
from harness.budget.inventory import Inventory, get_host, load_inventory
from harness.errors import UserError
from harness.load.ceiling import measure_ceiling
from harness.load.hosts import load_placement, reach_load_hosts
from harness.progress import Eta, RunProgress, status
from harness.render.topology import host_budget
from harness.results import OPTIMIZATIONS, Mode, record_runtime
from harness.run.plan import build_plan, measured_by, window_count
from harness.run.results_log import ResultsLog, close_log, describe_upstream, header
from harness.run.runner import Runner
from harness.runtime.chrono import canary_env
from harness.runtime.placement import plan_placement
from harness.runtime.runtimes import (
    StackSpec,
    check_runtime,
    running_stack,
    unavailable_scenarios,
)
from harness.runtime.signals import exit_on_signals
from harness.runtime.variants import BASELINE, Comparison, comparisons, parse_optimizations
from scenarios import stress
from scenarios.profiles import MeasureProfile, get_profile
from scenarios.registry import build_scenarios, corpus_for, seed_for, upstream_for

if TYPE_CHECKING:  # the docker SDK is imported only by runs that use it
    from harness.runtime.compose.ssh_engine import RemoteHost, SshEngine

LOG = logging.getLogger(__name__)
LOCAL_HOST = "@local"
LATEST_LINK = "latest"
MODES: tuple[Mode, ...] = ("isolate", "ladder", "endtoend", "optimized")
# the modes whose after is every optimization on
WHOLE_MODES: tuple[Mode, ...] = ("endtoend", "optimized")
# A first guess of one window's duration (restart, load, collection), before any ran.
WINDOW_GUESS_S = 12.0
# what a host whose engine runs a compose stack must hold (not only some roles' services)
STACK_SERVICES = ("postgres", "redis_cache", "redis_broker", "api", "worker", "prometheus")
UNAVAILABLE_IN_BUILD = "no scenario for it is available in this build"
ISOLATE_LEFT_OUT = (
    "measured end to end only: its scenarios ({scenarios}) take too long a window for this "
    "run to measure it alone too (chrono-bench run --mode isolate --optimizations ID does)"
)
ISOLATE_NOT_CHOSEN = (
    "measured end to end only: this run measures alone only {chosen} "
    "(chrono-bench run --mode isolate --optimizations ID measures it alone)"
)


@dataclass(frozen=True)
class RunOptions:
    optimizations: str = "all"
    modes: tuple[str, ...] = ("isolate",)
    repeats: int | None = None
    profile: str = "quick"
    runtime: str = "local"
    pin: bool = True
    reports_dir: Path = Path("reports")
    inventory: Path = Path("inventory.py")
    # locust as a master with this many workers (0: one process; harness/load/distributed.py)
    load_workers: int = 0
    # inventory hosts or groups that run the workers (harness/load/hosts.py)
    load_hosts: str = ""
    # the address of this machine the API and locust's master listen on for load hosts
    # (empty: @local's chrono_address, else loopback)
    listen: str = ""
    # compose: the inventory host whose engine runs the stack, over SSH (None: this machine)
    host: str | None = None
    # the gate's self-test: a known delay the app adds to its project list (0: none)
    canary_delay_ms: float = 0.0
    # the scenarios the isolate mode runs (None: every one available); the demo measures
    # each optimization alone only where a window takes seconds, the rest end to end
    isolate_scenarios: tuple[str, ...] | None = None
    # the optimizations the isolate mode measures alone (None: every one it can); the
    # demo leaves those whose quick windows cannot tell them from the baseline to the
    # end-to-end run
    isolate_optimizations: tuple[str, ...] | None = None
    # only these scenarios run (None: the profile's); `run --scenarios`
    scenarios: tuple[str, ...] | None = None


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def point_latest(reports_dir: Path, run_dir: Path) -> None:
    """`reports/latest` -> the run's folder (relative, so the tree can move)."""
    tmp = reports_dir / f".{LATEST_LINK}-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_dir.name)
    os.replace(tmp, reports_dir / LATEST_LINK)


def stack_directory() -> Path:
    """A fresh directory the postgres user can traverse (pytest's and ~ may be 0700)."""
    path = Path(tempfile.mkdtemp(prefix="chrono-stack-"))
    path.chmod(0o711)
    return path


def parse_mode(text: str) -> Mode:
    for mode in MODES:
        if mode == text:
            return mode
    raise UserError(f"unknown mode '{text}': choose {', '.join(MODES)}")


def run_comparisons(mode: Mode, optimizations: list[str]) -> list[Comparison]:
    """The mode's comparisons; in isolation resource_limits is compared on the optimized
    app, as the stress scenario means it (limits on an N+1 API would measure the N+1)."""
    return [
        Comparison(pair.optimization, stress.BEFORE, stress.AFTER)
        if mode == "isolate" and pair.optimization == stress.OPTIMIZATION
        else pair
        for pair in comparisons(mode, optimizations)
    ]


def why_not_measured(optimization: str, unavailable: dict[str, str]) -> str:
    """Why no available scenario measures `optimization`: the runtime's reasons."""
    reasons = [unavailable[name] for name in measured_by(optimization) if name in unavailable]
    return "; ".join(reasons) or UNAVAILABLE_IN_BUILD


class BenchmarkSession:
    """One stack, one or more runs (modes); `execute()` always leaves their results."""

    def __init__(
        self,
        options: RunOptions,
        console: Console | None = None,
        *,
        profile: MeasureProfile | None = None,
    ) -> None:
        self.runtime = check_runtime(options.runtime)
        if self.runtime == "compose" and options.load_hosts:
            raise UserError(
                "--load-hosts: the compose runtime publishes the API on loopback only; "
                "run the workers here with --load-workers N, or use --runtime local"
            )
        if options.canary_delay_ms and self.runtime != "local":
            raise UserError("the canary (the gate's self-test) runs on the local runtime only")
        self.options = options
        self.console = console
        self.profile = profile or get_profile(options.profile)
        self.repeats = options.repeats or self.profile.repeats
        if self.repeats < 1:
            raise UserError("--repeats must be at least 1")
        chosen = parse_optimizations(options.optimizations, OPTIMIZATIONS)
        self.modes = [parse_mode(mode) for mode in options.modes]
        inventory = load_inventory(options.inventory)
        self.remote = None
        if options.host is not None:
            self.remote = remote_stack_host(inventory, options.host, self.runtime)
            self.budget = host_budget(inventory, options.host)
            missing = [name for name in STACK_SERVICES if name not in self.budget.services]
            if missing:
                raise UserError(
                    f"--host: host '{options.host}' holds only part of the stack (its roles "
                    f"leave out {', '.join(missing)}): a run needs a host with the whole stack"
                )
        else:
            self.budget = allocate(get_host(inventory, LOCAL_HOST))
        unavailable = unavailable_scenarios(self.runtime, remote=self.remote is not None)
        if self.profile.scenarios is not None:
            unavailable |= self._narrowed(
                self.profile.scenarios, f"the {self.profile.name} profile", unavailable
            )
        # All on (end to end, optimized) switches on whatever the runtime and profile can
        # measure, also what `--scenarios` leaves unmeasured: the after is the whole product.
        whole = [o for o in chosen if measured_by(o, self._available(unavailable))]
        if self.options.scenarios is not None:
            unavailable |= self._narrowed(self._chosen_scenarios(), "--scenarios", unavailable)
        self.scenarios = self._available(unavailable)
        # What the runtime (or this build) cannot measure is said so, not silently dropped.
        self.not_measured = {
            o: why_not_measured(o, unavailable)
            for o in chosen
            if not measured_by(o, self.scenarios)
        }
        if len(self.not_measured) == len(chosen):
            reasons = "; ".join(f"{o}: {why}" for o, why in self.not_measured.items())
            raise UserError(f"nothing to run on the {self.runtime} runtime: {reasons}")
        measurable = [o for o in chosen if o not in self.not_measured]
        self.mode_scenarios = [self._mode_scenarios(mode) for mode in self.modes]
        # per mode, what it leaves out besides what the runtime cannot measure
        self.mode_not_measured = [
            {**self.not_measured, **self._left_to_endtoend(mode, scenarios, measurable)}
            for mode, scenarios in zip(self.modes, self.mode_scenarios, strict=True)
        ]
        self.runs = [
            run_comparisons(mode, whole if mode in WHOLE_MODES else
                            [o for o in measurable if o not in left_out])
            for mode, left_out in zip(self.modes, self.mode_not_measured, strict=True)
        ]  # fmt: skip
        self.plan = build_plan(self.runs, self.repeats, self.scenarios, self.mode_scenarios)
        placement = load_placement(
            plan_placement(options.pin), inventory, options.load_workers, options.load_hosts
        )
        self.placement = reach_load_hosts(placement, inventory, options.listen)
        if self.runtime == "compose":
            # The engine's cgroups place the containers on any core: the load generator
            # is not held to one either (the compose runtime ignores --pin).
            self.placement = replace(self.placement, sut_cpus=(), loadgen_cpus=())

    def _available(self, unavailable: dict[str, str]) -> list[str]:
        return [name for name in build_scenarios(self.budget) if name not in unavailable]

    def _narrowed(
        self, kept: tuple[str, ...], who: str, unavailable: dict[str, str]
    ) -> dict[str, str]:
        """The scenarios a selection leaves out, each with who left it out."""
        return {
            name: f"{who} runs only {', '.join(kept)}"
            for name in build_scenarios(self.budget)
            if name not in kept and name not in unavailable
        }

    def _chosen_scenarios(self) -> tuple[str, ...]:
        """`--scenarios`, checked against the scenarios there are."""
        chosen = self.options.scenarios or ()
        known = build_scenarios(self.budget)
        unknown = [name for name in chosen if name not in known]
        if unknown or not chosen:
            raise UserError(
                f"--scenarios: unknown scenario '{', '.join(unknown)}': choose among "
                f"{', '.join(known)}"
            )
        return chosen

    def _left_to_endtoend(
        self, mode: Mode, scenarios: list[str], measurable: list[str]
    ) -> dict[str, str]:
        """What a mode measures no window of (the isolate run: what the end-to-end run
        measures instead), and why."""
        left_out = {
            o: ISOLATE_LEFT_OUT.format(scenarios=", ".join(measured_by(o, self.scenarios)))
            for o in measurable if not measured_by(o, scenarios)
        }  # fmt: skip
        chosen = self.options.isolate_optimizations
        if mode == "isolate" and chosen is not None:
            left_out |= {
                o: ISOLATE_NOT_CHOSEN.format(chosen=", ".join(chosen))
                for o in measurable if o not in chosen and o not in left_out
            }  # fmt: skip
        return left_out

    def _mode_scenarios(self, mode: Mode) -> list[str]:
        wanted = self.options.isolate_scenarios
        if mode != "isolate" or wanted is None:
            return self.scenarios
        return [name for name in self.scenarios if name in wanted]

    def execute(self) -> list[Path]:
        """Measure; returns each run's folder (in the order of the modes)."""
        stack_dir = stack_directory()
        try:
            # a host that cannot run the stack fails before any report folder is made
            with exit_on_signals(), self._remote_engine(stack_dir) as engine:
                logs = self._open_logs()
                try:
                    self._measure(logs, stack_dir, engine)
                finally:
                    for log in logs:
                        close_log(log, self.placement.load_workers)
        finally:
            shutil.rmtree(stack_dir, ignore_errors=True)
        return [log.path.parent for log in logs]

    def _open_logs(self) -> list[ResultsLog]:
        """Each mode's folder and results.json; `reports/latest` -> the first."""
        logs = []
        reports_dir = self.options.reports_dir.resolve()
        for mode, not_measured in zip(self.modes, self.mode_not_measured, strict=True):
            run_dir = reports_dir / new_run_id()
            run_dir.mkdir(parents=True)
            results = header(
                run_dir.name, mode, self.profile, self.budget, self.placement, self.runtime
            )
            if not_measured:
                results["environment"]["not_measured"] = not_measured
            if self.options.canary_delay_ms:
                results["environment"]["canary_delay_ms"] = self.options.canary_delay_ms
            logs.append(ResultsLog(run_dir / "results.json", results))
        # the first mode's run holds the session's report (the demo: end to end)
        point_latest(reports_dir, logs[0].path.parent)
        return logs

    @contextmanager
    def _remote_engine(self, stack_dir: Path) -> Iterator[SshEngine | None]:
        """The deployed host's engine over SSH, checked (None: this machine's)."""
        if self.remote is None:
            yield None
            return
        from harness.runtime.compose.ssh_engine import ssh_engine

        with ExitStack() as opened:
            with status(self.console, f"connecting to host '{self.remote.name}' over SSH"):
                engine = opened.enter_context(ssh_engine(self.remote, stack_dir))
            yield engine

    def _measure(
        self, logs: Sequence[ResultsLog], stack_dir: Path, engine: SshEngine | None = None
    ) -> None:
        work_dir = logs[-1].path.parent
        with status(self.console, "measuring the load generator's ceiling on nginx"):
            ceiling = measure_ceiling(work_dir / "loadgen", self.placement)
        for log in logs:
            log.results["environment"]["loadgen_max_rps"] = ceiling
            log.write()
        spec = StackSpec(
            self.runtime,
            stack_dir,
            self.budget,
            self.placement,
            # started as the first window set wants it: one switch (a compose recreation) less
            variant=self.plan[0].variant if self.plan else BASELINE,
            corpus=corpus_for(self.profile),
            upstream=upstream_for(self.profile),
            seed=seed_for(self.profile),
            engine_log=work_dir / "dockerd.log",
            # the stress scenario's runaway outgrows the budget's host, not this machine
            host_cgroup=any("stress" in window.scenarios() for window in self.plan),
            engine=engine,
            app_env=canary_env(self.options.canary_delay_ms),
        )
        with running_stack(spec, self.console) as running:
            stack = running.target
            versions = stack.versions()
            for log in logs:
                environment = log.results["environment"]
                environment["versions"].update(versions)
                record_runtime(environment, running.environment)
                environment["upstream"] = describe_upstream(
                    spec.upstream, self.profile.scrape_domains
                )
                log.write()
            eta = Eta(window_count(self.plan), time.time, WINDOW_GUESS_S)
            with RunProgress(eta, self.console) as progress:
                scenarios = build_scenarios(self.budget)
                runner = Runner(stack, scenarios, self.profile, work_dir, progress=progress)
                runner.run(logs, self.runs, self.plan)


def remote_stack_host(inventory: Inventory, name: str, runtime: str) -> RemoteHost:
    """The inventory host a compose run uses the engine of (`--host NAME`)."""
    from harness.runtime.compose.ssh_engine import remote_host

    if runtime != "compose":
        raise UserError("--host: only the compose runtime runs on a deployed host")
    return remote_host(inventory, name)


def run_benchmarks(options: RunOptions, console: Console | None = None) -> list[Path]:
    """Measure the chosen comparisons in each mode; returns the runs' folders."""
    return BenchmarkSession(options, console).execute()
