"""The load generator's ceiling on nginx: wrk and locust both measured, locust in its process."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from harness.load.ceiling import measure_ceiling
from harness.runtime.placement import Placement, plan_placement


def test_ceiling_measures_wrk_and_locust_and_leaves_nothing() -> None:
    # Session fixtures (PostgreSQL, Redis) may already be our children: compare pids.
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    ceiling = measure_ceiling(Path(tempfile.mkdtemp()), plan_placement(True), duration_s=2)
    assert ceiling["wrk"] > ceiling["locust_workers_1"] > 100
    # a run with one locust process is not held up measuring workers it does not use
    assert set(ceiling) == {"wrk", "locust_workers_1"}
    leftovers = [
        child.name()
        for child in psutil.Process().children(recursive=True)
        if child.pid not in before
    ]
    assert leftovers == []


def test_placement_gives_the_load_generator_the_last_core() -> None:
    assert plan_placement(True, [0, 1]) == Placement(sut_cpus=(0,), loadgen_cpus=(1,))
    assert plan_placement(True, [0, 1, 2, 3]).sut_cpus == (0, 1, 2)
    assert plan_placement(True, [0]).pinned is False
    assert plan_placement(False, [0, 1]).pinned is False
    command = plan_placement(True, [0, 1]).wrap(["locust"], "loadgen")
    assert command[-3:] == ["--cpu-list", "1", "locust"]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
def test_pin_moves_every_thread_and_later_children() -> None:
    """What a variant switch does with the app's processes once they are ready."""
    cores = sorted(os.sched_getaffinity(0))
    placement = plan_placement(True, cores)
    script = (
        "import threading, time, subprocess, sys\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
        "sys.stdin.readline()\n"  # pinned by now: a child started next inherits it
        "child = subprocess.Popen(['sleep', '60'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        parent = psutil.Process(process.pid)
        while len(parent.threads()) < 2:
            time.sleep(0.01)
        placement.pin([process.pid], "sut")
        threads = [thread.id for thread in parent.threads()]
        assert len(threads) >= 2
        assert {tuple(sorted(os.sched_getaffinity(tid))) for tid in threads} == {placement.sut_cpus}
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("go\n")
        process.stdin.flush()
        child = int(process.stdout.readline())
        assert tuple(sorted(os.sched_getaffinity(child))) == placement.sut_cpus
        # not pinned: nothing moves
        Placement().pin([process.pid], "sut")
        assert tuple(sorted(os.sched_getaffinity(process.pid))) == placement.sut_cpus
    finally:
        for victim in parent.children(recursive=True):
            victim.kill()
        process.kill()
        process.wait()
