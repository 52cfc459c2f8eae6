"""Render a budget into a bundle: compose.yml and every service's configuration file.

Templates are `compose.j2` and `templates/*.j2` at the top of the repository. Rendering is
pure: the same budget and options give byte-identical files, except `.env`, whose
secrets are generated once per bundle and reused (harness/render/secrets.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import jinja2

from app.worker.queues import SINGLE_QUEUE, TUNED_QUEUES
from harness.budget.allocation import Budget
from harness.budget.records import ServiceAllocation
from harness.budget.settings import postgres
from harness.budget.settings.units import cpus_text
from harness.budget.shares import SERVICES
from harness.paths import REPO_ROOT
from harness.render.secrets import ensure_env_file

TEMPLATE_DIR = REPO_ROOT / "templates"
COMPOSE_TEMPLATE = REPO_ROOT / "compose.j2"
DB_USER = "chrono"
DB_NAME = "chrono"
API_PORT = 8000
MEILI_URL = "http://meilisearch:7700"
# Where Prometheus finds each job inside the compose network.
COMPOSE_SCRAPE_JOBS: dict[str, list[str]] = {
    "prometheus": ["localhost:9090"],
    "api": [f"api:{API_PORT}"],
    "postgres": ["postgres_exporter:9187"],
    "redis_cache": ["redis_cache_exporter:9121"],
    "redis_broker": ["redis_broker_exporter:9121"],
    "worker": ["worker:9101"],
}
# The Wayback stand-in shares the worker's network namespace (it binds loopback only):
# the worker reaches it as the remote archive, on this port.
UPSTREAM_PORT = 8080
# Every Celery queue of both variants: the broker's exporter reports their lengths.
CELERY_QUEUES = (SINGLE_QUEUE, *TUNED_QUEUES)
GRAFANA_PORT = 3000
NOFILE_LIMIT = 65535
# What each service listens on inside the compose network, for `published_ports`.
CONTAINER_PORTS = {"postgres": 5432, "redis_cache": 6379, "redis_broker": 6379,
                   "prometheus": 9090, "meilisearch": 7700, "worker": 9101,
                   "postgres_exporter": 9187, "redis_cache_exporter": 9121,
                   "redis_broker_exporter": 9121}  # fmt: skip
# The service each Prometheus job scrapes (COMPOSE_SCRAPE_JOBS's targets).
SCRAPED_SERVICES = {"prometheus": "prometheus", "api": "api", "postgres": "postgres_exporter",
                    "redis_cache": "redis_cache_exporter", "redis_broker": "redis_broker_exporter",
                    "worker": "worker"}  # fmt: skip
SearchBackend = Literal["meilisearch", "postgres"]
RedisRole = Literal["cache", "broker"]


@dataclass(frozen=True)
class Images:
    """The image of each service: the official ones by default, or an offline set."""

    app: str = "chrono-bench/app:latest"
    postgres: str = "postgres:17"
    redis: str = "redis:7"
    meilisearch: str = "getmeili/meilisearch:v1.16"
    prometheus: str = "prom/prometheus:v2.53.2"
    postgres_exporter: str = "prometheuscommunity/postgres-exporter:v0.15.0"
    # the -alpine variant has wget for the healthcheck; the default one is FROM scratch
    redis_exporter: str = "oliver006/redis_exporter:v1.62.0-alpine"
    grafana: str = "grafana/grafana-oss:11.2.0"


@dataclass(frozen=True)
class RenderOptions:
    """Everything but the budget that changes the bundle."""

    images: Images = field(default_factory=Images)
    # off = no deploy.resources at all: the report's "current" (optimization resource_limits)
    resource_limits: bool = True
    # off = stock postgresql.conf (optimization pg_tuning)
    pg_tuning: bool = True
    search_backend: SearchBackend = "meilisearch"
    # the API is the only published port, on loopback unless configured
    api_bind: str = "127.0.0.1"
    api_port: int = API_PORT
    project_name: str = "chrono"
    # build the app image from app/Dockerfile in this directory (relative to the bundle);
    # None: the repository's root; "" : do not build, the app image must exist
    build_context: str | None = None
    # the Wayback stand-in, for benchmark runs (in the worker's network namespace)
    upstream: bool = False
    # the stand-in's CHRONO_UPSTREAM_* settings (its corpus and faults)
    upstream_environment: Mapping[str, str] = field(default_factory=dict)
    # a one-shot `migrate` service the app waits for (off: whoever starts the stack migrates)
    migrate: bool = False
    # Grafana with the provisioned dashboard (hosts that can run the official image)
    grafana: bool = False
    grafana_port: int = GRAFANA_PORT
    # more environment for the API and the workers (a variant's CHRONO_<ID> switches)
    app_environment: Mapping[str, str] = field(default_factory=dict)
    # service -> host port, published on api_bind (a harness reaching into the stack)
    published_ports: Mapping[str, int] = field(default_factory=dict)
    # the API's open-files limit; an engine cannot raise it above its own hard limit
    nofile_limit: int = NOFILE_LIMIT
    # every service (but the stand-in, outside the host) under this parent cgroup: the
    # budget's host modelled on a bigger machine (harness/runtime/compose/cgroup.py)
    cgroup_parent: str = ""
    # A host of a multi-host inventory (harness/render/topology.py): the services its compose
    # holds (None: all), where the others are ("address:port" by service), and their
    # allocations (the env files need the API's and the workers' settings).
    placed: frozenset[str] | None = None
    remote: Mapping[str, str] = field(default_factory=dict)
    peers: Mapping[str, ServiceAllocation] = field(default_factory=dict)
    # more targets per Prometheus job (the workers of other hosts)
    scrape_targets: Mapping[str, Sequence[str]] = field(default_factory=dict)


def render_bundle(budget: Budget, out_dir: Path, *, options: RenderOptions | None = None) -> Path:
    """Write the bundle for `budget` into `out_dir` (created if needed) and return it."""
    options = options or RenderOptions()
    out_dir.mkdir(parents=True, exist_ok=True)
    build_context = options.build_context
    if build_context is None:
        build_context = os.path.relpath(REPO_ROOT, out_dir.resolve())
    placed = _placed(options)
    with_peers = _with_peers(budget, options)
    jobs = scrape_jobs(options.remote, options.scrape_targets)
    renderers: dict[str, tuple[str, Callable[[], str]]] = {
        "postgresql.conf": (
            "postgres", lambda: render_postgresql_conf(budget, tuned=options.pg_tuning)
        ),
        "redis-cache.conf": ("redis_cache", lambda: render_redis_conf(budget, "cache")),
        "redis-broker.conf": ("redis_broker", lambda: render_redis_conf(budget, "broker")),
        "prometheus.yml": ("prometheus", lambda: render_prometheus_yml(budget, jobs)),
    }  # fmt: skip
    configs = {name: render() for name, (service, render) in renderers.items() if service in placed}
    files = {
        "compose.yml": render_compose(
            budget, options, build_context=build_context or None, configs=configs
        ),
        **configs,
    }
    if placed & {"api", "worker"}:
        files["app.env"] = render_app_env(
            with_peers,
            search_backend=options.search_backend,
            meili_url=_meili_url(options.remote),
        )
    if "worker" in placed:
        files["worker.env"] = render_worker_env(budget)
    files["budget.json"] = budget.to_json()
    if options.grafana:
        files.update(render_grafana(budget))
    for name, text in files.items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    ensure_env_file(out_dir)
    return out_dir


def render_compose(
    budget: Budget,
    options: RenderOptions,
    *,
    build_context: str | None,
    configs: Mapping[str, str] | None = None,
) -> str:
    """compose.yml: every service with its limits, healthcheck, restart policy and network.

    `configs` (file name -> text) are the mounted config files: their hashes label the
    services that read them, so that `docker compose up` recreates a service whose file
    changed and only that one.
    """
    placed = _placed(options)
    app_dependencies = ["postgres", "redis_cache", "redis_broker"]
    if options.search_backend == "meilisearch":
        app_dependencies.append("meilisearch")
    # another host's service is no dependency compose can wait for
    app_dependencies = [name for name in app_dependencies if name in placed]
    return _render(
        COMPOSE_TEMPLATE.name,
        _context(budget),
        services=budget.services,
        images=options.images,
        resource_limits=options.resource_limits,
        search_backend=options.search_backend,
        api_bind=options.api_bind,
        api_port=options.api_port,
        project_name=options.project_name,
        build_context=build_context,
        env_files={"api": ["app.env"], "worker": ["app.env", "worker.env"]},
        app_dependencies=app_dependencies,
        db_user=DB_USER,
        db_name=DB_NAME,
        upstream=options.upstream,
        migrate=options.migrate,
        upstream_port=UPSTREAM_PORT,
        upstream_environment=dict(sorted(options.upstream_environment.items())),
        grafana=options.grafana,
        grafana_port=options.grafana_port,
        cgroup_parent=options.cgroup_parent,
        app_environment=dict(sorted(options.app_environment.items())),
        published={
            name: (port, CONTAINER_PORTS[name])
            for name, port in sorted(options.published_ports.items())
        },
        config_hashes={name: _digest(text) for name, text in (configs or {}).items()},
        celery_queue_keys=",".join(f"db0={queue}" for queue in CELERY_QUEUES),
        nofile_limit=options.nofile_limit,
        placed=placed,
        remote=dict(options.remote),
    )


def _placed(options: RenderOptions) -> frozenset[str]:
    return frozenset(SERVICES) if options.placed is None else options.placed


def _with_peers(budget: Budget, options: RenderOptions) -> Budget:
    """`budget` with the other hosts' allocations beside its own, for the env files."""
    if not options.peers:
        return budget
    return replace(budget, services={**options.peers, **budget.services})


def scrape_jobs(
    remote: Mapping[str, str], more: Mapping[str, Sequence[str]] | None = None
) -> dict[str, list[str]]:
    """Prometheus's jobs: compose names, or host:port for services on other hosts."""
    jobs = {
        job: [remote.get(SCRAPED_SERVICES[job], target) for target in targets]
        for job, targets in COMPOSE_SCRAPE_JOBS.items()
    }
    for job, targets in (more or {}).items():
        jobs[job] += [target for target in targets if target not in jobs[job]]
    return jobs


def _meili_url(remote: Mapping[str, str]) -> str:
    where = remote.get("meilisearch")
    return MEILI_URL if where is None else f"http://{where}"


def render_grafana(budget: Budget) -> dict[str, str]:
    """Grafana's provisioning: the Prometheus datasource and the stack's dashboard."""
    interval = budget["prometheus"].settings["scrape_interval"]
    return {
        "grafana/provisioning/datasources/prometheus.yml": _render(
            "grafana/datasource.yml.j2", _context(budget)
        ),
        "grafana/provisioning/dashboards/chrono.yml": _render(
            "grafana/dashboards.yml.j2", _context(budget)
        ),
        "grafana/dashboards/chrono.json": _render(
            "grafana/chrono.json.j2", _context(budget), scrape_interval=interval
        ),
    }


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render_postgresql_conf(budget: Budget, tuned: bool = True) -> str:
    """postgresql.conf: the budget's settings, or the stock ones (`pg_tuning` off)."""
    pg = budget["postgres"]
    settings = pg.settings
    if not tuned:
        settings = postgres.stock_settings(budget.connections.max_connections)
    return _render(
        "postgresql.conf.j2",
        _context(budget),
        tuned=tuned,
        settings=settings,
        cpus=cpus_text(pg.cpus),
        memory_mb=pg.memory_mb,
        demand=budget.connections.demand,
        reserved=budget.connections.reserved,
    )


def render_redis_conf(budget: Budget, role: RedisRole) -> str:
    """redis-cache.conf or redis-broker.conf, without password, address or port."""
    redis = budget[f"redis_{role}"]
    return _render(
        "redis.conf.j2",
        _context(budget),
        role=role,
        settings=redis.settings,
        memory_mb=redis.memory_mb,
    )


def render_prometheus_yml(
    budget: Budget, jobs: Mapping[str, Sequence[str]] = COMPOSE_SCRAPE_JOBS
) -> str:
    """prometheus.yml with the budget's scrape interval; `jobs` maps job -> targets."""
    return _render(
        "prometheus.yml.j2",
        _context(budget),
        scrape_interval=budget["prometheus"].settings["scrape_interval"],
        jobs=jobs,
    )


def render_app_env(
    budget: Budget, *, search_backend: SearchBackend = "meilisearch", meili_url: str = MEILI_URL
) -> str:
    """app.env: the reference service's non-secret CHRONO_ settings from the budget."""
    return _render(
        "app.env.j2",
        _context(budget),
        api=budget["api"].settings,
        worker=budget["worker"].settings,
        search_backend=search_backend,
        meili_url=meili_url,
    )


def render_worker_env(budget: Budget) -> str:
    """worker.env: what the Celery worker reads after app.env (its smaller DB pool)."""
    return _render("worker.env.j2", _context(budget), worker=budget["worker"].settings)


def _context(budget: Budget) -> dict[str, Any]:
    # The bundle's file headers say "profile" for the share plan (kept: deployed bundles
    # do not change for a rename).
    return {"host": budget.host.name, "profile": budget.shares}


def _pg_value(value: str) -> str:
    """A postgresql.conf value: numbers bare, anything else single-quoted."""
    try:
        float(value)
    except ValueError:
        return "'" + value.replace("'", "''") + "'"
    return value


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(TEMPLATE_DIR), str(REPO_ROOT)]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # configuration files, not HTML
    )
    env.filters["pg_value"] = _pg_value
    env.filters["cpus"] = cpus_text
    # JSON scalars and flow lists are valid YAML: no YAML quoting rules to get wrong.
    # (Jinja's own tojson escapes ' < > & for HTML, which YAML readers would not undo.)
    env.filters["tojson"] = json.dumps
    return env


_ENVIRONMENT = _environment()


def _render(template: str, context: dict[str, Any], **values: Any) -> str:
    text = _ENVIRONMENT.get_template(template).render(**context, **values)
    return text if text.endswith("\n") else text + "\n"
