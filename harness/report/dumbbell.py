"""Dot charts a person reads first: one row per metric, before → after on its own axis.

`headline.png` holds the performance report's ten rows from the end-to-end comparison:
the measured before and after medians joined by a line, the after's 95 % CI (the ratio's
bootstrap CI applied to the before median), and the report's promise applied to the
measured before (an "80 % reduction" of this before; a target value as it is). A median
that is only a lower bound is drawn as "≥". `dumbbell-<optimization>.png` draws each
optimization's own metrics the same way.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from harness.metrics import METRICS, REPORT_METRICS, Claim
from harness.report.tables import NOT_AVAILABLE, expectation_verdict, fmt_value
from harness.results import ALL, SummaryRow

DPI = 85
ROW_HEIGHT_IN = 0.62
WIDTH_IN = 10.0
COLORS = {"before": "#d62728", "after": "#2ca02c", "promise": "#222222", "ci": "#2ca02c"}
# a row spans more than this factor: a log axis, so 401 -> 1 is not a dot at 0
LOG_SPAN = 20.0
# the verdict beside a row, wrapped to what fits right of the plots: lines of this many
# characters, at most this many lines (a row is ROW_HEIGHT_IN high, in 7-point type)
NOTE_CHARS = 40
NOTE_LINES = 3


@dataclass(frozen=True)
class Row:
    label: str
    unit: str
    before: float | None
    after: float | None
    after_ci: tuple[float, float] | None
    promise: float | None
    before_bound: bool
    after_bound: bool
    note: str


def promise(claim: Claim | None, before: float | None) -> float | None:
    """The report's claim as a value on this before's scale."""
    if claim is None:
        return None
    if claim.kind == "target":
        return claim.amount
    if before is None:
        return None
    return before * (1 - claim.amount) if claim.kind == "reduction" else before * claim.amount


def row_of(metric_id: str, summary: SummaryRow | None, *, with_promise: bool) -> Row:
    metric = METRICS[metric_id]
    if summary is None:
        return Row(metric.label, metric.unit, None, None, None, None, False, False,
                   "not measured in this run")  # fmt: skip
    before, after, ci = summary["before_median"], summary["after_median"], summary["ci95"]
    sides = summary.get("bound_sides", [])
    after_ci = (before * ci[0], before * ci[1]) if ci and before is not None else None
    note = expectation_verdict(metric, summary) if with_promise else summary["verdict"]
    return Row(
        metric.label, metric.unit, before, after, after_ci,
        promise(metric.claim, before) if with_promise else None,
        "before" in sides, "after" in sides, note,
    )  # fmt: skip


def headline_rows(summary: list[SummaryRow]) -> list[Row]:
    """The report's ten rows from the end-to-end (`all`) comparison."""
    by_metric = {r["metric"]: r for r in summary if r["optimization"] == ALL}
    return [row_of(m, by_metric.get(m), with_promise=True) for m in REPORT_METRICS]


def optimization_rows(summary: list[SummaryRow], optimization: str) -> list[Row]:
    rows = [r for r in summary if r["optimization"] == optimization]
    rows.sort(key=lambda r: (r["metric"] not in REPORT_METRICS, r["metric"]))
    return [row_of(r["metric"], r, with_promise=False) for r in rows]


def _draw_row(axes: Axes, row: Row) -> None:
    axes.set_yticks([])
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.set_ylabel(row.label, rotation=0, ha="right", va="center", fontsize=9)
    points = [v for v in (row.before, row.after, row.promise) if v is not None]
    if row.after_ci:
        points += list(row.after_ci)
    if row.before is None or row.after is None:
        axes.set_xticks([])
        axes.text(0.5, 0.5, f"{NOT_AVAILABLE} {row.note}", transform=axes.transAxes,
                  ha="center", va="center", fontsize=8, color="#555555")  # fmt: skip
        return
    positive = [v for v in points if v > 0]
    if len(positive) == len(points) and max(points) / min(points) > LOG_SPAN:
        axes.set_xscale("log")
    axes.plot([row.before, row.after], [0, 0], color="#999999", linewidth=2, zorder=1)
    if row.after_ci:
        low, high = sorted(row.after_ci)
        axes.plot([low, high], [0, 0], color=COLORS["ci"], linewidth=6, alpha=0.3, zorder=2,
                  solid_capstyle="butt")  # fmt: skip
    for side, value, bound in (("before", row.before, row.before_bound),
                               ("after", row.after, row.after_bound)):  # fmt: skip
        axes.scatter([value], [0], s=60, color=COLORS[side], zorder=3,
                     marker=">" if bound else "o")  # fmt: skip
        # before below its dot, after above: equal medians keep readable labels
        axes.annotate(fmt_value(value, row.unit, lower_bound=bound), (value, 0),
                      xytext=(0, -13 if side == "before" else 7), textcoords="offset points",
                      ha="center", fontsize=7, color=COLORS[side])  # fmt: skip
    if row.promise is not None:
        axes.scatter([row.promise], [0], s=70, marker="D", facecolors="none",
                     edgecolors=COLORS["promise"], zorder=4)  # fmt: skip
    axes.set_ylim(-1.6, 1.2)
    axes.tick_params(axis="x", labelsize=7)
    axes.text(1.01, 0.5, note_text(row.note), transform=axes.transAxes, fontsize=7,
              va="center", linespacing=1.1)  # fmt: skip


def note_text(note: str) -> str:
    """The verdict in at most NOTE_LINES lines of NOTE_CHARS, an ellipsis where it is cut."""
    lines = textwrap.wrap(note, NOTE_CHARS)
    if len(lines) > NOTE_LINES:
        lines = [
            *lines[: NOTE_LINES - 1],
            textwrap.shorten(" ".join(lines[NOTE_LINES - 1 :]), NOTE_CHARS, placeholder=" …"),
        ]
    return "\n".join(lines)


def dumbbell_chart(rows: list[Row], title: str, path: Path) -> Path:
    figure, axes_list = plt.subplots(
        len(rows), 1, figsize=(WIDTH_IN, ROW_HEIGHT_IN * len(rows) + 1.1), squeeze=False
    )
    for axes, row in zip(axes_list[:, 0], rows, strict=True):
        _draw_row(axes, row)
    handles = [
        Line2D([], [], marker="o", linestyle="", color=COLORS["before"], label="before"),
        Line2D([], [], marker="o", linestyle="", color=COLORS["after"], label="after"),
        Line2D([], [], linewidth=6, alpha=0.3, color=COLORS["ci"], label="after, 95% CI"),
        Line2D(
            [],
            [],
            marker="D",
            linestyle="",
            markerfacecolor="none",
            color=COLORS["promise"],
            label="the report's promise",
        ),
        Line2D([], [], marker=">", linestyle="", color="#555555", label="≥ lower bound"),
    ]
    figure.legend(handles=handles, loc="upper center", ncol=5, fontsize=8, frameon=False,
                  bbox_to_anchor=(0.5, 1 - 0.35 / figure.get_figheight()))  # fmt: skip
    figure.suptitle(title, fontsize=11, y=1 - 0.05 / figure.get_figheight(), va="top")
    figure.subplots_adjust(left=0.27, right=0.72, top=1 - 0.75 / figure.get_figheight(),
                           bottom=0.35 / figure.get_figheight(), hspace=0.9)  # fmt: skip
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path
