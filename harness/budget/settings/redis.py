"""Redis: two instances with opposite needs.

The cache may forget anything (allkeys-lru, no persistence); the Celery broker and result
backend must forget nothing. The report's single allkeys-lru instance would evict queued
tasks under memory pressure, so the broker refuses writes instead (noeviction) and logs
every write to an append-only file synced each second: a restart loses no queued task.
"""

from __future__ import annotations

# maxmemory = 75 % of the cache's limit: the rest holds Redis itself, client buffers
# and allocator fragmentation.
CACHE_MAXMEMORY_PERCENT = 75
# maxmemory = 50 % of the broker's limit: an AOF rewrite forks, and copy-on-write may
# duplicate every page written while it runs.
BROKER_MAXMEMORY_PERCENT = 50


def redis_cache_settings(*, memory_mb: int) -> dict[str, str]:
    """redis.conf directives for the cache."""
    return {
        "maxmemory": f"{memory_mb * CACHE_MAXMEMORY_PERCENT // 100}mb",
        "maxmemory-policy": "allkeys-lru",
        "appendonly": "no",
        "save": '""',
    }


def redis_broker_settings(*, memory_mb: int) -> dict[str, str]:
    """redis.conf directives for the Celery broker and result backend."""
    return {
        "maxmemory": f"{memory_mb * BROKER_MAXMEMORY_PERCENT // 100}mb",
        "maxmemory-policy": "noeviction",
        "appendonly": "yes",
        "appendfsync": "everysec",
        # the AOF is the persistence; RDB snapshots would only add forks
        "save": '""',
    }
