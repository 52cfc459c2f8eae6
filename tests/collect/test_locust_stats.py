"""Locust's JSON stats file becomes percentiles, throughput and failures per request name."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness.collect.locust import AGGREGATE, expand, percentile, read_stats
from harness.errors import UserError

# (buckets, fraction, expected): locust's rule, the smallest bucket covering the fraction.
PERCENTILE_CASES = [
    ({10: 1}, 0.95, 10.0),
    ({10: 95, 200: 5}, 0.95, 10.0),
    ({10: 94, 200: 6}, 0.95, 200.0),
    ({1: 50, 2: 49, 3: 1}, 0.99, 2.0),
    ({1: 50, 2: 49, 3: 1}, 1.0, 3.0),
    ({}, 0.5, 0.0),
]


@pytest.mark.parametrize(("buckets", "fraction", "expected"), PERCENTILE_CASES)
def test_percentile_follows_locusts_bucket_rule(
    buckets: dict[float, int], fraction: float, expected: float
) -> None:
    assert percentile(buckets, fraction) == expected


@pytest.mark.parametrize(("buckets", "fraction", "expected"), PERCENTILE_CASES)
def test_expanded_buckets_give_back_the_same_percentile(
    buckets: dict[float, int], fraction: float, expected: float
) -> None:
    latencies = expand(buckets)
    assert latencies == sorted(latencies) and len(latencies) == sum(buckets.values())
    if latencies:
        # the nearest-rank percentile of the expanded list is locust's bucket percentile
        rank = max(1, math.ceil(fraction * len(latencies)))
        assert latencies[rank - 1] == expected


def _entry(name: str, times: dict[str, int], per_second: dict[str, int], failures: int) -> dict:
    requests = sum(times.values())
    return {
        "name": name,
        "method": "GET",
        "start_time": 1000.0,
        "last_request_timestamp": 1003.9,
        "num_requests": requests,
        "num_failures": failures,
        "total_response_time": sum(float(k) * v for k, v in times.items()),
        "response_times": times,
        "num_reqs_per_sec": per_second,
    }


def test_read_stats_per_name_and_aggregated(tmp_path: Path) -> None:
    path = tmp_path / "stats.json"
    entries = [
        _entry("projects", {"10": 90, "50": 10}, {"1000": 50, "1001": 50}, failures=0),
        _entry("search", {"100": 20}, {"1000": 10, "1001": 10}, failures=2),
    ]
    path.write_text(json.dumps(entries))
    stats = read_stats(path)
    assert stats["projects"].p50_ms == 10.0
    assert stats["projects"].p95_ms == 50.0
    assert stats["projects"].rps == pytest.approx(50.0)
    assert stats["search"].failure_ratio == pytest.approx(0.1)
    total = stats[AGGREGATE]
    assert total.requests == 120 and total.failures == 2
    assert total.rps == pytest.approx(60.0)
    assert total.p99_ms == 100.0


def test_missing_stats_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no stats file"):
        read_stats(tmp_path / "absent.json")
