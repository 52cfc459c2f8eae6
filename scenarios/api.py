"""The api scenario: the report's locustfile against the API, in one window per variant.

Measures client-side latency of `GET /api/v1/projects/` (p50/p95/p99, each with the
number of requests behind it; the runner keeps the window's latencies so the summary
can pool the rounds' requests), throughput and errors (locust), statements per request
and cache hits (the app's Prometheus metrics).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import psycopg

from harness.collect.locust import AGGREGATE, EndpointStats, expand
from harness.collect.prometheus import PrometheusWindow, increase
from harness.load.local import run_locust
from harness.load.spec import LOCUSTFILES, LocustSpec
from harness.results import LatencyFile
from harness.runtime.target import Target
from scenarios.base import Measurement, WindowRecord
from scenarios.profiles import MeasureProfile

BENCH_EMAIL = "bench@example.com"
PROJECTS_ROUTE = "/api/v1/projects/"
PROJECTS_NAME = "projects"  # the request name in scenarios/locustfiles/api.py
# The route label is the route's template, with or without the router's prefix.
PROJECTS_SELECTOR = '{route=~"(/api/v1)?/projects/"}'
QUERIES = {
    "statements_per_request": (
        increase(f"chrono_db_statements_per_request_sum{PROJECTS_SELECTOR}")
        + " / "
        + increase(f"chrono_db_statements_per_request_count{PROJECTS_SELECTOR}")
    ),
    "cache_hits": increase('chrono_cache_requests_total{result="hit"}'),
    "cache_misses": increase('chrono_cache_requests_total{result="miss"}'),
}
PROMETHEUS_JOBS = ("api",)
# The N+1 "before" can take seconds per request under load: let those finish and count.
STOP_TIMEOUT_S = 30.0


def bench_project_ids(database_url: str) -> list[int]:
    """The benchmark user's own projects: what the stats task may ask for."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT p.id FROM projects p JOIN users u ON u.id = p.user_id"
            " WHERE u.email = %s ORDER BY p.id",
            (BENCH_EMAIL,),
        ).fetchall()
    return [row[0] for row in rows]


def cache_hit_rate(hits: float, misses: float) -> float:
    """Hits over lookups; no lookups at all (no cache) is the report's 0 %."""
    lookups = (0.0 if math.isnan(hits) else hits) + (0.0 if math.isnan(misses) else misses)
    return hits / lookups if lookups > 0 else 0.0


class ApiScenario:
    name = "api"
    metrics = (
        "api_p95_ms", "api_p50_ms", "api_p99_ms", "api_rps", "api_error_rate",
        "db_queries_per_request", "cache_hit_rate",
    )  # fmt: skip

    def __init__(self) -> None:
        self.project_ids: list[int] = []

    def prepare(self, target: Target, profile: MeasureProfile) -> None:
        self.project_ids = bench_project_ids(target.database_url)

    def spec(self, target: Target, profile: MeasureProfile) -> LocustSpec:
        return LocustSpec(
            locustfile=LOCUSTFILES / "api.py",
            host=target.api_url,
            users=profile.api_users,
            spawn_rate=profile.api_users,
            duration_s=profile.api_duration_s,
            stop_timeout_s=STOP_TIMEOUT_S,
            env={
                "CHRONO_BENCH_PROJECT_IDS": ",".join(map(str, self.project_ids)),
                "CHRONO_BENCH_WAIT_MIN_S": str(profile.api_wait_s[0]),
                "CHRONO_BENCH_WAIT_MAX_S": str(profile.api_wait_s[1]),
            },
        )

    def warm_up(self, target: Target, profile: MeasureProfile, out_dir: Path) -> None:
        """Unmeasured load: PostgreSQL's buffers and the OS cache fill up."""
        warm = replace(profile, api_duration_s=profile.warmup_s)
        run_locust(self.spec(target, warm), out_dir, "warm-up", target.placement)

    def run(self, target: Target, profile: MeasureProfile, out_dir: Path) -> WindowRecord:
        prometheus = PrometheusWindow(target.prometheus_url, QUERIES, PROMETHEUS_JOBS)
        # The opening scrape is awaited while locust imports; its load starts after it.
        result = run_locust(
            self.spec(target, profile), out_dir, self.name, target.placement,
            before_load=prometheus.begin,
        )  # fmt: skip
        # The closing scrape must land before anything restarts the API.
        scraped_until = prometheus.scrape_after(result.finished_at)
        readings = dict(result.loadgen)
        # the load generator saturated, or lost locust workers: the load fell short
        invalid = result.invalid_reason
        return WindowRecord(
            self.name,
            result.started_at,
            result.finished_at,
            readings,
            data={
                "stats": result.stats,
                "scraped": (prometheus.start, scraped_until),
                "latencies": _latencies(result.stats.get(PROJECTS_NAME)),
            },
            invalid_reason=invalid,
        )

    def collect(self, target: Target, record: WindowRecord) -> list[Measurement]:
        prometheus = PrometheusWindow(target.prometheus_url, QUERIES, PROMETHEUS_JOBS)
        server = prometheus.read(*record.data["scraped"])
        stats: dict[str, EndpointStats] = record.data["stats"]
        projects, total = stats.get(PROJECTS_NAME), stats[AGGREGATE]
        values = {
            "api_rps": total.rps,
            "api_error_rate": total.failure_ratio,
            "db_queries_per_request": server["statements_per_request"],
            "cache_hit_rate": cache_hit_rate(server["cache_hits"], server["cache_misses"]),
        }
        measured = [_measure(m, value, record.invalid_reason) for m, value in values.items()]
        if projects is not None and projects.requests:
            for metric, value in (("api_p50_ms", projects.p50_ms),
                                  ("api_p95_ms", projects.p95_ms),
                                  ("api_p99_ms", projects.p99_ms)):  # fmt: skip
                measured.append(replace(_measure(metric, value, record.invalid_reason),
                                        requests=projects.requests))  # fmt: skip
        return measured


def _latencies(projects: EndpointStats | None) -> LatencyFile | None:
    """The window's per-request latencies of the p95 route, for the report's CDFs."""
    if projects is None or not projects.requests:
        return None
    return {"metric": "api_p95_ms", "latencies_ms": expand(projects.buckets)}


def _measure(metric: str, value: float, invalid_reason: str | None) -> Measurement:
    if math.isnan(value):
        return Measurement(metric, value, valid=False, invalid_reason="no data in Prometheus")
    return Measurement(metric, value, valid=invalid_reason is None, invalid_reason=invalid_reason)
