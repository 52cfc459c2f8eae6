"""Steady-state throughput and politeness from a scrape window's raw data."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from harness.results import dump_window_file
from harness.upstream.profiles import WAYBACK, Latency, RateLimit
from scenarios.base import WindowRecord
from scenarios.scrape import lost_and_duplicated, scrape_file
from scenarios.scrape_figures import (
    Politeness,
    expected_slowest_s,
    polite_ceiling_per_min,
    rates_by_domain,
    spans_by_domain,
    steady_rate_per_min,
)


def test_the_rate_runs_from_the_first_to_the_last_indexing_moment() -> None:
    # 10 pages a second for 10 s, after a slow start the window must not count.
    moments = [100.0 + i / 10 for i in range(101)]
    assert steady_rate_per_min(moments) == pytest.approx(600.0)
    # Pages indexed together (a batch) share a moment: the first batch is not counted.
    batched = [float(t) for t in range(10) for _ in range(100)]
    assert steady_rate_per_min(batched) == pytest.approx(900 / 9 * 60)


def test_a_window_over_its_whole_length_would_read_lower() -> None:
    """The check above fails for the rate over the window's wall time."""
    moments = [100.0 + i / 10 for i in range(101)]
    window_start = 90.0  # project creation and CDX queries before the first page
    whole_window = len(moments) / (max(moments) - window_start) * 60
    assert whole_window < 0.7 * steady_rate_per_min(moments)


def test_no_rate_from_fewer_than_two_moments() -> None:
    assert math.isnan(steady_rate_per_min([]))
    assert math.isnan(steady_rate_per_min([5.0, 5.0, 5.0]))


def test_rates_by_domain() -> None:
    indexed = [("a.org", float(t)) for t in range(11)] + [("b.org", t / 2) for t in range(11)]
    assert rates_by_domain(indexed) == {"a.org": 60.0, "b.org": 120.0}


def test_politeness_adds_both_routes() -> None:
    limits = {"cdx 429": 2, "web 429": 5, "web early": 3, "refused": 1, "blocks": 1}
    assert Politeness.from_limits(limits) == Politeness(7, 3, 1)
    assert Politeness.from_limits({}) == Politeness(0, 0, 0)


def test_lost_and_duplicated() -> None:
    expected = frozenset({("a", "1"), ("b", "2"), ("c", "3")})
    assert lost_and_duplicated(Counter({("a", "1"): 1, ("b", "2"): 1, ("c", "3"): 1}),
                               expected) == (0, 0)  # fmt: skip
    assert lost_and_duplicated(Counter({("a", "1"): 3, ("b", "2"): 1}), expected) == (1, 2)


def test_the_polite_ceiling_of_pauses_alone_is_ten_pages_a_pause() -> None:
    # no latency, no faults: 10 pages per 2 s pause, per domain
    bare = replace(WAYBACK, memento_latency=Latency(), rate_503=0.0, rate_reset=0.0,
                   rate_slow=0.0, memento_limit=None)  # fmt: skip
    assert polite_ceiling_per_min(bare, 1) == pytest.approx(10 / 2.0 * 60)
    assert polite_ceiling_per_min(bare, 4) == pytest.approx(4 * 10 / 2.0 * 60)
    # the memento limit caps all domains together
    capped = replace(bare, memento_limit=RateLimit(requests=600))
    assert polite_ceiling_per_min(capped, 4) == pytest.approx(600.0)


def test_latency_and_faults_lower_the_ceiling() -> None:
    no_faults = replace(WAYBACK, rate_503=0.0, rate_reset=0.0, rate_slow=0.0)
    assert expected_slowest_s(WAYBACK) > expected_slowest_s(no_faults) > 0.8
    assert polite_ceiling_per_min(WAYBACK, 1) < polite_ceiling_per_min(no_faults, 1) < 100.0
    # the time factor multiplies the ceiling and nothing else
    assert polite_ceiling_per_min(WAYBACK.scaled(10), 1) == pytest.approx(
        10 * polite_ceiling_per_min(WAYBACK, 1), rel=0.01
    )


def test_spans_say_when_each_domain_ran() -> None:
    indexed = [("b.org", 5.0), ("a.org", 1.0), ("a.org", 3.0), ("b.org", 9.0)]
    assert spans_by_domain(indexed) == {"a.org": (1.0, 3.0), "b.org": (5.0, 9.0)}


def test_the_scrape_side_file_is_strict_json(tmp_path: Path) -> None:
    record = WindowRecord("scrape", 0.0, 1.0, data={
        "status": "completed", "stored": 12, "time_factor": 10.0,
        "pages_per_min_by_domain": {"a.org": 600.0, "b.org": math.nan},
        "indexed_span_by_domain": {"a.org": (1.0, 3.0)},
        "upstream_limits": {"web 429": 2},
        "latencies": "not part of it",
    })  # fmt: skip
    path = tmp_path / "scrape.json"
    dump_window_file(path, scrape_file(record))
    saved = json.loads(path.read_text())
    assert saved["pages_per_min_by_domain"] == {"a.org": 600.0, "b.org": None}
    assert saved["indexed_span_by_domain"] == {"a.org": [1.0, 3.0]}
    assert saved["upstream_limits"] == {"web 429": 2} and "latencies" not in saved
