"""The metrics: each one's unit, which direction is better, and the report's row for it.

The first ten are the rows of the performance report's "Expected Performance
Improvements" table, in its order, each with the report's promise as a `Claim`; the rest
are supporting figures the collectors record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from harness.units import MEMORY_UNIT

Better = Literal["lower", "higher"]


@dataclass(frozen=True)
class Claim:
    """What the report promises for a metric, in a form a measurement can be held to.

    `reduction`: after/before <= 1 - amount ("80% reduction" -> amount 0.8);
    `increase`: after/before >= amount ("5x increase" -> 5.0);
    `target`: after >= amount, for a capability the current stack lacks (cache hit rate 0 %).
    """

    kind: Literal["reduction", "increase", "target"]
    amount: float


@dataclass(frozen=True)
class Metric:
    """One metric: its unit, which direction is better, and the report's row for it."""

    id: str
    label: str
    unit: str
    better: Better
    definition: str
    # The report's "Expected Performance Improvements" strings; None when not a report row.
    current: str | None = None
    optimized: str | None = None
    improvement: str | None = None
    claim: Claim | None = None
    # A latency percentile (0.95 for a p95) the summary takes over the rounds' pooled
    # requests of the window's latency file rather than as a median of window values.
    pooled_quantile: float | None = None


def _m(*args: Any, **kwargs: Any) -> tuple[str, Metric]:
    metric = Metric(*args, **kwargs)
    return metric.id, metric


METRICS: dict[str, Metric] = dict(
    [
        # The report's ten rows, in its table's order.
        _m("api_p95_ms", "API Response Time (p95)", "ms", "lower",
           "client-side p95 of GET /api/v1/projects/ in the api scenario (the report's mix)",
           "500ms", "100ms", "80% reduction", Claim("reduction", 0.80), pooled_quantile=0.95),
        _m("db_queries_per_request", "Database Queries per Request", "count", "lower",
           "mean SQL statements per GET /api/v1/projects/",
           "10-50", "1-3", "90% reduction", Claim("reduction", 0.90)),
        _m("backend_memory_mb", "Memory Usage (Backend)", MEMORY_UNIT, "lower",
           "peak memory of the API (its processes' PSS, or its container's cgroup memory)"
           " over the soak: 100 dashboards, 10 % stalled, progress at a scrape's rate,"
           " and the api mix", "2GB", "800MB", "60% reduction", Claim("reduction", 0.60)),
        _m("worker_memory_mb", "Memory Usage (Celery)", MEMORY_UNIT, "lower",
           "peak PSS of all Celery processes during scrape, in MiB (2^20 bytes; shared "
           "pages counted once), or their container's cgroup memory under compose",
           "4GB", "2GB", "50% reduction", Claim("reduction", 0.50)),
        _m("ws_connections", "WebSocket Connections", "count", "higher",
           "dashboard connections held (a ladder from 10; 10 % stalled, never reading; every"
           " user's channel fed at one running scrape's rate, 4.3 messages/s) with the"
           " reading ones' delivery p99 < 1 s, none refused, the API within its memory",
           "100", "500", "5x increase", Claim("increase", 5.0)),
        _m("frontend_initial_kb", "Frontend Initial Load", "KB", "lower",
           "bytes transferred (compressed) before the first page is interactive",
           "1.2MB", "400KB", "67% reduction", Claim("reduction", 0.67)),
        _m("tti_ms", "Time to Interactive", "ms", "lower",
           "time to interactive in headless Chromium",
           "3.5s", "1.2s", "66% reduction", Claim("reduction", 0.66)),
        _m("scrape_pages_per_min", "Scraping Throughput", "pages/min", "higher",
           "steady-state pages indexed per minute in the scrape scenario, between the first "
           "and last indexing moment, against the Wayback profile at the run's time factor "
           "(as measured: divide by the factor for real time)",
           "100 pages/min", "300 pages/min", "3x increase", Claim("increase", 3.0)),
        _m("cache_hit_rate", "Cache Hit Rate", "ratio", "higher",
           "app cache hits / (hits + misses) over the api scenario",
           "0%", "75%", "New capability", Claim("target", 0.75)),
        _m("concurrent_users", "Concurrent Users", "users", "higher",
           "the report's logged-in users (list x3, stats x2, search x1, 1-3 s think time)"
           " on a ladder from 1: the last step with p95 < 500 ms and errors < 1%"
           " over at least 20 requests",
           "50", "200", "4x increase", Claim("increase", 4.0)),
        # Supporting metrics the collectors record; not rows of the report's table.
        _m("api_p50_ms", "API Response Time (p50)", "ms", "lower",
           "client-side median of GET /api/v1/projects/ in the api scenario",
           pooled_quantile=0.50),
        _m("api_p99_ms", "API Response Time (p99)", "ms", "lower",
           "client-side p99 of GET /api/v1/projects/ in the api scenario",
           pooled_quantile=0.99),
        _m("backend_memory_growth", "Backend Memory Growth", f"{MEMORY_UNIT}/min", "lower",
           "least-squares slope of the API's memory over the soak's hold"),
        _m("api_rps", "API Throughput", "req/s", "higher",
           "requests per second served in the api scenario"),
        _m("api_error_rate", "API Error Rate", "ratio", "lower",
           "failed requests / all requests in the api scenario"),
        _m("critical_task_wait_ms", "Critical Task Wait", "ms", "lower",
           "queue wait of a critical task submitted during the scrape backlog"),
        _m("scrape_pages_per_min_real", "Scraping Throughput (real time)", "pages/min",
           "higher", "scrape_pages_per_min divided by the scrape's time factor"),
        _m("scrape_domain_pages_per_min", "Scraping Throughput per Domain", "pages/min",
           "higher", "median over the domains of each one's steady-state pages/min (as "
           "measured, at the time factor)"),
        _m("worker_rss_sum_mb", "Memory Usage (Celery, RSS sum)", MEMORY_UNIT, "lower",
           "peak summed RSS of all Celery processes during scrape, in MiB: forked children's "
           "shared pages counted once per process"),
        _m("scrape_429s", "Upstream 429s", "count", "lower",
           "429 answers the stand-in gave the scraper in a scrape window"),
        _m("scrape_retry_after_ignored", "Retry-After Ignored", "count", "lower",
           "requests over the limit that came before the Retry-After the client was given"),
        _m("scrape_refused", "Upstream Refusals", "count", "lower",
           "connections the stand-in refused (a blocked client); any makes the window invalid"),
        _m("scrape_pages_lost", "Pages Lost", "count", "lower",
           "captures the CDX query yields that the window did not store"),
        _m("scrape_pages_duplicated", "Pages Duplicated", "count", "lower",
           "stored copies beyond the first of any capture"),
        _m("ws_delivery_p99_ms", "WebSocket Delivery (p99)", "ms", "lower",
           "p99 delay from publish to delivery over the held WebSocket connections"),
        _m("ws_api_cpu_us_per_message", "WebSocket API CPU per Message", "µs", "lower",
           "the API's processes' CPU time over the last WebSocket step that held, per"
           " message its reading connections received in it"),
        _m("lcp_ms", "Largest Contentful Paint", "ms", "lower",
           "largest contentful paint of the cold projects page in headless Chromium"),
    ]
)  # fmt: skip
REPORT_METRICS: tuple[str, ...] = tuple(m.id for m in METRICS.values() if m.claim is not None)
