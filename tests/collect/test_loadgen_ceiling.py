"""The load generator's ceiling on nginx: wrk and locust both measured, locust in its process."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psutil

from harness.loadgen import measure_ceiling
from harness.runtime.placement import Placement, plan_placement


def test_ceiling_measures_wrk_and_locust_and_leaves_nothing() -> None:
    # Session fixtures (PostgreSQL, Redis) may already be our children: compare pids.
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    ceiling = measure_ceiling(Path(tempfile.mkdtemp()), plan_placement(True), duration_s=2)
    assert ceiling["wrk"] > ceiling["locust_workers_1"] > 100
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
