"""The load generator: locust in its own process on this machine, or distributed.

Locust runs as a subprocess (its gevent monkey-patching must never reach the harness's
asyncio code), pinned to the load generator's core, with its CPU sampled so a window
where it saturated is marked invalid. With `Placement.load_workers` it runs as a master
and that many workers (harness/load/distributed.py).
"""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path

from mirakuru import SimpleExecutor

from harness.collect.cpu import LoadgenCpu
from harness.collect.locust import read_stats
from harness.errors import UserError
from harness.load.distributed import run_distributed
from harness.load.spec import EXIT_GRACE_S, LocustResult, LocustSpec, locust_command
from harness.runtime.placement import Placement

LOG = logging.getLogger(__name__)
# Locust needs a moment to import, then writes its stats after the last user stops.


def run_locust(spec: LocustSpec, out_dir: Path, name: str, placement: Placement) -> LocustResult:
    """Run locust to completion and read its stats; its CPU is sampled throughout."""
    if placement.load_workers:
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
