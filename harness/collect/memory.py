"""Memory of the API's or the Celery workers' processes, sampled over a window.

A runtime hands out its processes as pids. Where it meters them as one group (the compose
runtime: a container's memory, as `docker stats` counts it, which is what its limit and
the OOM killer go by) the pids come as a `MeteredGroup` and that reading is used. Else it
is their resident memory: the RSS of every process of their trees, each process once,
summed; pages shared by forked workers count once per process, which is what the report's
"memory usage" rows mean by the memory of all API or worker processes.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

import psutil

from harness.collect import Readings
from harness.runtime.groups import MeteredGroup, tree
from harness.units import MIB

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


def group_memory_mb(pids: Sequence[int]) -> float:
    """The memory of a group of processes: its runtime's reading when it meters them as a
    group, else the summed RSS of their trees."""
    if isinstance(pids, MeteredGroup):
        return pids.memory_mb()
    return tree_rss_mb(pids)


class PeakMemory:
    """Samples the memory of some processes in the background; peak and mean (under the
    `<name>.rss_*` readings, whichever reading `group_memory_mb` takes).

    `roots` is asked again at each sample, so a tree restarted mid-window still counts.
    """

    def __init__(
        self, name: str, roots: Callable[[], Sequence[int]], interval_s: float = SAMPLE_INTERVAL_S
    ) -> None:
        self.name = name
        self._roots = roots
        self._interval_s = interval_s
        self._samples: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self) -> None:
        self._samples = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name=f"rss-{self.name}", daemon=True)
        self._thread.start()

    def end(self) -> Readings:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        samples = self._samples or [group_memory_mb(self._roots())]
        return {
            f"{self.name}.rss_peak_mb": max(samples),
            f"{self.name}.rss_mean_mb": sum(samples) / len(samples),
        }

    def _sample(self) -> None:
        while True:
            reading = group_memory_mb(self._roots())
            if math.isfinite(reading):  # NaN: the group had no reading at that moment
                self._samples.append(reading)
            if self._stop.wait(self._interval_s):
                return
