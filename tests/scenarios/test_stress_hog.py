"""The stress hog's size: past the budget's host when that fits in this machine, else
sized from the worker's budget (a host as big as the machine must not be outgrown)."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from scenarios import stress
from scenarios.profiles import get_profile
from scenarios.stress import HOG_HOST_FACTOR, HOG_MEMORY_FACTOR, StressScenario, available_mb

WORKER_MB = 1024
MB = 1 << 20


@pytest.mark.parametrize(
    ("host_mb", "available", "expected"),
    [
        (4096, 24_000, HOG_HOST_FACTOR * 4096),  # a small host: outgrown
        (24_000, 24_000, HOG_MEMORY_FACTOR * WORKER_MB),  # the machine itself: not
        (512, 24_000, HOG_MEMORY_FACTOR * WORKER_MB),  # the worker's bound is more
    ],
)
def test_the_hog_outgrows_the_host_only_when_the_machine_can_hold_it(
    monkeypatch: pytest.MonkeyPatch, host_mb: int, available: float, expected: float
) -> None:
    monkeypatch.setattr(stress, "available_mb", lambda: available)
    hog = StressScenario(2, WORKER_MB, host_memory_mb=host_mb).hog(get_profile("quick"))
    assert hog.memory_mb == int(expected)
    assert hog.growth_s < hog.duration_s  # full size when the load ends, held to the end
    assert hog.command()[-3:] == [str(hog.growth_s), str(stress.HOG_STEP_MB), "1"]


def test_available_memory_is_read_from_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  8192000 kB\nMemAvailable:   2048000 kB\n")
    assert available_mb(meminfo) == 2000


def test_the_runaway_pool_replaces_a_killed_child_and_grows_again() -> None:
    """The hog program itself, small: three children share 48 MB; one killed is replaced
    by a fresh one, which grows again, and the hog ends on its own."""
    hog = stress.Hog(cpus=0, memory_mb=48, duration_s=4.0, growth_s=1.0, pool=3)
    process = psutil.Popen([sys.executable, *hog.command()[1:]])
    try:
        time.sleep(1.5)
        first = process.children()
        assert len(first) == 3
        assert sum(child.memory_info().rss for child in first) > 40 * MB
        first[0].send_signal(signal.SIGKILL)
        time.sleep(0.8)
        now = process.children()
        assert len(now) == 3 and first[0] not in now
        (fresh,) = set(now) - set(first)
        time.sleep(1.0)
        assert fresh.memory_info().rss > 12 * MB  # its task ran again from nothing
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            for child in process.children():
                child.kill()
            process.kill()
