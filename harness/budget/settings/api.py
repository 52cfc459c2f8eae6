"""API: uvicorn worker processes and each one's database pool, all explicit.

Python's os.cpu_count() sees the host's cpus, not a container's limit, so the worker
count is passed on the command line.
"""

from __future__ import annotations

import math

# An API worker process with its imports, pool and request buffers.
WORKER_MEMORY_MIN_MB = 256
# Ten queries in flight already exceed what one process on one cpu can feed; more
# connections would only queue inside PostgreSQL.
DB_POOL_MAX = 10
# Kept open so the first requests after a quiet spell do not pay for connecting.
DB_POOL_MIN = 2


def worker_count(*, cpus: float, memory_mb: int, workers_per_cpu: int) -> int:
    """Worker processes: from the API's cpus, as many as its memory can hold."""
    by_cpus = math.floor(cpus * workers_per_cpu)
    by_memory = memory_mb // WORKER_MEMORY_MIN_MB
    return max(1, min(by_cpus, by_memory))


def api_settings(*, cpus: float, memory_mb: int, workers_per_cpu: int) -> dict[str, str]:
    """uvicorn workers and the DB pool bounds of each worker."""
    workers = worker_count(cpus=cpus, memory_mb=memory_mb, workers_per_cpu=workers_per_cpu)
    return {
        "workers": str(workers),
        "db_pool_min": str(DB_POOL_MIN),
        "db_pool_max": str(DB_POOL_MAX),
    }
