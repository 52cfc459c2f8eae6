"""The offline image set: reused when unchanged, and the postgres image keeps the official
image's first-start contract."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import docker
import psycopg
import pytest
from docker.models.containers import Container

from harness.runtime.compose.images import (
    HASH_LABEL,
    OFFLINE_IMAGES,
    OFFLINE_SPECS,
    build_images,
    docker_client,
)
from harness.runtime.ports import free_port

# a first build of the offline images (in the fixture) takes minutes
pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.timeout(1800)]
READY_TIMEOUT_S = 60.0


def test_a_second_build_reuses_every_image(offline_images: object) -> None:
    reports = build_images(docker_client())
    assert [r.outcome for r in reports] == ["reused"] * (len(OFFLINE_SPECS) + 1)
    client = docker.from_env()
    for spec in OFFLINE_SPECS:
        assert client.images.get(spec.tag).labels[HASH_LABEL]


@pytest.fixture
def postgres_container(offline_images: object) -> Iterator[tuple[Container, int, str]]:
    client = docker.from_env()
    port, password = free_port(), secrets.token_urlsafe(16)
    container = client.containers.run(
        OFFLINE_IMAGES.postgres,
        detach=True,
        environment={"POSTGRES_USER": "chrono", "POSTGRES_DB": "chrono",
                     "POSTGRES_PASSWORD": password},
        ports={"5432/tcp": ("127.0.0.1", port)},
        command=["postgres", "-c", "listen_addresses=*"],
        name=f"chrono-test-pg-{secrets.token_hex(3)}",
    )  # fmt: skip
    try:
        yield container, port, password
    finally:
        container.remove(force=True, v=True)


def _connect(port: int, password: str) -> psycopg.Connection[tuple[object, ...]]:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            return psycopg.connect(
                f"postgresql://chrono:{password}@127.0.0.1:{port}/chrono", connect_timeout=2
            )
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_postgres_initializes_once_with_password_auth(
    postgres_container: tuple[Container, int, str],
) -> None:
    container, port, password = postgres_container
    with _connect(port, password) as conn:
        row = conn.execute("SELECT current_user, current_database(), rolsuper FROM pg_roles"
                           " WHERE rolname = current_user").fetchone()  # fmt: skip
        conn.execute("CREATE TABLE kept (id int)")
        conn.commit()
    assert row == ("chrono", "chrono", True)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgresql://chrono:wrong@127.0.0.1:{port}/chrono", connect_timeout=5)

    container.restart(timeout=10)
    with _connect(port, password) as conn:
        assert conn.execute("SELECT to_regclass('kept') IS NOT NULL").fetchone() == (True,)
    logs = container.logs().decode()
    assert logs.count("entrypoint: initialized") == 1, logs[-2000:]
