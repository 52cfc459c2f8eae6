"""The report's PNGs (matplotlib, Agg: no display needed), in reading order.

- `headline.png`: the performance report's ten rows, before, after, promise, 95 % CI
  (harness/report/dumbbell.py); then per optimization:
- `dumbbell-<optimization>.png`: its metrics, before → after with 95 % CIs;
- `cdf-<optimization>.png`: latency distributions before/after, from the per-request
  latency files of its windows (none without them);
- `timeseries-<optimization>.png`: its windows' Prometheus series, before and after
  overlaid (harness/report/timeseries.py);
- `budget.png`: the budget's cpus and memory per service.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from harness.report.dumbbell import dumbbell_chart, headline_rows, optimization_rows
from harness.report.tables import optimizations_in, summary_rows
from harness.report.timeseries import timeseries_chart
from harness.results import LATENCIES_DIR, Results, SummaryRow, load_latencies
from harness.units import MEMORY_UNIT

DPI = 100
HEADLINE_FILE = "headline.png"
HEADLINE_TITLE = "The performance report's ten rows, end to end: before → after vs the promise"
COLORS = {"before": "#d62728", "after": "#2ca02c"}


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def _latency_arrays(
    results: Results, run_dirs: Sequence[Path], optimization: str
) -> dict[str, list[float]]:
    by_variant: dict[str, list[float]] = {"before": [], "after": []}
    for run_dir in run_dirs:
        for variant in by_variant:
            pattern = f"{optimization}-{variant}-*.json"
            for path in sorted((run_dir / LATENCIES_DIR).glob(pattern)):
                by_variant[variant] += load_latencies(path)["latencies_ms"]
    # without per-request files no CDF: the windows' p50, p95, TTI... pooled are no
    # distribution of anything
    return by_variant


def latency_cdfs(
    results: Results, run_dirs: Sequence[Path], out: Path, optimization: str
) -> list[Path]:
    by_variant = _latency_arrays(results, run_dirs, optimization)
    if not (by_variant["before"] and by_variant["after"]):
        return []
    figure, axes = plt.subplots(figsize=(6, 3.6))
    for variant, values in by_variant.items():
        ordered = np.sort(np.asarray(values))
        share = np.arange(1, len(ordered) + 1) / len(ordered)
        axes.step(ordered, share, where="post", label=f"{variant} (n={len(ordered)})",
                  color=COLORS[variant])  # fmt: skip
    axes.set_xlabel("latency (ms)")
    axes.set_ylabel("cumulative share")
    axes.set_title(f"{optimization}: latency distribution")
    axes.legend()
    return [_save(figure, out / f"cdf-{optimization}.png")]


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def budget_chart(budget: Mapping[str, Any], out: Path) -> Path | None:
    """cpus and memory (limit, reservation) per service from the `budget --format json`
    shape; None when the run recorded no services."""
    services = budget.get("services")
    if not isinstance(services, Mapping) or not services:
        return None
    names = list(services)
    figure, (cpu_axes, mem_axes) = plt.subplots(1, 2, figsize=(10, 0.45 * len(names) + 1.5))
    positions = np.arange(len(names))
    cpu_axes.barh(positions, [_number(services[n].get("cpus")) for n in names])
    cpu_axes.set_yticks(positions, names)
    cpu_axes.set_xlabel("cpus (limit)")
    mem_axes.barh(positions, [_number(services[n].get("memory_mb")) for n in names],
                  label="limit", color="#1f77b4")  # fmt: skip
    mem_axes.barh(positions, [_number(services[n].get("reservation_mb")) for n in names],
                  height=0.4, label="reservation", color="#ff7f0e")  # fmt: skip
    mem_axes.set_yticks(positions, names)
    mem_axes.set_xlabel(f"memory ({MEMORY_UNIT})")
    mem_axes.legend()
    host = budget.get("host", {})
    memory = f"{host.get('memory_mb', '?')} {MEMORY_UNIT}"
    figure.suptitle(f"Budget per service (host {host.get('name', '?')}: "
                    f"{host.get('cpus', '?')} cpus, {memory})")  # fmt: skip
    return _save(figure, out / "budget.png")


def _optimization_charts(
    results: Results, summary: list[SummaryRow], folders: list[Path], out: Path, optimization: str
) -> list[Path]:
    """One optimization's dumbbell, latency CDF and Prometheus series, in that order."""
    paths = []
    rows = optimization_rows(summary, optimization)
    if rows:
        title = f"{optimization}: before → after, median and 95% CI"
        paths.append(dumbbell_chart(rows, title, out / f"dumbbell-{optimization}.png"))
    paths += latency_cdfs(results, folders, out, optimization)
    chart = timeseries_chart(results, folders, optimization, out)
    return [*paths, chart] if chart is not None else paths


def write_plots(results: Results, run_dir: Path, run_dirs: Sequence[Path] = ()) -> list[Path]:
    """All PNGs of a run, written into its folder: first the report's ten rows, then per
    optimization its metrics, latency distribution and Prometheus series. `run_dirs`:
    the folders holding the runs' side files (default: run_dir). The optimizations'
    charts are drawn in worker processes, one per core (a demo's report has ~35 PNGs)."""
    folders = list(run_dirs) or [run_dir]
    summary = summary_rows(results)
    paths = [dumbbell_chart(headline_rows(summary), HEADLINE_TITLE, run_dir / HEADLINE_FILE)]
    optimizations = optimizations_in(results)
    workers = min(len(optimizations), os.cpu_count() or 1)
    if workers > 1:
        # fork: the workers inherit matplotlib already imported and the results in memory
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            drawn = pool.map(_optimization_charts, repeat(results), repeat(summary),
                             repeat(folders), repeat(run_dir), optimizations)  # fmt: skip
            paths += [path for charts in drawn for path in charts]
    else:
        for optimization in optimizations:
            paths += _optimization_charts(results, summary, folders, run_dir, optimization)
    budget = budget_chart(results["budget"], run_dir)
    return [*paths, budget] if budget else paths
