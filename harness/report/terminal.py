"""The run's summary as a rich table for the terminal (the report's cells, one row each)."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from harness.report.tables import SECTION_HEADER, section_cells, summary_rows
from harness.results import REPORT_METRICS, load_results


def summary_table(run_dir: Path) -> Table:
    """Optimization, metric, before and after medians, change with CI, p, verdict."""
    results = load_results(run_dir)
    table = Table(title=f"run {results['run_id']} ({results['mode']}, {results['profile']})")
    for column in ["Optimization", *SECTION_HEADER]:
        table.add_column(column)
    rows = sorted(
        summary_rows(results),
        key=lambda row: (row["optimization"], row["metric"] not in REPORT_METRICS, row["metric"]),
    )
    for row in rows:
        table.add_row(row["optimization"], *section_cells(row))
    for check in results["verification"]:
        if not check["passed"]:
            table.add_row(check["optimization"], "—", "", "", "", "", f"broken: {check['detail']}")
    return table
