"""Share plans: how a host's cpus and memory are shared between the services of the stack.

A share plan states each service's allocation on the report's reference host (8 cpus,
16 GB, performance report section 6). `harness.budget.allocation` scales those to any host in
proportion to its cpus and memory, never below the service's floor. A few small
services (the exporters) get the same fixed allocation on every host.
"""

from __future__ import annotations

from dataclasses import dataclass

REFERENCE_CPUS = 8
REFERENCE_MEMORY_MB = 16384

# The services of docs/design.md, in the order tables and files list them.
SCALED_SERVICES = (
    "api",
    "worker",
    "postgres",
    "redis_cache",
    "redis_broker",
    "meilisearch",
    "prometheus",
)
# Small enough that scaling them would only add rounding noise.
FIXED_SERVICES = ("postgres_exporter", "redis_cache_exporter", "redis_broker_exporter")
SERVICES = SCALED_SERVICES + FIXED_SERVICES


@dataclass(frozen=True)
class Share:
    """Limits and reservations of one service: cpus, and memory in MB."""

    cpus: float
    reservation_cpus: float
    memory_mb: int
    reservation_mb: int


@dataclass(frozen=True)
class SharePlan:
    """A named way of sharing a host, and the knobs that turn an allocation into settings."""

    name: str
    reference: dict[str, Share]  # SCALED_SERVICES on the 8-cpu / 16 GB reference host
    floors: dict[str, Share]  # the least each scaled service can work with
    fixed: dict[str, Share]  # FIXED_SERVICES on every host
    # Only the first this many MB of the host's memory are shared out (None: all of it).
    memory_cap_mb: int | None
    api_workers_per_cpu: int
    celery_processes_per_cpu: int
    prometheus_scrape_interval_s: int
    prometheus_retention_days: int


# The report's docker-compose (section 6): backend 2 cpus / 2G limit / 1G reservation,
# worker 3 / 4G / 2G, postgres 2 / 3G / 2G, redis 1 / 1G / 512M (here split in two
# instances, see harness/budget/settings/redis.py), meilisearch 2 / 2G / 1G. Prometheus is ours.
# Memory limits sum to 12.5 GB of 16 GB: the rest is the OS's and the page cache's.
REPORT_SPLIT = {
    "api": Share(cpus=2.0, reservation_cpus=1.0, memory_mb=2048, reservation_mb=1024),
    "worker": Share(cpus=3.0, reservation_cpus=2.0, memory_mb=4096, reservation_mb=2048),
    "postgres": Share(cpus=2.0, reservation_cpus=1.0, memory_mb=3072, reservation_mb=2048),
    "redis_cache": Share(cpus=0.5, reservation_cpus=0.25, memory_mb=512, reservation_mb=256),
    "redis_broker": Share(cpus=0.5, reservation_cpus=0.25, memory_mb=512, reservation_mb=256),
    "meilisearch": Share(cpus=2.0, reservation_cpus=1.0, memory_mb=2048, reservation_mb=1024),
    "prometheus": Share(cpus=0.5, reservation_cpus=0.25, memory_mb=512, reservation_mb=256),
}

# Below these a service stops being useful: PostgreSQL needs room for shared_buffers and
# a few dozen backends, a Celery child parses multi-MB pages, Redis and Prometheus
# start in a few MB but need some room for data.
FLOORS = {
    "api": Share(cpus=0.5, reservation_cpus=0.25, memory_mb=256, reservation_mb=128),
    "worker": Share(cpus=0.5, reservation_cpus=0.25, memory_mb=512, reservation_mb=256),
    "postgres": Share(cpus=0.5, reservation_cpus=0.25, memory_mb=512, reservation_mb=256),
    "redis_cache": Share(cpus=0.25, reservation_cpus=0.1, memory_mb=64, reservation_mb=32),
    "redis_broker": Share(cpus=0.25, reservation_cpus=0.1, memory_mb=64, reservation_mb=32),
    "meilisearch": Share(cpus=0.5, reservation_cpus=0.25, memory_mb=256, reservation_mb=128),
    "prometheus": Share(cpus=0.25, reservation_cpus=0.1, memory_mb=128, reservation_mb=64),
}

# Exporters idle at 10-30 MB RSS and a few millicpus; postgres_exporter holds query
# results of pg_stat_* views, hence twice the Redis exporters' memory.
EXPORTERS = {
    "postgres_exporter": Share(cpus=0.25, reservation_cpus=0.05, memory_mb=64, reservation_mb=32),
    "redis_cache_exporter": Share(
        cpus=0.25, reservation_cpus=0.05, memory_mb=32, reservation_mb=16
    ),
    "redis_broker_exporter": Share(
        cpus=0.25, reservation_cpus=0.05, memory_mb=32, reservation_mb=16
    ),
}

SHARE_PLANS = {
    # Containers on a dedicated host: the report's split, scaled.
    "default": SharePlan(
        name="default",
        reference=REPORT_SPLIT,
        floors=FLOORS,
        fixed=EXPORTERS,
        memory_cap_mb=None,
        # Async workers multiplex I/O on one event loop: more processes than cpus only add
        # memory and context switches.
        api_workers_per_cpu=1,
        # The report's optimized Celery: 6 processes on 3 cpus; scraping waits on HTTP.
        celery_processes_per_cpu=2,
        prometheus_scrape_interval_s=15,
        prometheus_retention_days=15,
    ),
    # The whole stack as processes on a small shared machine (the local runtime): no
    # cgroup enforces cpu limits, so workers may outnumber the nominal cpus, and only
    # the first 8 GB are shared out, leaving the rest to the load generator and others.
    "local": SharePlan(
        name="local",
        reference=REPORT_SPLIT,
        floors=FLOORS,
        fixed=EXPORTERS,
        memory_cap_mb=8192,
        api_workers_per_cpu=4,
        celery_processes_per_cpu=4,
        # Benchmark windows last seconds: scrape every second, keep little.
        prometheus_scrape_interval_s=1,
        prometheus_retention_days=1,
    ),
}


def get_share_plan(name: str) -> SharePlan:
    """The share plan called `name`; unknown names are the caller's to report."""
    return SHARE_PLANS[name]
