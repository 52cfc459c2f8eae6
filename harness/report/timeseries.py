"""`timeseries-<optimization>.png`: the Prometheus series of an optimization's windows.

One panel per series, before and after overlaid on one time axis (seconds since each
window set began, every repeat a thin line), the scenarios' phases shaded, and series
that never moved in any window (queue lengths that stayed 0) left out.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from harness.results import TIMESERIES_DIR, Results, load_timeseries

DPI = 75
PANEL_HEIGHT_IN = 1.6
COLORS = {"before": "#d62728", "after": "#2ca02c"}
PHASE_COLORS = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
LINE_ALPHA = 0.55
# A series whose range stays within this share of its largest value never moved (a
# process's RSS wobbling by kilobytes, a queue at 0).
FLAT_SHARE = 0.02

# (variant, repeat) -> series name -> (unit, [(seconds since start, value)])
Traces = dict[tuple[str, int], dict[str, tuple[str, list[tuple[float, float]]]]]
# (variant, repeat) -> scenario -> (start, end), epoch seconds
Phases = dict[tuple[str, int], dict[str, tuple[float, float]]]


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _phases(results: Results, optimization: str) -> Phases:
    """Each window set's scenarios and when they ran, from the samples."""
    spans: Phases = defaultdict(dict)
    for s in results["samples"]:
        if s["optimization"] == optimization:
            spans[(s["variant"], s["repeat"])][s["scenario"]] = (
                _epoch(s["window"][0]), _epoch(s["window"][1])
            )  # fmt: skip
    return spans


def _traces(
    run_dirs: list[Path], optimization: str, starts: dict[tuple[str, int], float]
) -> Traces:
    traces: Traces = {}
    for run_dir in run_dirs:
        for path in sorted((run_dir / TIMESERIES_DIR).glob(f"{optimization}-*.json")):
            parts = path.stem.rsplit("-", 2)
            if len(parts) != 3 or parts[0] != optimization or not parts[2].isdigit():
                continue
            key = (parts[1], int(parts[2]))
            series = load_timeseries(path)["series"]
            points = [p for one in series for p in one["points"]]
            if not points:
                continue
            start = starts.get(key, min(t for t, _ in points))
            traces[key] = {
                one["name"]: (one["unit"], [(t - start, v) for t, v in one["points"]])
                for one in series
            }
    return traces


def _moving(traces: Traces) -> list[tuple[str, str]]:
    """(name, unit) of the series whose value changed in some window, in first-seen order."""
    values: dict[str, set[float]] = defaultdict(set)
    units: dict[str, str] = {}
    for by_name in traces.values():
        for name, (unit, points) in by_name.items():
            units.setdefault(name, unit)
            values[name].update(v for _, v in points)

    def moved(seen: set[float]) -> bool:
        return max(seen) - min(seen) > FLAT_SHARE * max(abs(v) for v in seen)

    return [(name, units[name]) for name in units if values[name] and moved(values[name])]


def timeseries_chart(results: Results, run_dirs: list[Path], optimization: str,
                     out: Path) -> Path | None:  # fmt: skip
    phases = _phases(results, optimization)
    starts = {key: min(a for a, _ in spans.values()) for key, spans in phases.items()}
    traces = _traces(run_dirs, optimization, starts)
    moving = _moving(traces)
    if not moving:
        return None
    figure, axes_list = plt.subplots(len(moving), 1, sharex=True, squeeze=False,
                                     figsize=(8, PANEL_HEIGHT_IN * len(moving) + 0.9))  # fmt: skip
    first = min(phases, default=None)
    shaded = phases.get(first, {}) if first is not None else {}
    zero = starts[first] if first is not None else 0.0
    ordered = sorted(shaded.items(), key=lambda item: item[1])
    for axes, (name, unit) in zip(axes_list[:, 0], moving, strict=True):
        for index, (scenario, (begin, end)) in enumerate(ordered):
            label = scenario if axes is axes_list[0, 0] else None
            axes.axvspan(begin - zero, end - zero, alpha=0.08, label=label,
                         color=PHASE_COLORS[index % len(PHASE_COLORS)])  # fmt: skip
        for (variant, _repeat), by_name in sorted(traces.items()):
            if name in by_name:
                points = by_name[name][1]
                axes.plot([t for t, _ in points], [v for _, v in points], linewidth=0.9,
                          alpha=LINE_ALPHA, color=COLORS.get(variant, "#555555"))  # fmt: skip
        axes.set_title(f"{name} ({unit})", fontsize=8, loc="left")
        axes.tick_params(labelsize=7)
    axes_list[-1, 0].set_xlabel("seconds since the window set began", fontsize=8)
    handles = [Line2D([], [], color=c, label=v) for v, c in COLORS.items()]
    handles += axes_list[0, 0].get_legend_handles_labels()[0][: len(shaded)]
    figure.legend(handles=handles, loc="upper right", fontsize=7, ncol=len(handles),
                  frameon=False)  # fmt: skip
    figure.suptitle(f"{optimization}: Prometheus series, before and after (phases shaded)",
                    fontsize=10, x=0.02, ha="left")  # fmt: skip
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    path = out / f"timeseries-{optimization}.png"
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path
