"""Latency percentiles from the rounds' pooled requests, with a bootstrap over windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.compare import pooled_percentile, pooled_ratio_interval, ratio_interval, summarize
from harness.compare.pooled import bucket_width_ms, interpolated_percentile, pooled_ratio_draws
from harness.results import LATENCIES_DIR, dump_window_file, pooled_latencies, window_file
from tests.report.synthetic import samples_for


def window(base: float, slow: float, n: int = 50, slow_every: int = 10) -> list[float]:
    """n requests at `base` ms, one in `slow_every` at `slow` ms."""
    return [slow if i % slow_every == 0 else base + i % 7 for i in range(n)]


def test_the_pooled_p95_is_that_of_all_requests_not_a_median_of_window_maxima() -> None:
    # four windows of 12 requests: each window's p95 is its one slow request (its maximum)
    windows = [window(10, 500, n=12, slow_every=12) for _ in range(4)]
    assert pooled_percentile(windows, 0.95) == 500.0  # 4 of 48 slow: 8 % > 5 %
    windows = [window(10, 500, n=50, slow_every=50) for _ in range(4)]
    assert pooled_percentile(windows, 0.95) < 20  # 4 of 200 slow: 2 %


def test_pooled_summary_row_says_how_many_requests_stand_behind_it(tmp_path: Path) -> None:
    samples = samples_for("all", "api_p95_ms", [300.0] * 5, [20.0] * 5)
    for sample in samples:
        slow = 300.0 if sample["variant"] == "before" else 30.0
        latencies = sorted(window(100 if sample["variant"] == "before" else 10, slow))
        where = window_file(tmp_path, LATENCIES_DIR, "all", sample["variant"], sample["repeat"])
        dump_window_file(where, {"metric": "api_p95_ms", "latencies_ms": latencies})
    samples[0]["valid"] = False  # an invalid window's requests stay out of the pool
    samples[0]["invalid_reason"] = "load generator CPU 97% > 90%"
    pooled = pooled_latencies(tmp_path, samples)
    (row,) = summarize(samples, [], pooled=pooled)
    assert row["requests_before"] == 4 * 50 and row["requests_after"] == 5 * 50
    assert row["before_median"] == 300.0 and row["after_median"] == 30.0
    assert row["verdict"] == "improved"
    assert row["ci95"] is not None and row["ci95"][0] <= 0.1 <= row["ci95"][1]


def test_the_bootstrap_over_windows_widens_with_drift_between_windows() -> None:
    steady = [window(100, 200) for _ in range(4)]
    drifting = [window(100 * k, 200 * k) for k in (1, 1.5, 2, 2.5)]
    tight = pooled_ratio_interval(steady, steady, 0.95)
    wide = pooled_ratio_interval(steady, drifting, 0.95)
    assert not isinstance(tight, str) and not isinstance(wide, str)
    assert tight[1] - tight[0] < wide[1] - wide[0]


def test_a_missing_pooled_interval_says_why() -> None:
    one = [window(100, 200)]
    assert pooled_ratio_interval(one, one * 3, 0.95) == "fewer than two windows a side"
    zeros = [[0.0] * 50 for _ in range(3)]
    assert pooled_ratio_interval(zeros, [window(100, 200)] * 3, 0.95) == (
        "the before's pooled percentile is 0 in every resample"
    )


def test_the_pooled_draws_say_why_there_are_none_as_the_intervals_do() -> None:
    """One guard, one wording: the gate's draws, the pooled CI and the medians' CI."""
    one = [window(100, 200)]
    why = pooled_ratio_draws(one, one * 3, 0.95)
    assert why == "fewer than two windows a side"
    assert why == pooled_ratio_interval(one, one * 3, 0.95) == ratio_interval([1.0], [1.0, 2.0])
    zeros = [[0.0] * 50 for _ in range(3)]
    why = pooled_ratio_draws(zeros, [window(100, 200)] * 3, 0.95)
    assert why == pooled_ratio_interval(zeros, [window(100, 200)] * 3, 0.95)


def test_the_interpolated_percentile_reads_between_locusts_buckets() -> None:
    # 100 requests kept as 5 ms took 4.5-5.5 ms: the 95th share lies at 5.45
    assert interpolated_percentile([[5.0] * 100], 0.95) == pytest.approx(5.45)
    # 90 at 5 ms and 10 at 6 ms: the p95 lies halfway through the 6 ms bucket
    assert interpolated_percentile([[5.0] * 90, [6.0] * 10], 0.95) == pytest.approx(6.0)
    # above 100 ms locust keeps two significant figures: a 150 ms bucket spans 145-155
    assert interpolated_percentile([[150.0] * 10], 0.5) == pytest.approx(150.0)
    assert list(bucket_width_ms(np.array([3.0, 99.0, 150.0, 2300.0]))) == [1, 1, 10, 100]


def test_one_request_moving_across_a_bucket_edge_moves_the_interpolated_p95_a_little() -> None:
    # locust's rule jumps a whole bucket (20 % at 5 ms); the interpolation moves by 1 %
    before = [[5.0] * 95 + [6.0] * 5]
    after = [[5.0] * 94 + [6.0] * 6]
    assert pooled_percentile(after, 0.95) / pooled_percentile(before, 0.95) == pytest.approx(1.2)
    ratio = interpolated_percentile(after, 0.95) / interpolated_percentile(before, 0.95)
    assert 1 < ratio < 1.05
