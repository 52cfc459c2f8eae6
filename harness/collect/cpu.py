"""CPU use of the load generator over a window: a window where it saturates is invalid.

A load generator that runs out of CPU queues its own requests and reports its own delay
as the server's latency, so such a window measures the harness, not the stack.
"""

from __future__ import annotations

import threading

import psutil

from harness.collect import Readings
from harness.runtime.groups import tree

SAMPLE_INTERVAL_S = 1.0
# Locust imports and spawns its users at full speed for about a second before the load
# starts; those samples say nothing about the measured window.
STARTUP_S = 2.0
SATURATED_CPU_PCT = 90.0


def window_is_valid(cpu_samples_pct: list[float]) -> bool:
    """A window is valid unless the load generator passed the saturation mark in any one
    second: a window's mean would average a saturated stretch away."""
    return all(sample <= SATURATED_CPU_PCT for sample in cpu_samples_pct)


class LoadgenCpu:
    """Samples the CPU of a load generator's process tree, in % of one core."""

    def __init__(self, pid: int, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self._pid = pid
        self._interval_s = interval_s
        self.samples_pct: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self) -> None:
        self.samples_pct = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="loadgen-cpu", daemon=True)
        self._thread.start()

    def end(self) -> Readings:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        measured = self.samples_pct
        return {
            "loadgen.cpu_mean_pct": sum(measured) / len(measured) if measured else 0.0,
            "loadgen.cpu_max_pct": max(measured, default=0.0),
            "loadgen.valid": 1.0 if window_is_valid(measured) else 0.0,
        }

    def _cpu_seconds(self) -> float:
        total = 0.0
        for process in tree(self._pid):
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def _sample(self) -> None:
        if self._stop.wait(STARTUP_S):
            return
        previous = self._cpu_seconds()
        while not self._stop.wait(self._interval_s):
            current = self._cpu_seconds()
            # A child that exits takes its CPU time with it: never report a negative use.
            used_s = max(current - previous, 0.0)
            self.samples_pct.append(100.0 * used_s / self._interval_s)
            previous = current
