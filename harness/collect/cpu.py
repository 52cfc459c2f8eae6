"""CPU over a window, second by second: the load generator's, and the machine's other jobs'.

A load generator that runs out of CPU queues its own requests and reports its own delay
as the server's latency, so a window where it saturates measures the harness, not the
stack. Likewise a window in which another job on the machine took the stack's CPU for a
few seconds measures that job: on the shared 2-core machine of this project, a ci window's
p95 went from 5-6 ms to 7-19 ms while other tests ran, and the gate read it as a
regression. Where the harness runs the whole stack as its own descendants (the local
runtime), every CPU second the machine spent outside that process tree, time the
hypervisor stole included, was someone else's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

import psutil

from harness.collect import Readings
from harness.runtime.groups import tree

SAMPLE_INTERVAL_S = 1.0
# Locust imports and spawns its users at full speed for about a second before the load
# starts; those samples say nothing about the measured window.
STARTUP_S = 2.0
# A load generator at or above this share of a core in any one second queues its own
# requests: the window measures it, not the stack.
SATURATED_CPU_PCT = 90.0
# CPU the machine spent outside the harness's process tree, in % of one core, that makes
# a second busy. A quiet machine's kernel threads and interrupt handling stay below it
# (see NOT_FOREIGN_FIELDS); another job's compile or test run passes it at once.
FOREIGN_BUSY_PCT = 25.0
# Fields of /proc/stat that say nothing of other jobs: idle, waiting on I/O, guest time
# (already counted in user), and interrupts, which no process is charged for: the
# loopback traffic between the load generator and the stack is handled there.
NOT_FOREIGN_FIELDS = frozenset({"idle", "iowait", "guest", "guest_nice", "irq", "softirq"})


def saturated(cpu_samples_pct: Sequence[float]) -> bool:
    """Whether any one-second sample passed the saturation mark (a window's or a step's
    mean would average a saturated stretch away)."""
    return any(sample > SATURATED_CPU_PCT for sample in cpu_samples_pct)


def window_is_valid(cpu_samples_pct: list[float]) -> bool:
    """A window is valid unless the load generator saturated in it."""
    return not saturated(cpu_samples_pct)


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process tree: its live processes' own, and those of the children
    they have reaped (so a process that exits mid-window keeps counting)."""
    return group_cpu_seconds([pid])


def group_cpu_seconds(pids: Sequence[int]) -> float:
    """CPU seconds of the trees rooted at `pids` (as `tree_cpu_seconds`), each process
    once: runtimes list a parent with its children."""
    processes = {process.pid: process for pid in pids for process in tree(pid)}
    total = 0.0
    for process in processes.values():
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has worked, on all its cores, time the hypervisor
    stole included, interrupts not."""
    times = psutil.cpu_times()
    return float(sum(getattr(times, f) for f in times._fields if f not in NOT_FOREIGN_FIELDS))


def mean_and_max(prefix: str, samples_pct: list[float]) -> Readings:
    """`<prefix>_mean_pct` and `<prefix>_max_pct` of per-second samples (0 when none)."""
    return {
        f"{prefix}_mean_pct": sum(samples_pct) / len(samples_pct) if samples_pct else 0.0,
        f"{prefix}_max_pct": max(samples_pct, default=0.0),
    }


class PerSecondCpu:
    """Samples a cumulative CPU-seconds reading each interval, in % of one core, in a
    thread, from STARTUP_S after `begin` until `end`."""

    def __init__(self, seconds: Callable[[], float], interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self._seconds = seconds
        self._interval_s = interval_s
        self.samples_pct: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self) -> None:
        self.samples_pct = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="cpu-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> list[float]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        return self.samples_pct

    def _sample(self) -> None:
        if self._stop.wait(STARTUP_S):
            return
        previous = self._seconds()
        while not self._stop.wait(self._interval_s):
            current = self._seconds()
            # A child whose parent has not reaped it yet takes its CPU time along for a
            # moment: never report a negative use.
            used_s = max(current - previous, 0.0)
            self.samples_pct.append(100.0 * used_s / self._interval_s)
            previous = current


class LoadgenCpu:
    """The CPU of a load generator's process tree, in % of one core."""

    def __init__(self, pid: int, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self._sampler = PerSecondCpu(lambda: tree_cpu_seconds(pid), interval_s)

    def begin(self) -> None:
        self._sampler.begin()

    def end(self) -> Readings:
        measured = self._sampler.stop()
        return {
            **mean_and_max("loadgen.cpu", measured),
            "loadgen.valid": 1.0 if window_is_valid(measured) else 0.0,
        }


class ForeignCpu:
    """The CPU the machine spent outside a process tree (by default this process's: the
    harness, and the stack and load generator it started), in % of one core."""

    def __init__(self, pid: int | None = None, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        root = os.getpid() if pid is None else pid
        self._sampler = PerSecondCpu(
            lambda: machine_busy_seconds() - tree_cpu_seconds(root), interval_s
        )

    def begin(self) -> None:
        self._sampler.begin()

    def end(self) -> Readings:
        measured = self._sampler.stop()
        busy = sum(1 for sample in measured if sample > FOREIGN_BUSY_PCT)
        return {
            **mean_and_max("machine.foreign_cpu", measured),
            "machine.busy_seconds": float(busy),
        }


def busy_reason(readings: Readings) -> str | None:
    """Why a window's machine was not the stack's alone, or None."""
    busy = readings.get("machine.busy_seconds", 0.0)
    if not busy:
        return None
    return (
        f"the machine was busy: other processes used up to "
        f"{readings['machine.foreign_cpu_max_pct']:.0f}% of a core "
        f"(> {FOREIGN_BUSY_PCT:.0f}% in {busy:.0f} s of the window)"
    )
