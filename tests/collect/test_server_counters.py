"""pg_stat_statements and Redis INFO deltas, against the real servers of the test session."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import redis

from harness.collect.postgres import StatementDelta
from harness.collect.redis import RedisInfo
from harness.runtime.local.postgres import APP_ROLE, PostgresServer


def test_statement_delta_counts_only_the_app_roles_statements(
    pg_server: PostgresServer, fresh_database: Callable[[], str]
) -> None:
    dsn = fresh_database()
    database = dsn.rsplit("/", 1)[1].split("?")[0]
    superuser = pg_server.dsn(database=database, superuser=True)
    delta = StatementDelta(superuser, database=database, role=APP_ROLE)
    delta.begin()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for value in range(7):
            conn.execute("SELECT %s::int", (value,))
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute("SELECT 1")  # the harness's own statements do not count
    readings = delta.end()
    assert readings["pg.statements"] == 7
    assert readings["pg.transaction_control"] == 0


def test_statement_delta_counts_transaction_control_apart(
    pg_server: PostgresServer, fresh_database: Callable[[], str]
) -> None:
    """What the app's counter leaves out (BEGIN/COMMIT psycopg sends) is counted apart."""
    dsn = fresh_database()
    database = dsn.rsplit("/", 1)[1].split("?")[0]
    delta = StatementDelta(
        pg_server.dsn(database=database, superuser=True), database=database, role=APP_ROLE
    )
    delta.begin()
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("SELECT 1")
            with conn.transaction():  # a savepoint
                conn.execute("SELECT 2")
        with conn.transaction():
            conn.execute("SELECT 3")
    readings = delta.end()
    assert readings["pg.statements"] == 3
    # BEGIN, SAVEPOINT, RELEASE, COMMIT, then BEGIN, COMMIT
    assert readings["pg.transaction_control"] == 6


def test_redis_info_counts_hits_and_misses(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("present", "1")
    info = RedisInfo(redis_url, "cache")
    info.begin()
    for _ in range(3):
        client.get("present")
    client.get("absent")
    readings = info.end()
    assert readings["cache.keyspace_hits"] == 3
    assert readings["cache.keyspace_misses"] == 1
