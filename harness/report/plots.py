"""The report's PNGs (matplotlib, Agg: no display needed).

- `bars-<metric>.png`: before/after medians per optimization with bootstrap 95 % CIs.
- `cdf-<optimization>.png`: latency distributions before/after, from the per-request
  latency files when the run has them, else from the samples of its latency metrics.
- `timeseries-<optimization>-<variant>-<repeat>.png`: each window's Prometheus series.
- `budget.png`: the budget's cpus and memory per service.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from harness.compare import median, median_ci
from harness.report.tables import optimizations_in
from harness.results import (
    LATENCIES_DIR,
    METRICS,
    TIMESERIES_DIR,
    Results,
    load_latencies,
    load_timeseries,
)
from harness.units import MEMORY_UNIT

DPI = 100
BAR_WIDTH = 0.38
COLORS = {"before": "#d62728", "after": "#2ca02c"}


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def _valid_values(results: Results) -> dict[str, dict[str, dict[str, list[float]]]]:
    """metric -> optimization -> variant -> valid values."""
    values: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: {"before": [], "after": []})
    )
    for s in results["samples"]:
        if s["valid"]:
            values[s["metric"]][s["optimization"]][s["variant"]].append(s["value"])
    return values


def bar_charts(results: Results, out: Path) -> list[Path]:
    paths = []
    for metric_id, by_opt in _valid_values(results).items():
        metric = METRICS[metric_id]
        figure, axes = plt.subplots(figsize=(max(5.5, 1.6 * len(by_opt) + 2), 3.8))
        positions = np.arange(len(by_opt))
        for offset, variant in ((-BAR_WIDTH / 2, "before"), (BAR_WIDTH / 2, "after")):
            heights, low_err, high_err = [], [], []
            for group in by_opt.values():
                vals = group[variant]
                mid = median(vals) if vals else 0.0
                ci = median_ci(vals) if vals else None
                heights.append(mid)
                # A percentile interval need not contain the sample median (ties, an
                # even count, rounding): draw the part of it that lies beyond the bar.
                low_err.append(max(0.0, mid - ci[0]) if ci else 0.0)
                high_err.append(max(0.0, ci[1] - mid) if ci else 0.0)
            axes.bar(positions + offset, heights, BAR_WIDTH, yerr=[low_err, high_err],
                     capsize=4, label=variant, color=COLORS[variant])  # fmt: skip
        axes.set_xticks(positions, list(by_opt), rotation=20, ha="right")
        axes.set_ylabel(metric.unit)
        axes.set_title(f"{metric.label}\nmedian and 95% CI, {metric.better} is better", fontsize=10)
        axes.legend()
        paths.append(_save(figure, out / f"bars-{metric_id}.png"))
    return paths


def _latency_arrays(results: Results, run_dir: Path, optimization: str) -> dict[str, list[float]]:
    by_variant: dict[str, list[float]] = {"before": [], "after": []}
    for variant in by_variant:
        for path in sorted((run_dir / LATENCIES_DIR).glob(f"{optimization}-{variant}-*.json")):
            by_variant[variant] += load_latencies(path)["latencies_ms"]
    if by_variant["before"] or by_variant["after"]:
        return by_variant
    for s in results["samples"]:  # no per-request files: the windows' latency samples
        if s["optimization"] == optimization and s["valid"] and s["unit"] == "ms":
            by_variant[s["variant"]].append(s["value"])
    return by_variant


def latency_cdfs(results: Results, run_dir: Path, out: Path) -> list[Path]:
    paths = []
    for optimization in optimizations_in(results):
        by_variant = _latency_arrays(results, run_dir, optimization)
        if not (by_variant["before"] and by_variant["after"]):
            continue
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
        paths.append(_save(figure, out / f"cdf-{optimization}.png"))
    return paths


def timeseries(run_dir: Path, out: Path) -> list[Path]:
    paths = []
    for path in sorted((run_dir / TIMESERIES_DIR).glob("*.json")):
        series = load_timeseries(path)["series"]
        if not series:
            continue
        figure, axes_list = plt.subplots(len(series), 1, figsize=(7, 2.2 * len(series)),
                                         squeeze=False)  # fmt: skip
        for axes, one in zip(axes_list[:, 0], series, strict=True):
            start = one["points"][0][0] if one["points"] else 0.0
            axes.plot([t - start for t, _ in one["points"]], [v for _, v in one["points"]])
            axes.set_ylabel(one["unit"])
            axes.set_title(one["name"], fontsize=9)
        axes_list[-1, 0].set_xlabel("seconds into the window")
        figure.suptitle(path.stem)
        paths.append(_save(figure, out / f"timeseries-{path.stem}.png"))
    return paths


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


def write_plots(results: Results, run_dir: Path) -> list[Path]:
    """All PNGs of a run, written into its folder."""
    paths = bar_charts(results, run_dir)
    paths += latency_cdfs(results, run_dir, run_dir)
    paths += timeseries(run_dir, run_dir)
    budget = budget_chart(results["budget"], run_dir)
    return [*paths, budget] if budget else paths
