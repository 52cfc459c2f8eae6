"""A host's bundle without compose: its services run as processes.

Where no container engine can run (the multi-host test's network namespaces share this
machine's one engine, which would put every "host's" containers on one network), a
host's bundle is brought up by this module instead: `python -m harness.runtime.local.host_processes
--bundle DIR --address ADDRESS --state DIR`, started by the deploy (deploy/processes.py).
It reads the bundle as compose would (compose.yml, its env files, `.env` interpolated),
starts PostgreSQL, the Redis instances, the schema migration, the API and the Celery
workers it lists, each listening on loopback and on the host's address at the port
compose would publish, and holds them until SIGTERM, then stops them all. The
exporters, Prometheus and Meilisearch of a bundle are not run here (logged as skipped).
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import psycopg
import yaml

from app.db.migrate import apply_migrations
from harness.runtime.chrono import MULTIPROC_ENV, fresh_dir, read_env_file, worker_services
from harness.runtime.local.postgres import PostgresServer
from harness.runtime.local.redis import RedisServer
from harness.runtime.placement import Placement
from harness.runtime.ports import LOOPBACK
from harness.runtime.service import Service, http_ok

LOG = logging.getLogger("chrono-host-processes")
READY_FILE = "ready"
RUNS_HERE = ("postgres", "redis_cache", "redis_broker", "migrate", "api", "worker")
INTERPOLATION = re.compile(r"\$\{(\w+)\}")
# a compose service's name and port in a URL: after "@" (credentials) or "//"
COMPOSE_ENDPOINT = re.compile(r"(?<=[@/])([a-z_]+:\d+)")
# The database host may still be running initdb when the app host starts.
DATABASE_WAIT_S = 120.0
DATABASE_POLL_S = 1.0
# Private ranges the database host accepts password logins from (the inventory's hosts).
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


def interpolate(value: str, secrets: Mapping[str, str]) -> str:
    """`${NAME}` from the bundle's .env, as compose interpolates it."""
    return INTERPOLATION.sub(lambda match: secrets[match.group(1)], value)


def service_environment(bundle: Path, compose: Mapping[str, Any], name: str) -> dict[str, str]:
    """A compose service's environment: its env files, then its `environment`, with this
    host's services (compose names) reached on loopback at their published ports."""
    service = compose["services"][name]
    secrets = read_env_file(bundle / ".env")
    env: dict[str, str] = {}
    for env_file in service.get("env_file", []):
        env.update(read_env_file(bundle / env_file))
    for key, value in (service.get("environment") or {}).items():
        env[key] = interpolate(str(value), secrets)
    local = local_endpoints(compose)
    for key, value in env.items():
        env[key] = COMPOSE_ENDPOINT.sub(
            lambda match: local.get(match.group(1), match.group(1)), value
        )
    return env


def local_endpoints(compose: Mapping[str, Any]) -> dict[str, str]:
    """`service:container_port` -> `127.0.0.1:published_port` for this host's services."""
    endpoints = {}
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            *_, published, container = str(mapping).split(":")
            endpoints[f"{name}:{container}"] = f"{LOOPBACK}:{published}"
    return endpoints


def published_port(service: Mapping[str, Any]) -> int:
    """The host port of a service's first published port ("address:host:container")."""
    return int(str(service["ports"][0]).split(":")[-2])


class HostProcesses:
    """The bundle's services as processes; `start()` in dependency order, `stop()` all."""

    def __init__(self, bundle: Path, address: str, state: Path) -> None:
        self.bundle = bundle
        self.address = address
        self.state = state
        self.compose: dict[str, Any] = yaml.safe_load((bundle / "compose.yml").read_text())
        self.secrets = read_env_file(bundle / ".env")
        self._stops: list[Callable[[], None]] = []

    @property
    def services(self) -> dict[str, Any]:
        services: dict[str, Any] = self.compose["services"]
        return services

    def start(self) -> None:
        skipped = sorted(set(self.services) - set(RUNS_HERE))
        if skipped:
            LOG.info("not run as a process: %s", ", ".join(skipped))
        if "postgres" in self.services:
            self._postgres()
        for role in ("cache", "broker"):
            if f"redis_{role}" in self.services:
                self._redis(role)
        if "migrate" in self.services:
            self._migrate()
        if "api" in self.services:
            self._api()
        if "worker" in self.services:
            self._workers()
        (self.state / READY_FILE).write_text("ready\n")

    def stop(self) -> None:
        (self.state / READY_FILE).unlink(missing_ok=True)
        while self._stops:
            try:
                self._stops.pop()()
            except Exception:
                LOG.exception("while stopping")

    def _postgres(self) -> None:
        server = PostgresServer(
            self.state / "postgres",
            password=self.secrets["POSTGRES_PASSWORD"],
            port=published_port(self.services["postgres"]),
            settings=_conf(self.bundle / "postgresql.conf"),
            listen=(LOOPBACK, self.address),
            hba_networks=PRIVATE_NETWORKS,
        )
        self._stops.append(server.stop)
        server.start()

    def _redis(self, role: str) -> None:
        server = RedisServer(
            self.state / f"redis-{role}",
            password=self.secrets[f"REDIS_{role.upper()}_PASSWORD"],
            config_file=self.bundle / f"redis-{role}.conf",
            port=published_port(self.services[f"redis_{role}"]),
            name=f"redis-{role}",
            bind=(LOOPBACK, self.address),
        )
        self._stops.append(server.stop)
        server.start()

    def _migrate(self) -> None:
        """The schema, once the database host answers (compose's `migrate` service)."""
        env = service_environment(self.bundle, self.compose, "migrate")
        dsn = env["CHRONO_DATABASE_URL"]
        deadline = time.monotonic() + DATABASE_WAIT_S
        while True:
            try:
                apply_migrations(dsn)
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(DATABASE_POLL_S)

    def _api(self) -> None:
        service = self.services["api"]
        env = service_environment(self.bundle, self.compose, "api")
        port = published_port(service)
        workers = service["command"][service["command"].index("--workers") + 1]
        metrics_dir = fresh_dir(self.state / "api" / "metrics")
        api = Service(
            "api",
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", self.address,
             "--port", str(port), "--workers", str(workers), "--no-access-log",
             "--log-level", "warning"],
            log_path=self.state / "api" / "api.log",
            ready=http_ok(f"http://{self.address}:{port}/health"),
            env={**env, MULTIPROC_ENV: str(metrics_dir)},
        )  # fmt: skip
        self._stops.append(api.stop)
        api.start()

    def _workers(self) -> None:
        env = service_environment(self.bundle, self.compose, "worker")
        for worker in worker_services(self.state / "worker", env, Placement()):
            self._stops.append(worker.stop)
            worker.start()


def _conf(path: Path) -> dict[str, str]:
    """postgresql.conf's settings as name -> value (the bundle's tuned file)."""
    settings = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            name, value = (part.strip() for part in line.split("=", 1))
            settings[name] = value
    return settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.runtime.local.host_processes")
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--state", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args.state.mkdir(parents=True, exist_ok=True)
    args.state.chmod(0o711)  # the postgres user reaches its cluster below
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    host_processes = HostProcesses(args.bundle, args.address, args.state)
    try:
        host_processes.start()
        LOG.info("all services up")
        while not stopping.wait(1.0):
            pass
    finally:
        host_processes.stop()
        LOG.info("stopped")


if __name__ == "__main__":
    main()
