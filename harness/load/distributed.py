"""locust's own distributed mode: one master and N workers, here or on load hosts.

The master (`--master --expect-workers N`) starts the run once every worker has
connected and merges their stats into its JSON stats file itself. Local workers run on
this machine's load generator cores; remote ones run over SSH (harness/load/hosts.py) and
reach the master at the run's listen address. A worker lost during the run makes the
window invalid: the master would quietly re-divide its users among fewer workers, and
the run would measure a different load than asked for. Lost means: its
process failed (a non-zero status, a signal), or the master's log says it went missing
or quit before the run's end.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.collect import Readings
from harness.collect.cpu import LoadgenCpu
from harness.collect.locust import read_master_log, read_stats
from harness.errors import UserError
from harness.load.hosts import (
    placement_summary,
    ssh_command,
    worker_slots,
)
from harness.load.spec import EXIT_GRACE_S, LocustResult, LocustSpec, locust_command
from harness.paths import REPO_ROOT
from harness.runtime.placement import Placement
from harness.runtime.ports import LOOPBACK, free_port
from harness.runtime.ssh import SshHost

LOG = logging.getLogger(__name__)
# The master's worker events (connected, missing, quit) are INFO lines.
MASTER_LOGLEVEL = "INFO"
# How long the master waits for all its workers (SSH, then locust's imports).
CONNECT_WAIT_S = 30
# Workers exit within this once the master told them to quit at the end of the run.
WORKER_EXIT_S = 10.0
POLL_INTERVAL_S = 0.25


@dataclass
class _Worker:
    """One worker process (for a remote worker: its SSH client here)."""

    index: int
    host: SshHost | None
    process: subprocess.Popen[bytes]
    log_path: Path
    failed: bool = False

    @property
    def label(self) -> str:
        return f"worker {self.index} on {'local' if self.host is None else self.host.name}"


def master_command(
    spec: LocustSpec, stats_file: Path, bind: str, port: int, workers: int
) -> list[str]:
    return [
        *locust_command(spec, stats_file, MASTER_LOGLEVEL),
        "--master", "--master-bind-host", bind, "--master-bind-port", str(port),
        "--expect-workers", str(workers),
        "--expect-workers-max-wait", str(CONNECT_WAIT_S),
    ]  # fmt: skip


def worker_command(
    spec: LocustSpec, python: str, locustfile: str, master: str, port: int
) -> list[str]:
    return [
        python, "-m", "locust", "--worker",
        "-f", locustfile,
        "--master-host", master, "--master-port", str(port),
        "--stop-timeout", f"{spec.stop_timeout_s:g}",
        "--loglevel", "WARNING",
    ]  # fmt: skip


def run_distributed(
    spec: LocustSpec, out_dir: Path, name: str, placement: Placement
) -> LocustResult:
    """Run a master and `placement.load_workers` workers to the end; read the merged stats."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stats_file = out_dir / f"{name}.json"
    stats_file.unlink(missing_ok=True)
    master_log = out_dir / f"{name}.log"
    slots = worker_slots(placement.load_workers, placement.load_hosts)
    # Local workers reach the master on loopback; load hosts at the run's listen address.
    bind = placement.listen if placement.load_hosts else LOOPBACK
    port = free_port(bind)
    env = {**os.environ, **spec.env}
    deadline_s = spec.duration_s + spec.stop_timeout_s + EXIT_GRACE_S + CONNECT_WAIT_S

    with ExitStack() as stack:
        master = _start(
            placement.wrap(master_command(spec, stats_file, bind, port, len(slots)), "loadgen"),
            master_log, env, stack,
        )  # fmt: skip
        workers = [
            _start_worker(spec, index, host, bind, port, out_dir / f"{name}-worker-{index}.log",
                          placement, env, stack)
            for index, host in enumerate(slots)
        ]  # fmt: skip
        started_at = time.time()
        monitors = [LoadgenCpu(master.pid)]
        monitors += [LoadgenCpu(w.process.pid) for w in workers if w.host is None]
        for monitor in monitors:
            monitor.begin()
        try:
            _wait(master, workers, deadline_s, master_log)
        finally:
            readings = _cpu_readings([monitor.end() for monitor in monitors])
        finished_at = time.time()
        _await_exit(workers)

    events = read_master_log(master_log)
    if events.connected < len(slots) and not stats_file.exists():
        raise UserError(
            f"only {events.connected} of {len(slots)} locust workers reached the master at "
            f"{bind}:{port}: see {master_log} and the worker logs beside it"
        )
    died = [worker.label for worker in workers if worker.failed]
    lost = tuple(died) or events.lost
    readings["loadgen.workers"] = float(len(slots))
    readings["loadgen.workers_lost"] = float(len(lost))
    if lost:
        LOG.warning("%s: locust workers lost during the run: %s", name, ", ".join(lost))
    # locust's own CPU warning is the only view of remote workers' CPU
    saturated = events.saturated if placement.load_hosts else ()
    return LocustResult(
        read_stats(stats_file), readings, started_at, finished_at,
        workers=placement_summary(slots), lost_workers=lost, saturated_workers=saturated,
    )  # fmt: skip


def _start(
    command: Sequence[str], log_path: Path, env: dict[str, str], stack: ExitStack
) -> subprocess.Popen[bytes]:
    """Start `command` in a session of its own, killed (with its children) on leaving `stack`."""
    log: IO[Any] = stack.enter_context(log_path.open("wb"))
    process = subprocess.Popen(
        list(command), stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
        start_new_session=True,
    )  # fmt: skip
    stack.callback(_kill, process)
    return process


def _start_worker(
    spec: LocustSpec,
    index: int,
    host: SshHost | None,
    master: str,
    port: int,
    log_path: Path,
    placement: Placement,
    env: dict[str, str],
    stack: ExitStack,
) -> _Worker:
    if host is None:
        command = worker_command(spec, sys.executable, str(spec.locustfile), master, port)
        command = placement.wrap(command, "loadgen")
    else:
        locustfile = spec.locustfile.resolve()
        relative = (
            locustfile.relative_to(REPO_ROOT)
            if locustfile.is_relative_to(REPO_ROOT)
            else locustfile
        )
        command = ssh_command(
            host, worker_command(spec, host.python, str(relative), master, port), spec.env
        )
    return _Worker(index, host, _start(command, log_path, env, stack), log_path)


def _wait(
    master: subprocess.Popen[bytes], workers: list[_Worker], deadline_s: float, log: Path
) -> None:
    """Wait for the master to finish, noting every worker that fails before it does."""
    deadline = time.monotonic() + deadline_s
    while master.poll() is None:
        if time.monotonic() > deadline:
            raise UserError(f"locust's master did not finish: see {log}")
        for worker in workers:
            if not worker.failed and worker.process.poll() not in (None, 0):
                worker.failed = True
                LOG.warning("%s exited (status %s) during the run: see %s",
                            worker.label, worker.process.returncode, worker.log_path)  # fmt: skip
        time.sleep(POLL_INTERVAL_S)


def _await_exit(workers: list[_Worker]) -> None:
    """Give the workers the master told to quit a moment to go; a failed exit counts."""
    deadline = time.monotonic() + WORKER_EXIT_S
    for worker in workers:
        try:
            status = worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            continue  # killed on leaving the run's ExitStack
        if status != 0:
            worker.failed = True


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _cpu_readings(per_process: list[Readings]) -> Readings:
    """The busiest process's CPU; the window is valid only if every process's was."""
    return {
        "loadgen.cpu_mean_pct": max(r["loadgen.cpu_mean_pct"] for r in per_process),
        "loadgen.cpu_max_pct": max(r["loadgen.cpu_max_pct"] for r in per_process),
        "loadgen.valid": min(r["loadgen.valid"] for r in per_process),
    }
