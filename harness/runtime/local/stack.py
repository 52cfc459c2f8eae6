"""The local runtime: the whole stack as processes on this host, under one run directory.

PostgreSQL, the Redis cache and broker, the Wayback stand-in, the API, the Celery
workers, the exporters and Prometheus each run from the rendered bundle's configuration
on a free loopback port; the API on the placement's listen address, loopback unless a
run's load hosts must reach it. `start()` waits for each to be healthy; `stop()` stops
all of them, newest first, and is what every exit path (normal, Ctrl-C, SIGTERM, an
exception) goes through. Switching variants restarts only what the changed
optimizations configure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from harness.budget.allocation import Budget
from harness.render.bundle import RenderOptions, render_bundle, render_postgresql_conf
from harness.runtime import chrono
from harness.runtime.chrono import read_env_file
from harness.runtime.local import monitoring
from harness.runtime.local.postgres import APP_DATABASE, APP_ROLE, PostgresServer
from harness.runtime.local.redis import RedisServer
from harness.runtime.placement import Placement
from harness.runtime.ports import LOOPBACK, free_port
from harness.runtime.sequence import apply_data, prepare_database, server_versions
from harness.runtime.service import Service
from harness.runtime.signals import signals_deferred
from harness.runtime.target import StackBase
from harness.runtime.variants import BASELINE, Changes, Variant, changes
from harness.upstream.corpus import CorpusConfig
from harness.upstream.profiles import FAST, UpstreamProfile
from harness.upstream.server import UpstreamServer

LOG = logging.getLogger(__name__)
CONF_LINE = re.compile(r"^\s*([a-z_.]+)\s*=\s*(.+?)\s*(#.*)?$")
BUNDLE_DIR = "bundle"
PORT_NAMES = (
    "api", "prometheus", "postgres_exporter", "redis_cache_exporter",
    "redis_broker_exporter", "worker_metrics",
)  # fmt: skip


def postgres_settings(budget: Budget, tuned: bool) -> dict[str, str]:
    """The bundle's postgresql.conf (budget-derived or stock) as name -> value."""
    settings = {}
    for line in render_postgresql_conf(budget, tuned=tuned).splitlines():
        match = CONF_LINE.match(line)
        if match:
            settings[match.group(1)] = match.group(2)
    return settings


def _parallel(actions: list[Callable[[], None]]) -> None:
    """Run start or stop actions at once (each waits on its own process), re-raising errors."""
    if len(actions) <= 1:
        for action in actions:
            action()
        return
    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        for future in [pool.submit(action) for action in actions]:
            future.result()


def _quietly(action: Callable[[], None]) -> None:
    """Run a stop action; a failure is logged and does not keep the others from running."""
    try:
        action()
    except Exception:
        LOG.exception("while stopping the stack")


class LocalStack(StackBase):
    """The stack in `run_dir`; `with LocalStack(...) as stack:` stops it on every exit."""

    runtime = "local"
    database = APP_DATABASE
    role = APP_ROLE

    def __init__(
        self,
        run_dir: Path,
        budget: Budget,
        *,
        placement: Placement | None = None,
        variant: Variant = BASELINE,
        corpus: CorpusConfig | None = None,
        seed: Callable[[str], object] | None = None,
        app_env: Mapping[str, str] | None = None,
        upstream: UpstreamProfile = FAST,
    ) -> None:
        super().__init__(
            run_dir, budget, placement=placement, variant=variant, seed=seed, upstream=upstream
        )
        self.app_env = dict(app_env or {})
        self.bundle = render_bundle(
            budget, run_dir / BUNDLE_DIR, options=RenderOptions(search_backend="postgres")
        )
        secrets = read_env_file(self.bundle / ".env")
        self._jwt_secret = secrets["CHRONO_JWT_SECRET"]
        self.postgres = PostgresServer(
            run_dir / "postgres",
            password=secrets["POSTGRES_PASSWORD"],
            settings=postgres_settings(budget, "pg_tuning" in variant),
        )
        self.redis_cache = RedisServer(
            run_dir / "redis-cache",
            password=secrets["REDIS_CACHE_PASSWORD"],
            config_file=self.bundle / "redis-cache.conf",
            name="redis-cache",
        )
        self.redis_broker = RedisServer(
            run_dir / "redis-broker",
            password=secrets["REDIS_BROKER_PASSWORD"],
            config_file=self.bundle / "redis-broker.conf",
            name="redis-broker",
        )
        self.upstream = UpstreamServer(corpus, log_path=run_dir / "upstream.log", profile=upstream)
        self.ports = {
            name: free_port(self.placement.listen if name == "api" else LOOPBACK)
            for name in PORT_NAMES
        }
        self.api: Service | None = None
        self.workers: list[Service] = []
        self._monitoring: list[Service] = []
        self._stops: list[Callable[[], None]] = []

    @property
    def api_url(self) -> str:
        return f"http://{self.placement.listen}:{self.ports['api']}"

    @property
    def prometheus_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['prometheus']}"

    @property
    def upstream_url(self) -> str:
        return self.upstream.base_url

    @property
    def database_url(self) -> str:
        return self.postgres.dsn()

    def superuser_dsn(self) -> str:
        return self.postgres.dsn(superuser=True)

    def jwt_secret(self) -> str:
        """The key the API signs tokens with (scenarios mint tokens for many users)."""
        return self._jwt_secret

    def cache_url(self) -> str:
        return self.redis_cache.url()

    def broker_url(self) -> str:
        return self.redis_broker.url()

    def api_pids(self) -> list[int]:
        return self.api.pids() if self.api else []

    def worker_pids(self) -> list[int]:
        return [pid for worker in self.workers for pid in worker.pids()]

    def versions(self) -> dict[str, str]:
        """Versions of the servers this stack runs (for results.json's environment)."""
        return server_versions(self.database_url, self.cache_url(), self.prometheus_url)

    def app_endpoints(self) -> dict[str, str]:
        """The app's connection settings for this stack."""
        return {
            "CHRONO_DATABASE_URL": self.database_url,
            "CHRONO_REDIS_CACHE_URL": self.redis_cache.url(),
            "CHRONO_REDIS_BROKER_URL": self.redis_broker.url(),
            "CHRONO_WAYBACK_URL": self.upstream_url,
        }

    def start(self) -> None:
        """Start every service and wait for each; on any failure stop what did start."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._stops.append(self.postgres.stop)
        self.postgres.start()
        self._stops += [self.redis_cache.stop, self.redis_broker.stop, self.upstream.stop]
        _parallel([self.redis_cache.start, self.redis_broker.start, self._start_upstream])
        prepare_database(self.database_url, self.superuser_dsn(), self.variant, self._seed)
        self._start_app(api=True, workers=True)
        self._start_monitoring()

    def _start_upstream(self) -> None:
        self.upstream.start()
        if self.placement.pinned and self.upstream.pid is not None:
            # The stand-in plays the remote archive: keep it off the load generator's core.
            psutil.Process(self.upstream.pid).cpu_affinity(list(self.placement.sut_cpus))

    def _start_app(self, *, api: bool, workers: bool) -> None:
        """Start the app's processes on every core, then pin them (placement.py says why)."""
        started: list[Service] = []
        endpoints = self.app_endpoints()
        unpinned = self.placement.unpinned()
        if api:
            env = chrono.app_environment(
                self.bundle, endpoints, self.variant, upstream=self.upstream_profile
            )
            env |= self.app_env
            self.api = chrono.api_service(self.run_dir / "api", self.ports["api"], env, unpinned)
            started.append(self.api)
        if workers:
            env = chrono.app_environment(
                self.bundle, endpoints, self.variant, worker=True, upstream=self.upstream_profile
            )
            env |= self.app_env
            self.workers = chrono.worker_services(self.run_dir / "worker", env, unpinned)
            started += self.workers
        _parallel([service.start for service in started])
        self.placement.pin([pid for service in started for pid in service.pids()], "sut")

    def _stop_app(self, *, api: bool, workers: bool) -> None:
        actions: list[Callable[[], None]] = []
        if api and self.api is not None:
            actions.append(self.api.stop)
        if workers:
            actions += [worker.stop for worker in self.workers]
        _parallel(actions)
        if api:
            self.api = None
        if workers:
            self.workers = []
            # Tasks the stopped workers left queued or unacknowledged belong to the old
            # variant: the next workers start from an empty broker.
            self.redis_broker.client().flushall()

    def _start_monitoring(self) -> None:
        base = self.run_dir / "monitoring"
        ports = self.ports
        jobs = {
            "prometheus": [f"{LOOPBACK}:{ports['prometheus']}"],
            "api": [f"{self.placement.listen}:{ports['api']}"],
            "worker": [f"{LOOPBACK}:{ports['worker_metrics']}"],
            "postgres": [f"{LOOPBACK}:{ports['postgres_exporter']}"],
            "redis_cache": [f"{LOOPBACK}:{ports['redis_cache_exporter']}"],
            "redis_broker": [f"{LOOPBACK}:{ports['redis_broker_exporter']}"],
        }
        config = monitoring.write_prometheus_config(self.budget, jobs, base / "prometheus.yml")
        self._monitoring = [
            monitoring.postgres_exporter(
                base, ports["postgres_exporter"],
                self.postgres.dsn(superuser=True) + "&sslmode=disable", self.placement,
            ),
            monitoring.redis_exporter(
                base, "redis-cache", ports["redis_cache_exporter"],
                redis_port=self.redis_cache.port, password=self.redis_cache.password,
                placement=self.placement,
            ),
            monitoring.redis_exporter(
                base, "redis-broker", ports["redis_broker_exporter"],
                redis_port=self.redis_broker.port, password=self.redis_broker.password,
                placement=self.placement, queue_db=0,
            ),
            monitoring.multiprocess_exporter(
                base, "worker", ports["worker_metrics"], self.run_dir / "worker" / "metrics",
                self.placement,
            ),
            monitoring.prometheus(base / "prometheus", ports["prometheus"], config, self.placement),
        ]  # fmt: skip
        _parallel([service.start for service in self._monitoring])

    def apply(self, variant: Variant) -> Changes:
        """Switch to `variant`, touching only what the changed optimizations configure."""
        todo = changes(self.variant, variant)
        if not todo.any:
            return todo
        LOG.info("variant %s -> %s", sorted(self.variant) or "baseline", sorted(variant))
        self._stop_app(api=todo.api, workers=todo.workers)
        self.variant = variant
        if todo.postgres:
            self.postgres.restart(postgres_settings(self.budget, "pg_tuning" in variant))
        apply_data(todo, variant, self.database_url, self.cache_url())
        self._start_app(api=todo.api, workers=todo.workers)
        return todo

    def stop(self) -> None:
        """Stop everything this stack started, newest first; safe to call twice.

        Ctrl-C or SIGTERM during the stop waits until it is done: a half-stopped stack
        would leave processes behind.
        """
        with signals_deferred():
            self._stop()

    def _stop(self) -> None:
        for service in reversed(self._monitoring):
            _quietly(service.stop)
        self._monitoring = []
        _quietly(lambda: self._stop_app(api=True, workers=False))
        for worker in self.workers:
            _quietly(worker.stop)
        self.workers = []
        while self._stops:
            _quietly(self._stops.pop())
