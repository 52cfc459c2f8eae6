"""The rendered configs, read by a real PostgreSQL and a real Redis: every line is
accepted, every value lands, and the two Redis roles behave as their policies promise."""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from harness.budget.allocation import allocate
from harness.budget.inventory import HostSpec
from harness.render.bundle import render_postgresql_conf, render_redis_conf
from harness.runtime.local.postgres import PostgresServer
from harness.runtime.local.redis import RedisServer
from harness.units import MIB

REPORT_HOST = HostSpec(name="chrono-8c16g", cpus=8, memory_mb=16384)
SMALL_HOST = HostSpec(name="small", cpus=2, memory_mb=4096)
# pg_settings units, in kB
UNIT_KB = {"kB": 1, "8kB": 8, "MB": 1024}
MEMORY_VALUE = re.compile(r"^(\d+)(kB|MB)$")
VALUE_BYTES = 1024 * 1024


def _conf_settings(text: str) -> dict[str, str]:
    """`name = value` lines of a rendered postgresql.conf, values verbatim."""
    settings = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            name, value = (part.strip() for part in line.split("=", 1))
            settings[name] = value
    return settings


def _unquoted(value: str) -> str:
    return value[1:-1] if value.startswith("'") else value


@pytest.fixture
def service_dir() -> Iterator[Path]:
    # Not tmp_path: its parents are 0700 root, which the postgres user cannot reach.
    path = Path(tempfile.mkdtemp(prefix="chrono-test-render-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PostgresServer]:
    """One cluster for this module, restarted with each rendered conf (initdb is slow)."""
    path = Path(tempfile.mkdtemp(prefix="chrono-test-render-pg-"))
    server = PostgresServer(path, password=secrets.token_urlsafe(16))
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(path, ignore_errors=True)


def _server_values(server: PostgresServer, names: list[str]) -> dict[str, tuple[str, str | None]]:
    with psycopg.connect(server.dsn(database="postgres", superuser=True)) as conn:
        rows = conn.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s)", (names,)
        ).fetchall()
    return {name: (setting, unit) for name, setting, unit in rows}


@pytest.mark.parametrize("host", [REPORT_HOST, SMALL_HOST], ids=lambda host: host.name)
def test_postgresql_runs_with_the_tuned_conf(host: HostSpec, pg_cluster: PostgresServer) -> None:
    rendered = _conf_settings(render_postgresql_conf(allocate(host), tuned=True))
    pg_cluster.restart(settings=rendered)
    actual = _server_values(pg_cluster, list(rendered))

    assert set(actual) == set(rendered)  # every name is a real setting
    for name, raw in rendered.items():
        expected = _unquoted(raw)
        setting, unit = actual[name]
        match = MEMORY_VALUE.match(expected)
        if match:
            expected_kb = int(match[1]) * (1024 if match[2] == "MB" else 1)
            assert int(setting) * UNIT_KB[unit or "kB"] == expected_kb, name
        else:
            assert setting == expected, name


def test_postgresql_stock_conf_keeps_the_defaults(pg_cluster: PostgresServer) -> None:
    budget = allocate(REPORT_HOST)
    rendered = _conf_settings(render_postgresql_conf(budget, tuned=False))
    pg_cluster.restart(settings=rendered)
    actual = _server_values(pg_cluster, ["max_connections", "shared_buffers", "jit"])
    assert actual["max_connections"][0] == str(budget.connections.max_connections)
    assert actual["shared_buffers"] == ("16384", "8kB")  # PostgreSQL's default 128MB
    assert actual["jit"][0] == "on"


@pytest.fixture
def redis_pair(service_dir: Path) -> Iterator[tuple[redis.Redis[bytes], redis.Redis[bytes]]]:
    budget = allocate(SMALL_HOST)
    servers = []
    for role in ("cache", "broker"):
        conf = service_dir / f"redis-{role}.conf"
        conf.write_text(render_redis_conf(budget, role))
        server = RedisServer(
            service_dir / role,
            password=secrets.token_urlsafe(16),
            config_file=conf,
            name=f"redis-{role}",
        )
        server.start()
        servers.append(server)
    try:
        yield servers[0].client(), servers[1].client()
    finally:
        for server in servers:
            server.stop()


def test_redis_roles_get_their_settings(
    redis_pair: tuple[redis.Redis[bytes], redis.Redis[bytes]],
) -> None:
    budget = allocate(SMALL_HOST)
    cache, broker = redis_pair
    cache_memory_mb = int(budget["redis_cache"].settings["maxmemory"].removesuffix("mb"))
    assert cache.config_get("maxmemory")["maxmemory"] == str(cache_memory_mb * MIB)
    assert cache.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    assert cache.config_get("appendonly")["appendonly"] == "no"
    assert cache.config_get("save")["save"] == ""
    assert broker.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    assert broker.config_get("appendonly")["appendonly"] == "yes"
    assert broker.config_get("appendfsync")["appendfsync"] == "everysec"
    assert broker.info("persistence")["aof_enabled"] == 1


def test_cache_evicts_but_broker_refuses_rather_than_lose_a_task(
    redis_pair: tuple[redis.Redis[bytes], redis.Redis[bytes]],
) -> None:
    cache, broker = redis_pair
    value = b"x" * VALUE_BYTES
    # Twice the larger maxmemory (96 MB on the small host): both must hit their limit.
    writes = 2 * 96

    for index in range(writes):
        cache.set(f"page:{index}", value)
    assert cache.dbsize() < writes  # old keys were evicted, no write failed
    assert cache.info("stats")["evicted_keys"] > 0

    stored = 0
    with pytest.raises(redis.exceptions.ResponseError, match="maxmemory"):
        for index in range(writes):
            broker.rpush("celery", value)
            stored = index + 1
    assert broker.llen("celery") == stored  # every queued task is still there
    assert broker.info("stats")["evicted_keys"] == 0
