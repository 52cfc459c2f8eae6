"""Prometheus over one window for the report: range series and the window's peak gauges.

`window_series` asks `custom_query_range` for the series the report plots per window
(latency p95, request rate, memory, Celery queue lengths, open WebSockets), with a step
giving at least MIN_POINTS points. Memory is what the stack really exports: the API and
the Celery workers serve merged multiprocess metrics with the summed RSS of their live
processes (`chrono_processes_resident_memory_bytes`, app/metrics.py), a process run alone
its `process_resident_memory_bytes`; the Redis servers' `redis_memory_used_bytes`. A
series Prometheus has no samples for is left out: a window shorter than a few scrapes
keeps what exists.

`window_peaks` reads, as plain readings (not catalog metrics), each Celery queue's longest
length and the most WebSocket connections open during the window.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import yaml
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from requests import RequestException

from harness.collect import Readings
from harness.collect.prometheus import QUERY_TIMEOUT_S, PrometheusWindow
from harness.results import Series, TimeseriesFile
from harness.runtime.local.monitoring import CELERY_QUEUES
from harness.units import MEMORY_UNIT, MIB

LOG = logging.getLogger(__name__)
MIN_POINTS = 10
# rate() needs at least two samples in its range: four scrapes leave room for a late one.
RATE_RANGE_SCRAPES = 4
DEFAULT_SCRAPE_INTERVAL_S = 15.0  # Prometheus's own default when the config says nothing
API_REQUESTS = 'chrono_http_request_duration_seconds_{part}{{route!="/metrics"}}'


@dataclass(frozen=True)
class SeriesQuery:
    """A range query; `name` may use the labels of each series it returns (`{job}`)."""

    name: str
    unit: str
    promql: str  # `$rate` is replaced by the rate() range


RANGE_QUERIES: tuple[SeriesQuery, ...] = (
    SeriesQuery(
        "api_p95_ms", "ms",
        "1000 * histogram_quantile(0.95, sum by (le) "
        f"(rate({API_REQUESTS.format(part='bucket')}[$rate])))",
    ),
    SeriesQuery("api_rps", "req/s", f"sum(rate({API_REQUESTS.format(part='count')}[$rate]))"),
    SeriesQuery(
        "{job}_rss_mb", MEMORY_UNIT,
        'sum by (job) (chrono_processes_resident_memory_bytes{job=~"api|worker"} '
        f'or process_resident_memory_bytes{{job=~"api|worker"}}) / {MIB}',
    ),
    SeriesQuery(
        "{job}_memory_mb", MEMORY_UNIT, f"sum by (job) (redis_memory_used_bytes) / {MIB}"
    ),
    SeriesQuery(
        "celery_queue_{key}", "tasks",
        f'max by (key) (redis_key_size{{key=~"{"|".join(CELERY_QUEUES)}"}})',
    ),
    SeriesQuery("ws_connections_open", "connections", "sum(chrono_ws_connections)"),
    # what the bounded manager gives up: coalesced, queue_full (oldest dropped), send_failed
    SeriesQuery(
        "ws_dropped_{reason}", "messages/s",
        "sum by (reason) (rate(chrono_ws_messages_dropped_total[$rate]))",
    ),
)  # fmt: skip

# Instant queries over the window, in PrometheusWindow's `$end`/`$range` notation.
QUEUE_LENGTH = 'redis_key_size{{key="{queue}"}}'
PEAK_QUERIES = {
    **{
        f"celery_queue.{queue}.max": (
            f"max(max_over_time({QUEUE_LENGTH.format(queue=queue)}[$range] $end))"
        )
        for queue in CELERY_QUEUES
    },
    "ws_connections.max": "max_over_time(sum(chrono_ws_connections)[$range:] $end)",
}


def has_prometheus(url: str) -> bool:
    """Whether a target's Prometheus URL is one to query (stand-in targets have none)."""
    return url.startswith(("http://", "https://"))


def scrape_interval_s(prometheus_url: str) -> float:
    """The global scrape interval of the running Prometheus (its default if unreadable)."""
    try:
        response = httpx.get(f"{prometheus_url}/api/v1/status/config", timeout=QUERY_TIMEOUT_S)
        response.raise_for_status()
        config = yaml.safe_load(response.json()["data"]["yaml"])
        interval = str(config["global"]["scrape_interval"])
    except (httpx.HTTPError, KeyError, TypeError, ValueError, yaml.YAMLError) as error:
        LOG.warning("cannot read the scrape interval of %s: %s", prometheus_url, error)
        return DEFAULT_SCRAPE_INTERVAL_S
    # Prometheus writes durations like "1s", "15s", "1m"; anything else keeps the default.
    units = {"ms": 0.001, "s": 1.0, "m": 60.0}
    for suffix in sorted(units, key=len, reverse=True):
        if interval.endswith(suffix) and interval[: -len(suffix)].isdigit():
            return int(interval[: -len(suffix)]) * units[suffix]
    return DEFAULT_SCRAPE_INTERVAL_S


def _points(values: object) -> list[tuple[float, float]]:
    points = []
    for pair in values if isinstance(values, list) else []:
        moment, value = float(pair[0]), float(pair[1])
        if math.isfinite(value):
            points.append((moment, value))
    return points


def window_series(prometheus_url: str, start: float, end: float) -> TimeseriesFile:
    """The report's series over [start, end]; only those with points."""
    # rounded down to the millisecond the step is sent with: never fewer than MIN_POINTS
    step_s = max(math.floor((end - start) / MIN_POINTS * 1000) / 1000, 0.001)
    rate_range_s = max(step_s, RATE_RANGE_SCRAPES * scrape_interval_s(prometheus_url))
    client = PrometheusConnect(url=prometheus_url, disable_ssl=True, timeout=QUERY_TIMEOUT_S)
    series: list[Series] = []
    for query in RANGE_QUERIES:
        promql = query.promql.replace("$rate", f"{math.ceil(rate_range_s)}s")
        try:
            result = client.custom_query_range(
                promql,
                start_time=_datetime(start),
                end_time=_datetime(end),
                # a float step (seconds): Prometheus durations have no fractions
                step=f"{step_s:.3f}",
                # the client rounds its bounds to whole seconds; these keep the window's
                params={"start": f"{start:.3f}", "end": f"{end:.3f}"},
            )
        except (PrometheusApiClientException, RequestException) as error:
            LOG.warning("prometheus range query failed: %s: %s", promql, error)
            continue
        for one in result:
            points = _points(one.get("values"))
            if points:
                name = query.name.format_map(_Labels(one.get("metric") or {}))
                series.append({"name": name, "unit": query.unit, "points": points})
    return {"series": series}


def window_peaks(prometheus_url: str, start: float, end: float) -> Readings:
    """Longest Celery queue lengths and most open WebSockets in the window (finite only)."""
    readings = PrometheusWindow(prometheus_url, PEAK_QUERIES, jobs=()).read(start, end)
    return {name: value for name, value in readings.items() if math.isfinite(value)}


class _Labels(dict[str, str]):
    """A series' labels for str.format_map; a missing label reads as `all`."""

    def __missing__(self, key: str) -> str:
        return "all"


def _datetime(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)
