"""The demo's one report (end to end plus its isolate companion) names what the isolate
run left out, and why, as the terminal does: a row must never silently vanish."""

from __future__ import annotations

from harness.report import write_report
from tests.report.synthetic import (
    make_results,
    samples_for,
    spread,
    write_demo_runs,
    write_run,
)

WHY = "this run measures alone only stats_aggregate; run --mode isolate --optimizations ID"


def test_the_report_names_what_its_isolate_companion_did_not_measure(tmp_path) -> None:
    main, companion = write_demo_runs(tmp_path / "reports", {"db_indexes": WHY, "pg_tuning": WHY})
    files = write_report(main, [companion])
    line = f"not measured in this isolate run: db_indexes, pg_tuning: {WHY}"
    assert f"- {line}" in files.summary.read_text()
    assert f"<li>{line}</li>" in files.html.read_text()


def test_a_report_with_everything_measured_says_nothing_of_it(tmp_path) -> None:
    results = make_results(samples_for("all", "api_p95_ms", spread(500, 4), spread(50, 4)),
                           mode="endtoend")  # fmt: skip
    files = write_report(write_run(tmp_path / "reports", results))
    assert "not measured in this" not in files.summary.read_text()
    assert 'class="left-out"' not in files.html.read_text()
