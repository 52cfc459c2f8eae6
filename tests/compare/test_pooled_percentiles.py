"""Latency percentiles from the rounds' pooled requests, with a bootstrap over windows."""

from __future__ import annotations

from pathlib import Path

from harness.compare import pooled_percentile, pooled_ratio_ci, summarize
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
    tight = pooled_ratio_ci(steady, steady, 0.95)
    wide = pooled_ratio_ci(steady, drifting, 0.95)
    assert tight is not None and wide is not None
    assert tight[1] - tight[0] < wide[1] - wide[0]
