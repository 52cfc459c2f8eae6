"""Prometheus over a measured window, through prometheus-api-client.

A window is bracketed by two scrapes: the first successful scrape of the measured jobs
after `begin()` (before any load) and the first after `end()` (once the load is over, so
even an API whose event loop was blocked during the window answers it). Expressions use
`$start` and `$end`, replaced by `@ <timestamp>` of those scrapes, and `$range`, the
window's length: counters are read as `x @ $end - x @ $start`, exactly the increments of
the window, with no extrapolation and no scrape lost to a busy target.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence

from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from requests import RequestException

from harness.collect import Readings

LOG = logging.getLogger(__name__)
QUERY_TIMEOUT_S = 10
SCRAPE_WAIT_S = 20.0
POLL_INTERVAL_S = 0.2


def _scalar(result: list[dict[str, object]]) -> float:
    """The sum of an instant vector's values (NaN when it is empty or all NaN)."""
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


def increase(selector: str) -> str:
    """PromQL for a counter's increments over the window (0 for a series born within it)."""
    return f"(sum({selector} $end) - (sum({selector} $start) or vector(0)))"


class PrometheusWindow:
    """Evaluates named PromQL expressions over the window between `begin()` and `end()`."""

    def __init__(self, url: str, queries: Mapping[str, str], jobs: Sequence[str]) -> None:
        self._client = PrometheusConnect(url=url, disable_ssl=True, timeout=QUERY_TIMEOUT_S)
        self._queries = dict(queries)
        self._jobs = list(jobs)
        self.start = math.nan

    def begin(self) -> None:
        self.start = self.scrape_after(time.time())

    def end(self) -> Readings:
        return self.read(self.start, self.scrape_after(time.time()))

    def read(self, start: float, end: float) -> Readings:
        """The readings between the scrapes at `start` and `end` (both scrape times).

        Reading can wait: the samples stay in Prometheus; only the scrape after the
        window must be taken before the measured processes restart.
        """
        values = {}
        for name, expression in self._queries.items():
            promql = (
                expression.replace("$start", f"@ {start:.3f}")
                .replace("$end", f"@ {end:.3f}")
                .replace("$range", f"{max(1, math.ceil(end - start))}s")
            )
            values[name] = self.query(promql, end)
        return values

    def scrape_after(self, moment: float) -> float:
        """When every job was last scraped successfully, waiting for a scrape after `moment`.

        NaN (with a warning) if a job is not scraped successfully within SCRAPE_WAIT_S.
        """
        deadline = time.time() + SCRAPE_WAIT_S
        selector = f'{{job=~"{"|".join(self._jobs)}"}}'
        while True:
            # timestamp() of a plain selector is the scrape's time; of `up == 1` it would
            # be the query's, so success and time are asked separately.
            now = time.time()
            latest = self.query(f"min(timestamp(up{selector}))", now)
            healthy = self.query(f"min(up{selector}) * count(up{selector})", now)
            if latest >= moment and healthy == len(self._jobs):
                return latest
            if time.time() > deadline:
                LOG.warning("no successful scrape of %s after %.0f", self._jobs, moment)
                return math.nan
            time.sleep(POLL_INTERVAL_S)

    def query(self, promql: str, at: float) -> float:
        """One expression's value at `at`; NaN when Prometheus has no data for it."""
        if math.isnan(at):
            return math.nan
        try:
            result = self._client.custom_query(promql, params={"time": f"{at:.3f}"})
        except (PrometheusApiClientException, RequestException) as error:
            LOG.warning("prometheus query failed: %s: %s", promql, error)
            return math.nan
        return _scalar(result)
