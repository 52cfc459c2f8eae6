"""The load generator: locust in its own process on this machine, or distributed.

Locust runs as a subprocess (its gevent monkey-patching must never reach the harness's
asyncio code), pinned to the load generator's core, with its CPU sampled so a window
where it saturated is marked invalid. With `Placement.load_workers` it runs as a master
and that many workers (harness/load/distributed.py).

A local locust process imports (about half a second here) before its load is released
(harness/load/held.py): a caller's `before_load`, such as the wait for the scrape that
opens a window, runs meanwhile instead of before it.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from mirakuru import SimpleExecutor

from harness.collect import Readings
from harness.collect.cpu import LoadgenCpu
from harness.collect.locust import read_stats
from harness.errors import UserError
from harness.load.distributed import run_distributed
from harness.load.held import GO_LINE
from harness.load.spec import EXIT_GRACE_S, LocustResult, LocustSpec, locust_command
from harness.runtime.placement import Placement

LOG = logging.getLogger(__name__)
HELD_MODULE = "harness.load.held"


def run_locust(
    spec: LocustSpec,
    out_dir: Path,
    name: str,
    placement: Placement,
    *,
    before_load: Callable[[], object] | None = None,
) -> LocustResult:
    """Run locust to completion and read its stats; its CPU is sampled throughout.

    `before_load` runs while locust imports; no request is sent before it returns, and
    `started_at` is the moment the load is released.
    """
    if placement.load_workers:
        if before_load is not None:
            before_load()
        return run_distributed(spec, out_dir, name, placement)
    out_dir.mkdir(parents=True, exist_ok=True)
    stats_file = out_dir / f"{name}.json"
    stats_file.unlink(missing_ok=True)
    log_path = out_dir / f"{name}.log"
    command = placement.wrap(locust_command(spec, stats_file, module=HELD_MODULE), "loadgen")
    with log_path.open("w") as log:
        executor = SimpleExecutor(
            command, stdin=subprocess.PIPE, stdout=log, stderr=log, envvars=dict(spec.env)
        )
        executor.start()
        try:
            assert executor.process is not None
            if before_load is not None:
                before_load()
            started_at = time.time()
            _release(executor.process)
            loadgen = _wait(executor.process, spec, log_path)
        finally:
            executor.kill()
        finished_at = time.time()
    return LocustResult(read_stats(stats_file), loadgen, started_at, finished_at)


def _wait(process: subprocess.Popen[str], spec: LocustSpec, log_path: Path) -> Readings:
    """Wait for a released locust process to end, sampling its CPU meanwhile."""
    cpu = LoadgenCpu(process.pid)
    cpu.begin()
    try:
        process.wait(timeout=spec.duration_s + spec.stop_timeout_s + EXIT_GRACE_S)
    except subprocess.TimeoutExpired as error:
        raise UserError(f"locust did not finish: see {log_path}") from error
    finally:
        loadgen = cpu.end()
    return loadgen


def _release(process: subprocess.Popen[str]) -> None:
    """Let a held locust process start its load."""
    assert process.stdin is not None
    try:
        process.stdin.write(f"{GO_LINE}\n")  # mirakuru opens its pipes as text
        process.stdin.close()
    except BrokenPipeError:
        LOG.warning("locust exited before its load was released")  # its log says why
