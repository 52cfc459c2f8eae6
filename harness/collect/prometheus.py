"""Prometheus over a measured window, through prometheus-api-client.

Each reading is a PromQL expression in which `$window` stands for the window's length
(for `increase()`, `histogram_quantile()` over `rate()`, `max_over_time()` subqueries).
Queries run once the scrape after the window's end has landed, evaluated at that time.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping

from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from requests import RequestException

from harness.collect import Readings

LOG = logging.getLogger(__name__)
QUERY_TIMEOUT_S = 10
# Scrapes land at most one interval late; wait for two so the window's last second is in.
SETTLE_SCRAPES = 2


def _scalar(result: list[dict[str, object]]) -> float:
    """The sum of an instant vector's values (NaN from empty histograms counts as absent)."""
    total = math.nan
    for series in result:
        value = series.get("value")
        if not isinstance(value, list) or len(value) != 2:
            continue
        number = float(value[1])
        if math.isnan(number):
            continue
        total = number if math.isnan(total) else total + number
    return total


class PrometheusWindow:
    """Evaluates named PromQL expressions over the window between `begin()` and `end()`."""

    def __init__(self, url: str, queries: Mapping[str, str], scrape_interval_s: float) -> None:
        self._client = PrometheusConnect(url=url, disable_ssl=True, timeout=QUERY_TIMEOUT_S)
        self._queries = dict(queries)
        self._scrape_interval_s = scrape_interval_s
        self._start = 0.0

    def begin(self) -> None:
        self._start = time.time()

    def end(self) -> Readings:
        end = time.time()
        settle_s = SETTLE_SCRAPES * self._scrape_interval_s
        time.sleep(settle_s)
        at = end + settle_s
        window_s = math.ceil(at - self._start)
        return {name: self.query(expr, window_s, at) for name, expr in self._queries.items()}

    def query(self, expression: str, window_s: int, at: float) -> float:
        """One expression's value at `at`; NaN when Prometheus has no data for it."""
        promql = expression.replace("$window", f"{window_s}s")
        try:
            result = self._client.custom_query(promql, params={"time": f"{at:.3f}"})
        except (PrometheusApiClientException, RequestException) as error:
            LOG.warning("prometheus query failed: %s: %s", promql, error)
            return math.nan
        return _scalar(result)
