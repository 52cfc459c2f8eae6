"""The optimizations of the performance report, each declared once.

Everything that lists optimizations reads this table: the CLI's choices and help, the
variants (what switching one restarts), the plan (which scenarios measure it), the
runtimes (where it can be measured), the ladder's order, the gate's defaults, the
report and docs/optimizations.md (generated from it). Adding an optimization is one
entry here plus its switch in the app (`app/core/config.py`, or the web client's
settings for `frontend_split`); tests/catalog/ checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

# What switching an optimization touches on a running stack: PostgreSQL's config file
# (a restart), the performance indexes (created or dropped in place), the processes that
# read the switch from their environment, or every container (new limits).
Touches = Literal["postgres", "indexes", "api", "workers", "containers"]
Runtime = Literal["local", "compose"]

RUNTIMES: tuple[Runtime, ...] = ("local", "compose")
# The scenarios, in the order a window set runs them.
SCENARIOS = ("api", "concurrency", "scrape", "websocket", "soak", "frontend", "stress")
# Scenarios a runtime cannot run, and why: what only they measure is not measured there
# (results.json's environment.not_measured gives the reason).
UNAVAILABLE_SCENARIOS: Mapping[str, Mapping[str, str]] = {
    "local": {
        "stress": "the stress scenario needs containers with limits: not measurable on the "
        "local runtime (use --runtime compose)",
    },
    "compose": {
        "frontend": "the frontend scenario loads the web client, which the compose runtime's "
        "app image does not carry (its build leaves app/frontend out): use --runtime local",
    },
}
# The end-to-end mode compares all optimizations off with all on under this id.
ALL = "all"


@dataclass(frozen=True)
class Optimization:
    """One fix of the report: off is its "current" behaviour, on its fix."""

    id: str
    section: str  # the report's section that describes the problem and the fix
    current: str  # what the app does with the switch off
    fix: str  # what it does with the switch on
    touches: frozenset[Touches]
    scenarios: tuple[str, ...]  # the scenarios that measure it
    metrics: tuple[str, ...]  # the metrics (rows of the report's table first) it claims
    # The report's implementation priority (critical, high, medium, low): the ladder's order.
    ladder_rank: int
    # CHRONO_<ID>=true|false in the app's environment (False: applied by the harness alone)
    app_switch: bool = True

    @property
    def env_var(self) -> str | None:
        return f"CHRONO_{self.id.upper()}" if self.app_switch else None


def _touch(*names: Touches) -> frozenset[Touches]:
    return frozenset(names)


CATALOG: tuple[Optimization, ...] = (
    Optimization(
        "stats_aggregate",
        "1. Database Query Optimization: N+1 query pattern in project statistics",
        "stats read per project (4+ statements each, plus writes)",
        "one aggregate query",
        _touch("api"),
        ("api",),
        ("db_queries_per_request", "api_p95_ms"),
        1,
    ),
    Optimization(
        "db_indexes",
        "1. Database Query Optimization: additional indexes",
        "the performance indexes absent",
        "the report's indexes present",
        _touch("indexes", "api"),
        ("api",),
        ("api_p95_ms",),
        2,
    ),
    Optimization(
        "async_db",
        "Executive summary: synchronous database calls in async endpoints",
        "blocking database calls on the event loop",
        "an async connection pool",
        _touch("api"),
        ("api", "concurrency"),
        ("api_p95_ms", "concurrent_users"),
        3,
    ),
    Optimization(
        "db_pool",
        "1. Database Query Optimization: connection pool",
        "the library's default pool",
        "a pool sized from the budget",
        _touch("api"),
        ("concurrency",),
        ("concurrent_users",),
        4,
    ),
    Optimization(
        "pg_tuning",
        "6. Docker Container Resource Optimization: the postgres command",
        "stock postgresql.conf",
        "the budget's PGTune-style postgresql.conf",
        _touch("postgres"),
        ("api",),
        ("api_p95_ms",),
        12,
        app_switch=False,
    ),
    Optimization(
        "redis_cache",
        "3. Redis Caching Strategy and 9. API Endpoint Response Time",
        "no cache",
        "a per-user cache with invalidation, content ETags and 304s",
        _touch("api", "workers"),
        ("api",),
        ("cache_hit_rate", "api_p95_ms"),
        5,
    ),
    Optimization(
        "celery_tuning",
        "2. Celery Task Processing Optimization",
        "one queue, concurrency 10, prefetch 3",
        "routed queues, workers sized from the budget",
        _touch("api", "workers"),
        ("scrape",),
        ("worker_memory_mb", "scrape_pages_per_min"),
        6,
    ),
    Optimization(
        "batch_indexing",
        "4. Meilisearch Indexing Performance",
        "one document indexed per call",
        "durable batches",
        _touch("workers"),
        ("scrape",),
        ("scrape_pages_per_min",),
        8,
    ),
    Optimization(
        "streaming_fetch",
        "7. Memory Usage in Scraping Operations",
        "whole response bodies in memory",
        "streamed bodies, capped at 10 MB",
        _touch("workers"),
        ("scrape",),
        ("worker_memory_mb",),
        11,
    ),
    Optimization(
        "ws_manager",
        "5. WebSocket Performance Optimization",
        "unbounded connections and message queues",
        "a bounded manager",
        _touch("api"),
        ("websocket", "soak"),
        ("ws_connections", "backend_memory_mb", "backend_memory_growth"),
        9,
    ),
    Optimization(
        "resource_limits",
        "6. Docker Container Resource Optimization: limits",
        "no container limits",
        "the budget's limits",
        _touch("containers"),
        ("stress",),
        ("api_p95_ms",),
        7,
        app_switch=False,
    ),
    Optimization(
        "frontend_split",
        "8. Frontend Performance Optimization",
        "one eager bundle",
        "code splitting, compression, lazy loading",
        _touch("api"),
        ("frontend",),
        ("frontend_initial_kb", "tti_ms"),
        10,
    ),
)
BY_ID: Mapping[str, Optimization] = {o.id: o for o in CATALOG}
# In the catalog's order (the report's sections, roughly): tables list them so.
IDS: tuple[str, ...] = tuple(BY_ID)
LADDER_ORDER: tuple[str, ...] = tuple(o.id for o in sorted(CATALOG, key=lambda o: o.ladder_rank))
APP_SWITCHES: tuple[str, ...] = tuple(o.id for o in CATALOG if o.app_switch)
# The end-to-end comparison runs every scenario an optimization is measured by.
ALL_SCENARIOS: tuple[str, ...] = tuple(
    s for s in SCENARIOS if any(s in o.scenarios for o in CATALOG) and s != "stress"
)


def touched_by(kind: Touches) -> frozenset[str]:
    """The ids whose switching touches `kind`."""
    return frozenset(o.id for o in CATALOG if kind in o.touches)


def scenarios_of(optimization: str) -> tuple[str, ...]:
    """The scenarios that measure an id (or `all`)."""
    return ALL_SCENARIOS if optimization == ALL else BY_ID[optimization].scenarios


def measurable_on(runtime: str) -> tuple[str, ...]:
    """The ids a runtime can measure: those with a scenario it can run."""
    unavailable = UNAVAILABLE_SCENARIOS[runtime]
    return tuple(o.id for o in CATALOG if any(s not in unavailable for s in o.scenarios))
