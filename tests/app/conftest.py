"""Fixtures for the service's tests: a seeded database, settings, clients per variant."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from app.core.config import SWITCHES, Settings
from app.db.migrate import apply_migrations
from app.main import create_app
from app.seed import BENCH_EMAIL, BENCH_PASSWORD, OTHER_EMAILS, seed

JWT_SECRET = secrets.token_urlsafe(48)
ALL_OFF = dict.fromkeys(SWITCHES, False)
ALL_ON = dict.fromkeys(SWITCHES, True)
SUBSCRIBE_WAIT_S = 5.0


@pytest.fixture(scope="session")
def seeded_dsn(pg_server) -> Iterator[str]:
    """The quick data set, loaded once; tests that write use their own database."""
    name = f"seeded_{secrets.token_hex(4)}"
    dsn = pg_server.create_database(name)
    seed(dsn, "quick")
    yield dsn
    pg_server.drop_database(name)


@pytest.fixture
def empty_dsn(fresh_database) -> str:
    dsn = fresh_database()
    apply_migrations(dsn)
    return dsn


def build_settings(dsn: str, cache_url: str, broker_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": dsn,
        "redis_cache_url": cache_url,
        "redis_broker_url": broker_url,
        "jwt_secret": JWT_SECRET,
        "expose_statement_count": True,
        "db_pool_min": 1,
        "db_pool_max": 4,
        **ALL_OFF,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def settings_for(redis_url) -> Callable[..., Settings]:
    base = redis_url.rsplit("/", 1)[0]

    def build(dsn: str, **overrides: Any) -> Settings:
        return build_settings(dsn, f"{base}/0", f"{base}/1", **overrides)

    return build


@pytest.fixture
def client_for(settings_for) -> Iterator[Callable[..., TestClient]]:
    """Clients (lifespan started) for a database and switch overrides; closed after."""
    clients: list[TestClient] = []

    def build(dsn: str, **overrides: Any) -> TestClient:
        client = TestClient(create_app(settings_for(dsn, **overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def login(client: TestClient, email: str, password: str = BENCH_PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def register(client: TestClient, email: str, password: str = "password-123") -> dict[str, str]:
    response = client.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return login(client, email, password)


@pytest.fixture
def ws_env(empty_dsn, client_for, redis_url):
    def build(**switches):
        client = client_for(empty_dsn, **switches)
        headers = register(client, f"ws{time.monotonic_ns()}@example.com")
        token = headers["Authorization"].removeprefix("Bearer ")
        user_id = client.get("/api/v1/auth/me", headers=headers).json()["id"]
        return client, headers, token, user_id

    return build, redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/0")


def wait_for_relay(broker: redis.Redis) -> None:
    deadline = time.monotonic() + SUBSCRIBE_WAIT_S
    while broker.execute_command("PUBSUB", "NUMPAT") < 2:
        assert time.monotonic() < deadline, "the progress relay never subscribed"
        time.sleep(0.02)


__all__ = [
    "ALL_OFF",
    "ALL_ON",
    "BENCH_EMAIL",
    "OTHER_EMAILS",
    "login",
    "register",
    "wait_for_relay",
]
