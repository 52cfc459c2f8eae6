"""Shared fixtures: a real PostgreSQL and a real Redis, started once per test session."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.runtime.local.postgres import PostgresServer
from harness.runtime.local.redis import RedisServer


def _service_dir(prefix: str) -> Path:
    # Not pytest's tmp_path: its parents are 0700 root, which the postgres user cannot reach.
    return Path(tempfile.mkdtemp(prefix=prefix))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    base = _service_dir("chrono-test-pg-")
    server = PostgresServer(base, password=secrets.token_urlsafe(16))
    with server:
        yield server
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    base = _service_dir("chrono-test-redis-")
    with RedisServer(base, password=secrets.token_urlsafe(16)) as server:
        yield server
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def fresh_database(pg_server: PostgresServer) -> Iterator[Callable[[], str]]:
    """A factory of new empty databases (owned by the app role), dropped after the test."""
    created: list[str] = []

    def create() -> str:
        name = f"test_{secrets.token_hex(6)}"
        created.append(name)
        return pg_server.create_database(name)

    yield create
    for name in created:
        pg_server.drop_database(name)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The test Redis, flushed after each test so tests cannot see each other's keys."""
    yield redis_server.url()
    redis_server.client().flushall()


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[object]:
    """This machine's Docker engine; started (and stopped after the session) if none runs."""
    import os
    import shutil

    from harness.runtime.compose.dockerd import docker_engine as engine_context
    from harness.runtime.compose.dockerd import engine_answers

    if not engine_answers() and (os.geteuid() != 0 or shutil.which("dockerd") is None):
        pytest.skip("no Docker engine, and none can be started here (needs root and dockerd)")
    with engine_context(Path(tempfile.gettempdir()) / "chrono-test-dockerd.log") as engine:
        yield engine


@pytest.fixture(scope="session")
def offline_images(docker_engine: object) -> object:
    """The offline image set, built once per machine (unchanged images are reused)."""
    from harness.runtime.compose.images import OFFLINE_IMAGES, build_images, docker_client

    build_images(docker_client())
    return OFFLINE_IMAGES
