"""Reports of a run: summary.md, index.html, PNGs and results.csv in the run's folder.

A session measures several modes as runs of their own (the demo: end to end, then each
optimization in isolation); `write_report(run, companions)` makes them one report, in
the first run's folder (`write_report_of` where they are already read): their samples
never share an optimization id (`all` vs each id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.report.html import render_html
from harness.report.plots import write_plots
from harness.report.summary import left_out_lines, render_summary
from harness.report.tidy import write_csv
from harness.results import Results, load_results

SUMMARY_FILE = "summary.md"
HTML_FILE = "index.html"
CSV_FILE = "results.csv"


@dataclass(frozen=True)
class ReportFiles:
    summary: Path
    html: Path
    csv: Path
    images: list[Path]


def combined(results: Results, companions: Sequence[Results]) -> Results:
    """One run's results with its companions' samples, verifications and summary rows."""
    merged: Results = {**results}
    for other in companions:
        merged["samples"] = [*merged["samples"], *other["samples"]]
        merged["verification"] = [*merged["verification"], *other["verification"]]
        merged["summary"] = [*merged["summary"], *other["summary"]]
    return merged


def write_report(run_dir: Path, companions: Sequence[Path] = ()) -> ReportFiles:
    """Read the run's results.json (and its companions') and write every report file
    into the run's folder."""
    return write_report_of([(folder, load_results(folder)) for folder in (run_dir, *companions)])


def write_report_of(runs: Sequence[tuple[Path, Results]]) -> ReportFiles:
    """Every report file of runs already read, each as (its folder, its results), into
    the first one's folder; the others are its companions."""
    (run_dir, first), *companions = runs
    results = combined(first, [other for _, other in companions])
    left_out = [line for _, run in runs for line in left_out_lines(run)]
    images = write_plots(results, run_dir, [folder for folder, _ in runs])
    summary = run_dir / SUMMARY_FILE
    summary.write_text(render_summary(results, left_out), encoding="utf-8")
    html = run_dir / HTML_FILE
    html.write_text(render_html(results, images, left_out), encoding="utf-8")
    csv = run_dir / CSV_FILE
    write_csv(results, csv)
    return ReportFiles(summary, html, csv, images)
