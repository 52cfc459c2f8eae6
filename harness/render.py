"""Render a budget into a bundle: compose.yml and every service's configuration file.

Templates are `compose.j2` and `templates/*.j2` at the top of the repository. Rendering is
pure: the same budget and options give byte-identical files, except `.env`, whose
secrets are generated once per bundle and reused (harness/secrets.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jinja2

from harness.budget import Budget
from harness.secrets import ensure_env_file
from harness.settings import postgres
from harness.settings.units import cpus_text

REPO_ROOT = Path(__file__).resolve().parents[1]
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
}
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


def render_bundle(budget: Budget, out_dir: Path, *, options: RenderOptions | None = None) -> Path:
    """Write the bundle for `budget` into `out_dir` (created if needed) and return it."""
    options = options or RenderOptions()
    out_dir.mkdir(parents=True, exist_ok=True)
    build_context = options.build_context
    if build_context is None:
        build_context = os.path.relpath(REPO_ROOT, out_dir.resolve())
    files = {
        "compose.yml": render_compose(budget, options, build_context=build_context or None),
        "postgresql.conf": render_postgresql_conf(budget, tuned=options.pg_tuning),
        "redis-cache.conf": render_redis_conf(budget, "cache"),
        "redis-broker.conf": render_redis_conf(budget, "broker"),
        "prometheus.yml": render_prometheus_yml(budget),
        "app.env": render_app_env(budget, search_backend=options.search_backend),
        "worker.env": render_worker_env(budget),
        "budget.json": budget.to_json(),
    }
    for name, text in files.items():
        path = out_dir / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    ensure_env_file(out_dir)
    return out_dir


def render_compose(budget: Budget, options: RenderOptions, *, build_context: str | None) -> str:
    """compose.yml: every service with its limits, healthcheck, restart policy and network."""
    app_dependencies = ["postgres", "redis_cache", "redis_broker"]
    if options.search_backend == "meilisearch":
        app_dependencies.append("meilisearch")
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
    )


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
    return {"host": budget.host.name, "profile": budget.profile}


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
