"""The memory of a multiprocess service: the RSS summed over the live processes whose
metric files are in its directory (prometheus_client has no process collector there)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

from app.metrics import LiveProcessesMemory


def family_value(collector: LiveProcessesMemory) -> float:
    [family] = collector.collect()
    assert family.name == "chrono_processes_resident_memory_bytes"
    [sample] = family.samples
    return float(sample.value)


def test_sums_the_live_writers_and_skips_the_dead(tmp_path: Path) -> None:
    # a child that lives through the reading, and a pid that no longer exists
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    gone = subprocess.run([sys.executable, "-c", "pass"])
    try:
        for name in (
            f"counter_{os.getpid()}.db",
            f"gauge_livesum_{child.pid}.db",
            f"histogram_{child.pid}.db",  # one process, several files: counted once
            "counter_4194304999.db",  # never a pid
            "notes.txt",
        ):
            (tmp_path / name).write_bytes(b"")
        collector = LiveProcessesMemory(tmp_path)
        assert collector.pids() == {os.getpid(), child.pid, 4194304999}
        expected = psutil.Process().memory_info().rss + psutil.Process(child.pid).memory_info().rss
        # both processes' RSS, give or take what they touch between the two readings
        assert abs(family_value(collector) - expected) < 0.1 * expected
    finally:
        child.kill()
        child.wait()
    assert gone.returncode == 0
    assert family_value(collector) < expected


def test_an_empty_directory_reports_zero(tmp_path: Path) -> None:
    assert family_value(LiveProcessesMemory(tmp_path)) == 0
