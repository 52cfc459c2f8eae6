"""PostgreSQL: PGTune's "web" rules, applied to PostgreSQL's own memory limit.

The limit, not the host's memory: under a container limit the page cache PostgreSQL
relies on is charged to its own cgroup, so effective_cache_size is a share of the limit
too. max_connections comes from the connection budget (harness.budget.allocation), not a constant.
"""

from __future__ import annotations

import math

from harness.budget.settings.units import pg_memory
from harness.units import KIB_PER_MIB

# PostgreSQL's own default when max_worker_processes is not set.
PG_DEFAULT_MAX_WORKER_PROCESSES = 8
# PostgreSQL's default; the budget adds them to the clients' demand.
SUPERUSER_RESERVED_CONNECTIONS = 3
# A backend's private memory (catalog caches, stack, buffers: ~5 MB) plus one sort at the
# work_mem floor: the least each connection may use at once.
BACKEND_MEMORY_MB = 10
WORK_MEM_FLOOR_KB = 4 * KIB_PER_MIB
MAINTENANCE_WORK_MEM_CAP_KB = 2048 * KIB_PER_MIB
WAL_BUFFERS_CAP_KB = 16 * KIB_PER_MIB
# wal_buffers is counted in WAL pages: PostgreSQL silently rounds anything else down.
WAL_PAGE_KB = 8
MIN_WAL_SIZE_MB = 1024
MAX_WAL_SIZE_MB = 4096
# Below this limit PostgreSQL runs on a small host with a small disk: WAL sizes shrink
# in proportion, so max_wal_size stays at twice the memory limit.
WAL_FULL_SIZE_FROM_MB = 2048
PARALLEL_FROM_CPUS = 4
PARALLEL_PER_GATHER_CAP = 4


def postgres_settings(*, memory_mb: int, cpus: float, max_connections: int) -> dict[str, str]:
    """postgresql.conf settings for a PostgreSQL limited to `memory_mb` and `cpus`."""
    memory_kb = memory_mb * KIB_PER_MIB
    # shared_buffers = 25 % of the limit
    shared_buffers_kb = memory_kb // 4
    # effective_cache_size = 75 % of the limit
    effective_cache_size_kb = memory_kb * 3 // 4
    # maintenance_work_mem = 1/16 of the limit, capped at 2 GB
    maintenance_work_mem_kb = min(memory_kb // 16, MAINTENANCE_WORK_MEM_CAP_KB)
    # wal_buffers = 3 % of shared_buffers, capped at 16 MB (in whole 8 kB WAL pages)
    wal_buffers_kb = min(shared_buffers_kb * 3 // 100, WAL_BUFFERS_CAP_KB)
    wal_buffers_kb -= wal_buffers_kb % WAL_PAGE_KB

    parallel = parallel_settings(cpus)
    max_worker_processes = int(
        parallel.get("max_worker_processes", PG_DEFAULT_MAX_WORKER_PROCESSES)
    )
    # work_mem = (limit - shared_buffers) / ((max_connections + max_worker_processes) * 3),
    # floored at 4 MB
    work_mem_kb = max(
        WORK_MEM_FLOOR_KB,
        (memory_kb - shared_buffers_kb) // ((max_connections + max_worker_processes) * 3),
    )
    # min_wal_size / max_wal_size = 1 GB / 4 GB, scaled down below a 2 GB limit
    wal_scale_mb = min(memory_mb, WAL_FULL_SIZE_FROM_MB)
    min_wal_size_mb = MIN_WAL_SIZE_MB * wal_scale_mb // WAL_FULL_SIZE_FROM_MB
    max_wal_size_mb = MAX_WAL_SIZE_MB * wal_scale_mb // WAL_FULL_SIZE_FROM_MB

    return {
        "max_connections": str(max_connections),
        "superuser_reserved_connections": str(SUPERUSER_RESERVED_CONNECTIONS),
        "shared_buffers": pg_memory(shared_buffers_kb),
        "effective_cache_size": pg_memory(effective_cache_size_kb),
        "maintenance_work_mem": pg_memory(maintenance_work_mem_kb),
        "wal_buffers": pg_memory(wal_buffers_kb),
        "work_mem": pg_memory(work_mem_kb),
        "min_wal_size": f"{min_wal_size_mb}MB",
        "max_wal_size": f"{max_wal_size_mb}MB",
        "checkpoint_completion_target": "0.9",
        "default_statistics_target": "100",
        # SSD storage: random reads cost barely more than sequential ones
        "random_page_cost": "1.1",
        "effective_io_concurrency": "200",
        **parallel,
        # JIT compiles slowly for the short OLTP queries of a web app (the report sets it off)
        "jit": "off",
        "wal_compression": "lz4",
        # the collectors read pg_stat_statements
        "shared_preload_libraries": "pg_stat_statements",
    }


def parallel_settings(cpus: float) -> dict[str, str]:
    """Parallel-query workers from PostgreSQL's cpus, set only from 4 cpus on."""
    whole_cpus = math.floor(cpus)
    if whole_cpus < PARALLEL_FROM_CPUS:
        return {}
    per_gather = min(PARALLEL_PER_GATHER_CAP, math.ceil(whole_cpus / 2))
    return {
        "max_worker_processes": str(whole_cpus),
        "max_parallel_workers_per_gather": str(per_gather),
        "max_parallel_workers": str(whole_cpus),
        "max_parallel_maintenance_workers": str(per_gather),
    }


def connection_ceiling(memory_mb: int) -> int:
    """The most connections `memory_mb` of PostgreSQL can hold beside shared_buffers."""
    return (memory_mb - memory_mb // 4) // BACKEND_MEMORY_MB


def stock_settings(max_connections: int) -> dict[str, str]:
    """The `pg_tuning` off variant: PostgreSQL's defaults but for what every variant needs.

    max_connections must still hold the clients' demand, and pg_stat_statements is how
    both variants are measured.
    """
    return {
        "max_connections": str(max_connections),
        "shared_preload_libraries": "pg_stat_statements",
    }
