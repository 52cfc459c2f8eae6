"""Reports of a run: summary.md, index.html, PNGs and results.csv in the run's folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.report.html import render_html
from harness.report.plots import write_plots
from harness.report.summary import render_summary
from harness.report.tidy import write_csv
from harness.results import load_results

SUMMARY_FILE = "summary.md"
HTML_FILE = "index.html"
CSV_FILE = "results.csv"


@dataclass(frozen=True)
class ReportFiles:
    summary: Path
    html: Path
    csv: Path
    images: list[Path]


def write_report(run_dir: Path) -> ReportFiles:
    """Read the run's results.json and write every report file beside it."""
    results = load_results(run_dir)
    images = write_plots(results, run_dir)
    summary = run_dir / SUMMARY_FILE
    summary.write_text(render_summary(results), encoding="utf-8")
    html = run_dir / HTML_FILE
    html.write_text(render_html(results, images), encoding="utf-8")
    csv = run_dir / CSV_FILE
    write_csv(results, csv)
    return ReportFiles(summary, html, csv, images)
