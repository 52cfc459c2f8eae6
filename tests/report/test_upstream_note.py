"""The summary's note on the scrape's upstream: the polite ceiling and the share reached."""

from __future__ import annotations

from typing import Any

from harness.metrics import METRICS
from harness.report.summary import _upstream_note
from harness.report.tables import mechanism_note


def results_with(summary: list[dict[str, Any]]) -> Any:
    upstream = {
        "profile": "wayback",
        "time_factor": 10.0,
        "scrape_domains": 4,
        "polite_ceiling_pages_per_min": 4000.0,
        "polite_ceiling_pages_per_min_real": 400.0,
        "polite_ceiling_domain_pages_per_min": 1000.0,
    }
    return {"environment": {"upstream": upstream}, "summary": summary}


def row(optimization: str, metric: str, before: float, after: float) -> dict[str, Any]:
    return {"optimization": optimization, "metric": metric,
            "before_median": before, "after_median": after}  # fmt: skip


def test_each_scrape_comparison_states_its_share_of_the_ceiling() -> None:
    note = "\n".join(_upstream_note(results_with([
        row("all", "scrape_pages_per_min", 2000.0, 3600.0),
        row("all", "scrape_domain_pages_per_min", 600.0, 950.0),
        row("all", "api_p95_ms", 100.0, 50.0),
    ])))  # fmt: skip
    assert "at most 4000 pages/min here (400 in real time)" in note
    assert "| all | scrape_pages_per_min | 4000 | 50% | 90% |" in note
    # the per-domain rate against one domain's ceiling
    assert "| all | scrape_domain_pages_per_min | 1000 | 60% | 95% |" in note
    assert "api_p95_ms" not in note


def test_without_scrape_rows_no_share_table() -> None:
    note = "\n".join(_upstream_note(results_with([row("all", "api_p95_ms", 1.0, 1.0)])))
    assert "at most 4000 pages/min" in note
    assert "Share of the polite ceiling" not in note


def test_a_claimed_tripling_beyond_the_ceiling_says_the_mechanism_does_not_hold() -> None:
    metric = METRICS["scrape_pages_per_min"]
    # 2000 of a 4000 ceiling: at most 2x, the report's 3x cannot happen
    note = mechanism_note(metric, row("all", metric.id, 2000.0, 1800.0), 4000.0)
    assert "the report's mechanism does not hold here" in note
    assert "50% of the polite ceiling (4000 pages/min)" in note and "at most 2.00x" in note
    # 1000 of 4000: a tripling fits under the ceiling, nothing to say
    assert mechanism_note(metric, row("all", metric.id, 1000.0, 1800.0), 4000.0) == ""
    # no ceiling (another upstream), nothing to say
    assert mechanism_note(metric, row("all", metric.id, 2000.0, 1800.0), None) == ""
