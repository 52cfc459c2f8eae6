"""Units, each defined once.

Memory is in MiB (2^20 bytes) everywhere: budgets, inventories, samples, time series.
Names ending in `_mb` (`memory_mb`, `worker_memory_mb`, the inventory's `memory_mb`)
hold MiB; they keep that spelling because it is the inventory's and results.json's
contract. PostgreSQL and Celery count memory in KiB; PostgreSQL's and Redis's config
files write "MB" for MiB, as their own manuals do.
"""

from __future__ import annotations

KIB = 1024  # bytes
MIB = 1024 * 1024  # bytes
KIB_PER_MIB = 1024
SECONDS_PER_MIN = 60.0
MEMORY_UNIT = "MiB"  # the unit label of every memory figure chrono-bench prints or stores


def bytes_to_mib(count: float) -> float:
    return count / MIB


def kib_to_mib(count: float) -> float:
    return count / KIB_PER_MIB
