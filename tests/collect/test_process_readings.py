"""RSS of process trees and the load generator's CPU, read from real processes."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from harness.collect.cpu import (
    FOREIGN_BUSY_PCT,
    ForeignCpu,
    LoadgenCpu,
    busy_reason,
    group_cpu_seconds,
    tree_cpu_seconds,
    window_is_valid,
)
from harness.collect.memory import PeakMemory, tree_pss_mb, tree_rss_mb
from harness.runtime.groups import MeteredGroup

# A parent that forks a child holding ~64 MB: the tree's RSS must count both.
HOLD_MEMORY = """
import os, time
if os.fork() == 0:
    block = bytearray(64 * 1024 * 1024)
    for i in range(0, len(block), 4096):
        block[i] = 1
time.sleep(30)
"""
# A parent holding ~64 MB that then forks four children sharing it (copy on write).
SHARE_MEMORY = """
import os, time
block = bytearray(64 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
for _ in range(4):
    if os.fork() == 0:
        break
time.sleep(30)
"""
# Two spinning processes in one tree: above one core even when the host is shared.
SPIN = "import os\nos.fork()\nwhile True: pass"


@pytest.fixture
def spawn():
    started: list[subprocess.Popen[bytes]] = []

    def run(code: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
        started.append(process)
        return process

    yield run
    for process in started:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_tree_rss_counts_children(spawn) -> None:
    parent = spawn(HOLD_MEMORY)
    time.sleep(1.5)
    assert tree_rss_mb([parent.pid]) > 64


def test_a_process_listed_with_its_parent_counts_once(spawn) -> None:
    # runtimes list every process of a service (uvicorn and its workers, a container's)
    parent = spawn(HOLD_MEMORY)
    time.sleep(1.5)
    [child] = psutil.Process(parent.pid).children()
    alone, listed = tree_rss_mb([parent.pid]), tree_rss_mb([parent.pid, child.pid])
    assert alone > 64
    assert math.isclose(listed, alone, abs_tol=1.0)


def test_cpu_of_a_process_listed_with_its_parent_counts_once(spawn) -> None:
    # the API's pids are uvicorn's supervisor and its workers: a worker's CPU once
    parent = spawn(SPIN)
    time.sleep(1.0)
    [child] = psutil.Process(parent.pid).children()
    before = tree_cpu_seconds(parent.pid)
    listed = group_cpu_seconds([parent.pid, child.pid])
    after = tree_cpu_seconds(parent.pid)
    assert before > 0.5
    assert before <= listed <= after


def test_pss_counts_pages_shared_by_forked_children_once(spawn) -> None:
    parent = spawn(SHARE_MEMORY)
    time.sleep(2.0)
    rss, pss = tree_rss_mb([parent.pid]), tree_pss_mb([parent.pid])
    # Five processes each map the same 64 MB: the RSS sum counts it five times.
    assert rss > 5 * 64
    assert 64 < pss < 2 * 64
    by_rss = PeakMemory("worker", lambda: [parent.pid], interval_s=0.1)
    by_pss = PeakMemory("worker", lambda: [parent.pid], interval_s=0.1, pss=True)
    by_rss.begin()
    by_pss.begin()
    time.sleep(0.5)
    rss_peak, pss_peak = by_rss.end()["worker.rss_peak_mb"], by_pss.end()["worker.rss_peak_mb"]
    assert pss_peak < rss_peak / 2


def test_a_metered_group_is_read_as_its_runtime_meters_it() -> None:
    readings = iter([math.nan, 300.0, 200.0])
    group = MeteredGroup([1], lambda: next(readings, 200.0))
    sampler = PeakMemory("worker", lambda: group, interval_s=0.05)
    sampler.begin()
    time.sleep(0.3)
    measured = sampler.end()
    # the RSS of pid 1 plays no part; a moment without a reading (NaN) is no sample
    assert measured["worker.rss_peak_mb"] == 300.0
    assert 200.0 <= measured["worker.rss_mean_mb"] < 300.0


def test_peak_memory_samples_over_the_window(spawn) -> None:
    parent = spawn(HOLD_MEMORY)
    sampler = PeakMemory("api", lambda: [parent.pid], interval_s=0.1)
    sampler.begin()
    time.sleep(1.5)
    readings = sampler.end()
    assert readings["api.rss_peak_mb"] > 64
    assert readings["api.rss_peak_mb"] >= readings["api.rss_mean_mb"]


def test_busy_load_generator_makes_the_window_invalid(spawn) -> None:
    busy = spawn(SPIN)
    cpu = LoadgenCpu(busy.pid, interval_s=0.5)
    cpu.begin()
    time.sleep(3.5)
    readings = cpu.end()
    # A spinning process gets a whole core on a quiet machine, less when the machine is
    # shared: check the reading is a real one and the verdict follows the 90 % rule.
    assert readings["loadgen.cpu_mean_pct"] > 50
    expected_valid = readings["loadgen.cpu_max_pct"] <= 90
    assert readings["loadgen.valid"] == float(expected_valid)


@pytest.mark.parametrize(
    ("samples", "valid"),
    [
        ([], True),
        ([10.0, 20.0], True),
        ([90.0], True),
        ([99.0, 92.0], False),
        # one saturated second among idle ones: the mean (19 %) would have hidden it
        ([10.0] * 9 + [100.0], False),
    ],
)
def test_window_validity_is_any_second_against_90_percent(
    samples: list[float], valid: bool
) -> None:
    assert window_is_valid(samples) is valid


# A process that starts a spinning child and waits for it: the child is in its tree.
SPIN_CHILD = "import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'while True: pass'])"
SLEEP = "import time\ntime.sleep(60)"


def _foreign(root_pid: int) -> dict[str, float]:
    machine = ForeignCpu(root_pid, interval_s=0.5)
    machine.begin()
    time.sleep(4.0)
    return machine.end()


def test_cpu_outside_the_tree_makes_the_machine_busy_and_inside_it_does_not(spawn) -> None:
    inside = spawn(SPIN_CHILD)
    time.sleep(0.5)
    within = _foreign(inside.pid)
    os.killpg(inside.pid, signal.SIGKILL)
    root = spawn(SLEEP)
    spawn(SPIN)  # two spinning processes, outside the sleeper's tree
    outside = _foreign(root.pid)
    # On a quiet machine: ~0 % inside (the spinner is the tree's), ~200 % outside. The
    # test's own machine may be shared, so compare the two rather than trust absolutes.
    assert outside["machine.foreign_cpu_mean_pct"] > within["machine.foreign_cpu_mean_pct"] + 60
    assert outside["machine.busy_seconds"] >= 3
    assert busy_reason(outside) is not None
    assert f"> {FOREIGN_BUSY_PCT:.0f}%" in (busy_reason(outside) or "")


def test_a_quiet_window_has_no_busy_reason() -> None:
    assert busy_reason({"machine.foreign_cpu_max_pct": 12.0, "machine.busy_seconds": 0.0}) is None
    assert busy_reason({}) is None
