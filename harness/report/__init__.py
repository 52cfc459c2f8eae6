"""Reports of a run: summary.md, index.html, PNGs and results.csv in the run's folder.

A session measures several modes as runs of their own (the demo: end to end, then each
optimization in isolation); `write_report(run, companions)` makes them one report, in
the first run's folder: their samples never share an optimization id (`all` vs each id).
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
    runs = [load_results(run_dir), *(load_results(c) for c in companions)]
    results = combined(runs[0], runs[1:])
    left_out = [line for run in runs for line in left_out_lines(run)]
    images = write_plots(results, run_dir, [run_dir, *companions])
    summary = run_dir / SUMMARY_FILE
    summary.write_text(render_summary(results, left_out), encoding="utf-8")
    html = run_dir / HTML_FILE
    html.write_text(render_html(results, images, left_out), encoding="utf-8")
    csv = run_dir / CSV_FILE
    write_csv(results, csv)
    return ReportFiles(summary, html, csv, images)
