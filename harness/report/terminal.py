"""The run's summary for the terminal: a rich table on a terminal, a plain Markdown table
where the output is a pipe or a CI log (a rich table wrapped into 80 columns there is
unreadable), or JSON."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.metrics import REPORT_METRICS
from harness.report.summary import markdown_table
from harness.report.tables import SECTION_HEADER, section_cells, summary_rows
from harness.results import Results, load_results


def _rows(results: Results) -> list[list[str]]:
    rows = sorted(
        summary_rows(results),
        key=lambda row: (row["optimization"], row["metric"] not in REPORT_METRICS, row["metric"]),
    )
    cells = [[row["optimization"], *section_cells(row)] for row in rows]
    for check in results["verification"]:
        if not check["passed"]:
            cells.append([check["optimization"], "—", "", "", "", "",
                          f"broken: {check['detail']}"])  # fmt: skip
    return cells


def _title(results: Results) -> str:
    return f"run {results['run_id']} ({results['mode']}, {results['profile']})"


def summary_table(results: Results) -> Table:
    """Optimization, metric, before and after medians, change with CI, p, verdict."""
    table = Table(title=_title(results))
    for column in ["Optimization", *SECTION_HEADER]:
        table.add_column(column)
    for row in _rows(results):
        table.add_row(*row)
    return table


def summary_markdown(results: Results) -> str:
    lines = [_title(results), "", *markdown_table(["Optimization", *SECTION_HEADER],
                                                  _rows(results))]  # fmt: skip
    return "\n".join(lines) + "\n"


def print_summary(console: Console, results: Results) -> None:
    """The rich table on a terminal, else the Markdown table, unwrapped; then where the
    run's time went."""
    if console.is_terminal:
        console.print(summary_table(results))
    else:
        console.print(summary_markdown(results), markup=False, highlight=False, soft_wrap=True)
    line = time_line(results)
    if line:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def time_line(results: Results) -> str:
    """'time: 21.9 min, of which measuring 11.2, switching 3.4, ...' (minutes, largest
    first), from the run's start and end and the runner's phases; empty when unknown."""
    phases = results["environment"].get("phase_seconds")
    finished = results["finished_at"]
    if not phases or finished is None:
        return ""
    wall_s = datetime.fromisoformat(finished) - datetime.fromisoformat(results["started_at"])
    parts = [f"{phase} {seconds / 60:.1f}"
             for phase, seconds in sorted(phases.items(), key=lambda item: -item[1])]  # fmt: skip
    setup = wall_s.total_seconds() - sum(phases.values())
    parts.append(f"starting and other {max(setup, 0.0) / 60:.1f}")
    line = f"time: {wall_s.total_seconds() / 60:.1f} min, of which " + ", ".join(parts)
    busy = results["environment"].get("busy_windows", {})
    if busy.get("measured_again") or busy.get("kept_invalid"):
        line += (
            f"; the machine's other jobs disturbed windows: {busy['measured_again']} measured "
            f"again, {busy['kept_invalid']} kept as invalid"
        )
    return line


def summary_json(run_dir: Path) -> str:
    """`run --format json`: where the run is and its summary rows."""
    results = load_results(run_dir)
    data = {
        "run_id": results["run_id"],
        "run_dir": str(run_dir),
        "results": str(run_dir / "results.json"),
        "mode": results["mode"],
        "profile": results["profile"],
        "summary": summary_rows(results),
        "verification": results["verification"],
    }
    return json.dumps(data, indent=2, allow_nan=False) + "\n"
