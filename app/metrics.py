"""Prometheus metrics of the API, correct with several uvicorn worker processes.

With PROMETHEUS_MULTIPROC_DIR set (before the workers start, wiped at each start),
prometheus_client writes each process's values to that directory and `/metrics` merges
them, so whichever worker answers the scrape reports the whole service.

prometheus_client has no process collector in that mode (each process would report
itself alone), so `LiveProcessesMemory` reports the resident memory of the live
processes that share the directory, found by the pids in its file names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import psutil
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
STATEMENT_BUCKETS = (0, 1, 2, 3, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10)

HTTP_DURATION = Histogram(
    "chrono_http_request_duration_seconds",
    "HTTP request latency, by route template",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS_S,
)
DB_STATEMENTS_PER_REQUEST = Histogram(
    "chrono_db_statements_per_request",
    "SQL statements sent by one HTTP request",
    ["route"],
    buckets=STATEMENT_BUCKETS,
)
DB_STATEMENTS_TOTAL = Counter("chrono_db_statements", "SQL statements sent by the API")
CACHE_REQUESTS = Counter("chrono_cache_requests", "Response cache lookups", ["result"])
WS_CONNECTIONS = Gauge(
    "chrono_ws_connections", "Open WebSocket connections", multiprocess_mode="livesum"
)
WS_MESSAGES_DROPPED = Counter(
    "chrono_ws_messages_dropped", "WebSocket messages not delivered", ["reason"]
)
LOOP_LAG_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
EVENT_LOOP_LAG = Histogram(
    "chrono_event_loop_lag_seconds",
    "How late the API's event loop woke a periodic timer",
    buckets=LOOP_LAG_BUCKETS_S,
)
DB_POOL_CONNECTIONS = Gauge(
    "chrono_db_pool_connections",
    "Database pool connections per state",
    ["state"],
    multiprocess_mode="livesum",
)
# prometheus_client names each process's file <kind>[_<mode>]_<pid>.db
PID_IN_FILE_NAME = re.compile(r"_(\d+)\.db$")


class LiveProcessesMemory(Collector):
    """`chrono_processes_resident_memory_bytes`: the RSS summed over the live processes
    that wrote to a multiprocess directory (the API's or the Celery workers' group)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def pids(self) -> set[int]:
        found = (PID_IN_FILE_NAME.search(path.name) for path in self.directory.glob("*.db"))
        return {int(match.group(1)) for match in found if match}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        total = 0
        for pid in self.pids():
            try:
                total += psutil.Process(pid).memory_info().rss
            except psutil.Error:  # exited since it wrote its file (or not ours to read)
                continue
        yield GaugeMetricFamily(
            "chrono_processes_resident_memory_bytes",
            "Resident memory of the live processes of this service, summed",
            value=total,
        )


def multiprocess_registry(directory: str | Path) -> CollectorRegistry:
    """The merged metrics of a multiprocess directory, with the processes' memory."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    registry.register(LiveProcessesMemory(directory))
    return registry


def render_metrics() -> tuple[bytes, str]:
    """The exposition text: merged over processes in multiprocess mode."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        return generate_latest(multiprocess_registry(directory)), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead() -> None:
    """Drop this process's live gauges from the merged view when a worker exits."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
