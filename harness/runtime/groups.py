"""The processes a runtime hands out for a service: a process tree, or a metered group.

A runtime lists a service's processes as pids. Where it meters them as one group (a
container, as `docker stats` counts it) it hands out a `MeteredGroup` carrying that
reading; collectors (harness/collect/memory.py) take it instead of the processes' RSS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import psutil


def tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants that are still alive."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


class MeteredGroup(list[int]):
    """Pids of processes their runtime meters as one group (a container), with the
    reading of that group's memory now, in MB."""

    def __init__(self, pids: Iterable[int], memory_mb: Callable[[], float]) -> None:
        super().__init__(pids)
        self.memory_mb = memory_mb
