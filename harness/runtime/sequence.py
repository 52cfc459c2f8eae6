"""The steps every runtime takes in the same way: preparing the database after the
services are up, what a variant switch changes in the data, and the servers' versions.

A runtime starts and restarts its services its own way (processes, or compose); once
PostgreSQL and Redis answer, these steps are common, so a local and a compose run of the
same variant hold the same schema, indexes, seed data and cache state, and record their
versions under the same keys.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import psycopg
import redis

from app.db.migrate import apply_migrations, set_performance_indexes
from harness.runtime.variants import Changes, Variant

HTTP_TIMEOUT_S = 10.0
# What results.json's environment.versions holds for the servers, on every runtime.
VERSION_KEYS = ("postgres", "redis", "prometheus")

Seed = Callable[[str], object]


def prepare_database(
    database_url: str, superuser_dsn: str, variant: Variant, seed: Seed | None
) -> None:
    """The schema, the statement statistics verification reads, the variant's indexes,
    then the seed data."""
    apply_migrations(database_url)
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    set_performance_indexes(database_url, "db_indexes" in variant)
    if seed is not None:
        seed(database_url)


def apply_data(todo: Changes, variant: Variant, database_url: str, cache_url: str) -> None:
    """What a switch to `variant` changes in the data, once its processes are replaced:
    the performance indexes, and the cache (filled by the other variant, it would answer
    this one's first requests)."""
    if todo.indexes:
        set_performance_indexes(database_url, "db_indexes" in variant)
    if todo.api:
        client = redis.Redis.from_url(cache_url)
        try:
            client.flushall()
        finally:
            client.close()


def server_versions(database_url: str, cache_url: str, prometheus_url: str) -> dict[str, str]:
    """The servers' own versions, asked from each (keys: VERSION_KEYS)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    client = redis.Redis.from_url(cache_url)
    try:
        info = client.info("server")
    finally:
        client.close()
    build = httpx.get(f"{prometheus_url}/api/v1/status/buildinfo", timeout=HTTP_TIMEOUT_S)
    build.raise_for_status()
    return {
        "postgres": str(row[0]) if row else "unknown",
        "redis": str(info["redis_version"]),
        "prometheus": str(build.json()["data"]["version"]),
    }
