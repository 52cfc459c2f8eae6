"""Memory of the API's or the Celery workers' processes, sampled over a window.

A runtime hands out its processes as pids. Where it meters them as one group (the compose
runtime: a container's memory, as `docker stats` counts it, which is what its limit and
the OOM killer go by) the pids come as a `MeteredGroup` and that reading is used. Else it
is their resident memory: the RSS of every process of their trees, each process once,
summed; pages shared by forked workers count once per process, which is what the report's
"memory usage" rows mean by the memory of all API or worker processes. With `pss` it is
their proportional set size instead: a page shared by forked workers counts once in
all, so a leak in one process is not hidden or doubled by the others' sharing.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

from harness.collect import Readings
from harness.runtime.groups import MeteredGroup, tree
from harness.units import MIB, SECONDS_PER_MIN

SAMPLE_INTERVAL_S = 0.25


def tree_rss_mb(pids: Sequence[int]) -> float:
    """Summed RSS of the trees rooted at `pids`, in MB; a process in several of the trees
    (runtimes list a parent with its children) counts once."""
    processes = {process.pid: process for pid in pids for process in tree(pid)}
    total = 0
    for process in processes.values():
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / MIB


def tree_pss_mb(pids: Sequence[int]) -> float:
    """Summed PSS of the trees rooted at `pids`, in MiB, each process once."""
    processes = {process.pid: process for pid in pids for process in tree(pid)}
    total = 0
    for process in processes.values():
        try:
            total += process.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / MIB


def group_memory_mb(pids: Sequence[int], *, pss: bool = False) -> float:
    """The memory of a group of processes: its runtime's reading when it meters them as a
    group (a container's cgroup), else the summed RSS (or PSS) of their trees."""
    if isinstance(pids, MeteredGroup):
        return pids.memory_mb()
    return tree_pss_mb(pids) if pss else tree_rss_mb(pids)


def growth_per_min(samples: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of (seconds, MiB) samples, in MiB per minute (0 if flat
    or too few)."""
    if len(samples) < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / len(samples)
    mean_v = sum(v for _, v in samples) / len(samples)
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return 0.0
    slope = sum((t - mean_t) * (v - mean_v) for t, v in samples) / spread
    return slope * SECONDS_PER_MIN


class PeakMemory:
    """Samples the memory of some processes in the background; peak and mean (under the
    `<name>.rss_*` readings, whichever reading `group_memory_mb` takes).

    `roots` is asked again at each sample, so a tree restarted mid-window still counts.
    """

    def __init__(
        self,
        name: str,
        roots: Callable[[], Sequence[int]],
        interval_s: float = SAMPLE_INTERVAL_S,
        *,
        pss: bool = False,
        sink: Path | None = None,
    ) -> None:
        self.name = name
        self._roots = roots
        self._interval_s = interval_s
        self._pss = pss
        # each reading also appended there as "<unix s> <MiB>" (for another process)
        self._sink = sink
        self._samples: list[float] = []
        self.timed: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self) -> None:
        self._samples = []
        self.timed = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name=f"rss-{self.name}", daemon=True)
        self._thread.start()

    def end(self) -> Readings:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        samples = self._samples or [group_memory_mb(self._roots(), pss=self._pss)]
        return {
            f"{self.name}.rss_peak_mb": max(samples),
            f"{self.name}.rss_mean_mb": sum(samples) / len(samples),
            f"{self.name}.growth_mib_per_min": growth_per_min(self.timed),
        }

    def _sample(self) -> None:
        sink = self._sink.open("a") if self._sink is not None else None
        try:
            while True:
                reading = group_memory_mb(self._roots(), pss=self._pss)
                if math.isfinite(reading):  # NaN: the group had no reading at that moment
                    now = time.time()
                    self._samples.append(reading)
                    self.timed.append((now, reading))
                    if sink is not None:
                        sink.write(f"{now:.3f} {reading:.2f}\n")
                        sink.flush()
                if self._stop.wait(self._interval_s):
                    return
        finally:
            if sink is not None:
                sink.close()


def memory_kind(pids: Sequence[int]) -> str:
    """What `group_memory_mb(pids, pss=True)` reads: "cgroup" memory or "pss"."""
    return "cgroup" if isinstance(pids, MeteredGroup) else "pss"
