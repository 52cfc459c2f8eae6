"""The service launchers start real servers and leave nothing behind."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

import psutil
import psycopg
import pytest

from harness.errors import UserError
from harness.runtime.local.postgres import PostgresServer
from harness.runtime.local.redis import RedisServer


def _children_listening_on(port: int) -> list[psutil.Process]:
    found = []
    for conn in psutil.net_connections(kind="tcp"):
        listening = conn.laddr and conn.status == psutil.CONN_LISTEN
        if listening and conn.laddr.port == port and conn.pid is not None:
            found.append(psutil.Process(conn.pid))
    return found


def test_postgres_runs_unprivileged_and_accepts_the_app_role(pg_server: PostgresServer) -> None:
    with psycopg.connect(pg_server.dsn()) as conn:
        row = conn.execute("SELECT current_user, current_setting('listen_addresses')").fetchone()
    assert row == ("chrono", "127.0.0.1")
    owners = {proc.username() for proc in _children_listening_on(pg_server.port)}
    assert owners and "root" not in owners


def test_postgres_restart_applies_new_settings() -> None:
    base = Path(tempfile.mkdtemp(prefix="chrono-test-pg-restart-"))
    server = PostgresServer(
        base, password=secrets.token_urlsafe(12), settings={"work_mem": "'8MB'"}
    )
    with server:
        with psycopg.connect(server.dsn()) as conn:
            assert conn.execute("SHOW work_mem").fetchone() == ("8MB",)
        server.restart({"work_mem": "'16MB'"})
        with psycopg.connect(server.dsn()) as conn:
            assert conn.execute("SHOW work_mem").fetchone() == ("16MB",)
        port = server.port
    assert _children_listening_on(port) == []


def test_fresh_databases_are_isolated(fresh_database: Callable[[], str]) -> None:
    first, second = fresh_database(), fresh_database()
    with psycopg.connect(first, autocommit=True) as conn:
        conn.execute("CREATE TABLE marker (id int)")
    with psycopg.connect(second) as conn:
        row = conn.execute("SELECT to_regclass('marker')").fetchone()
    assert row == (None,)


def test_redis_requires_its_password(redis_server: RedisServer) -> None:
    import redis

    assert redis_server.client().ping()
    anonymous = redis.Redis(host="127.0.0.1", port=redis_server.port)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()


def test_redis_stop_leaves_no_process(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, password="pw")
    server.start()
    port = server.port
    assert _children_listening_on(port)
    server.stop()
    assert _children_listening_on(port) == []


def test_unreachable_run_directory_is_a_user_error(tmp_path: Path) -> None:
    import os

    if os.geteuid() != 0:
        pytest.skip("only root hands the cluster to the postgres user")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    os.chmod(tmp_path, 0o700)
    with pytest.raises(UserError, match="cannot reach"):
        PostgresServer(locked / "pg", password="pw").start()
