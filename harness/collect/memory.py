"""Resident memory of process trees (the API, the Celery workers), sampled over a window.

RSS summed over a tree counts pages shared by forked workers once per process, which is
what the report's "memory usage" rows mean by the memory of all API or worker processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import psutil

from harness.collect import Readings

SAMPLE_INTERVAL_S = 0.25
BYTES_PER_MB = 1024 * 1024


def tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants that are still alive."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss_mb(pids: Sequence[int]) -> float:
    """Summed RSS of the trees rooted at `pids`, in MB."""
    total = 0
    for pid in pids:
        for process in tree(pid):
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
    return total / BYTES_PER_MB


class PeakMemory:
    """Samples the summed RSS of some process trees in the background; peak and mean.

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
        samples = self._samples or [tree_rss_mb(self._roots())]
        return {
            f"{self.name}.rss_peak_mb": max(samples),
            f"{self.name}.rss_mean_mb": sum(samples) / len(samples),
        }

    def _sample(self) -> None:
        while True:
            self._samples.append(tree_rss_mb(self._roots()))
            if self._stop.wait(self._interval_s):
                return
