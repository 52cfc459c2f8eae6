"""Celery worker: processes, memory per child and limits from the worker's allocation."""

from __future__ import annotations

import math

from harness.units import KIB_PER_MIB

# A child parsing multi-MB pages needs this much, whatever the cpus allow.
CHILD_MEMORY_MIN_MB = 256
# Children restart at 80 % of their share of the limit, before the cgroup OOM-kills one.
CHILD_MEMORY_PERCENT = 80
# Recycle children to bound slow leaks in parsing libraries (the report: 50).
MAX_TASKS_PER_CHILD = 50
# The report's optimized limits: 30 minutes hard, 25 soft.
TIME_LIMIT_S = 30 * 60
SOFT_TIME_LIMIT_S = 25 * 60
# The report's "current" concurrency, which the celery_tuning-off variant still runs: the
# database must accept its connections too.
REPORT_CURRENT_CONCURRENCY = 10
# With celery_tuning on, the app runs a one-child pool for the critical and indexing
# queues beside the scraping pool (app/worker/command.py).
FAST_POOL_PROCESSES = 1
# A prefork child runs one task at a time; one spare for a nested use.
DB_POOL_MIN = 1
DB_POOL_MAX = 2


def concurrency(*, cpus: float, memory_mb: int, processes_per_cpu: int) -> int:
    """Child processes: from the worker's cpus, as many as its memory can hold."""
    by_cpus = math.floor(cpus * processes_per_cpu)
    by_memory = memory_mb // CHILD_MEMORY_MIN_MB
    return max(1, min(by_cpus, by_memory))


def celery_settings(*, cpus: float, memory_mb: int, processes_per_cpu: int) -> dict[str, str]:
    """Celery settings, named as Celery's configuration names them."""
    children = concurrency(cpus=cpus, memory_mb=memory_mb, processes_per_cpu=processes_per_cpu)
    # max_memory_per_child = worker limit / concurrency * 0.8, in KiB as Celery reads it
    max_memory_per_child_kib = memory_mb * KIB_PER_MIB * CHILD_MEMORY_PERCENT // (100 * children)
    return {
        "worker_concurrency": str(children),
        # Scraping tasks run for minutes: a prefetched task would wait behind them while
        # another child sits idle.
        "worker_prefetch_multiplier": "1",
        "worker_max_memory_per_child": str(max_memory_per_child_kib),
        "worker_max_tasks_per_child": str(MAX_TASKS_PER_CHILD),
        "task_time_limit": str(TIME_LIMIT_S),
        "task_soft_time_limit": str(SOFT_TIME_LIMIT_S),
        "db_pool_min": str(DB_POOL_MIN),
        "db_pool_max": str(DB_POOL_MAX),
    }


def connecting_processes(settings: dict[str, str]) -> int:
    """The most worker processes holding a DB pool at once, over every Celery variant."""
    tuned = int(settings["worker_concurrency"]) + FAST_POOL_PROCESSES
    return max(tuned, REPORT_CURRENT_CONCURRENCY)
