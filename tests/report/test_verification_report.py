"""Verification parts and probe readings beside each optimization in summary.md and
index.html; a broken comparison is named so."""

from __future__ import annotations

from pathlib import Path

from harness.report import write_report
from harness.results import ProbeRecord, load_results
from tests.report.synthetic import make_results, samples_for, spread, write_run


def _probe(optimization: str, variant: str, repeat: int, passed: bool, detail: str) -> ProbeRecord:
    return {
        "optimization": optimization, "probe": optimization, "variant": variant,
        "repeat": repeat, "passed": passed, "detail": detail, "duration_s": 0.25,
        "expects": "fix in effect" if variant == "after" else "problem reproduced",
        "figures": {"cache_hits": 2.0, "x_cache": "MISS HIT MISS"},
    }  # fmt: skip


def test_parts_and_probe_readings_are_shown_and_a_broken_comparison_named(tmp_path: Path):
    samples = samples_for("redis_cache", "api_p95_ms", spread(50, 4), spread(20, 2))
    samples += samples_for("db_indexes", "api_p95_ms", spread(50, 4), spread(30, 4))
    parts = [
        {"part": "answers", "passed": True, "detail": "9 requests answered identically"},
        {"part": "problem reproduced", "passed": True, "detail": "redis_cache before: no lookups"},
        {"part": "fix in effect", "passed": False,
         "detail": "redis_cache after round 2: X-Cache - - -, If-None-Match -> 200"},
    ]  # fmt: skip
    verification = [
        {"optimization": "redis_cache", "passed": False, "detail": parts[2]["detail"],
         "parts": parts},
        {"optimization": "db_indexes", "passed": True, "detail": "all parts passed",
         "parts": [{"part": "fix in effect", "passed": True, "detail": "4 of 4 indexes used"}]},
    ]  # fmt: skip
    results = make_results(samples, verification)
    results["probes"] = [
        _probe("redis_cache", "before", 0, True, "lookups 0 hit / 0 miss"),
        _probe("redis_cache", "after", 0, True, "X-Cache MISS HIT MISS, If-None-Match -> 304"),
        _probe("redis_cache", "after", 1, False, "X-Cache - - -, If-None-Match -> 200"),
    ]
    run_dir = write_run(tmp_path, results)
    assert load_results(run_dir)["probes"][2]["passed"] is False  # the schema keeps them
    files = write_report(run_dir)
    summary = files.summary.read_text()
    assert "## redis_cache (broken)" in summary and "## db_indexes\n" in summary
    assert "| fix in effect | NO | redis_cache after round 2:" in summary
    assert (
        "| redis_cache | after | fix in effect | 1/2 | FAILED round 2: X-Cache - - -, "
        "If-None-Match -> 200 | cache_hits 2, x_cache MISS HIT MISS | 0.25 |"
    ) in summary
    assert "| redis_cache | before | problem reproduced | 1/1 | lookups 0 hit / 0 miss |" in summary
    html = files.html.read_text()
    assert 'id="opt-redis_cache">redis_cache (broken)</h2>' in html
    assert "FAILED round 2: X-Cache - - -, If-None-Match -&gt; 200" in html
    rows = {r["optimization"]: r["verdict"] for r in load_results(run_dir)["summary"]}
    assert rows["redis_cache"] == "broken" and rows["db_indexes"] != "broken"
