"""summary.md: the report's expected-improvements table beside the measurements, then one
section per optimization."""

from __future__ import annotations

from collections.abc import Sequence

from harness.report.tables import (
    EXPECTED_HEADER,
    INVALID_HEADER,
    SECTION_HEADER,
    ceiling_of,
    expected_cells,
    expected_table,
    invalid_cells,
    optimization_sections,
    section_cells,
)
from harness.report.verification import PARTS_HEADER, PROBES_HEADER, verification_view
from harness.results import Results
from harness.units import MEMORY_UNIT


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table's lines; | in a cell is escaped."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), "|" + "---|" * len(header), *(line(r) for r in rows)]


def left_out_lines(results: Results) -> list[str]:
    """What a run left unmeasured, one line per reason with its optimizations (the demo's
    isolate run: those it measures end to end only, and how to measure them alone)."""
    by_reason: dict[str, list[str]] = {}
    for optimization, why in results["environment"].get("not_measured", {}).items():
        by_reason.setdefault(why, []).append(optimization)
    return [
        f"not measured in this {results['mode']} run: {', '.join(names)}: {why}"
        for why, names in by_reason.items()
    ]


def render_summary(results: Results, left_out: Sequence[str] = ()) -> str:
    """summary.md; `left_out`: what the runs behind it did not measure (left_out_lines)."""
    lines = [
        f"# chrono-bench run {results['run_id']}",
        "",
        f"Mode `{results['mode']}`, profile `{results['profile']}`, runtime "
        f"`{results['runtime']}`, commit `{results['git']['commit'][:12]}`"
        + (" (dirty)" if results["git"]["dirty"] else "")
        + f", {results['host']['cpus']} cpus / {results['host']['memory_mb']} {MEMORY_UNIT}.",
        "",
        "## Expected performance improvements: the report vs this run",
        "",
        "Measured columns come from the end-to-end comparison (all optimizations off vs "
        "on). *met* = improved, and the conservative end of the 95% CI reaches the "
        "report's claim.",
        "",
        *markdown_table(EXPECTED_HEADER, [expected_cells(r) for r in expected_table(results)]),
        *_upstream_note(results),
        *(["", *(f"- {line}" for line in left_out)] if left_out else []),
    ]
    for section in optimization_sections(results):
        view = verification_view(results, section.optimization)
        title = section.optimization + (" (broken)" if view is not None and view.broken else "")
        lines += ["", f"## {title}", "", f"Verification: {section.verification}."]
        if view is not None and view.parts:
            lines += ["", *markdown_table(PARTS_HEADER, view.parts)]
        if view is not None and view.probes:
            lines += ["", "Probes:", "", *markdown_table(PROBES_HEADER, view.probes)]
        if section.rows:
            lines += ["", *markdown_table(SECTION_HEADER, [section_cells(r) for r in section.rows])]
        if section.invalid:
            lines += ["", f"Invalid windows ({len(section.invalid)}):", ""]
            lines += markdown_table(INVALID_HEADER, [invalid_cells(s) for s in section.invalid])
        else:
            lines += ["", "Invalid windows: none."]
    return "\n".join(lines) + "\n"


def _upstream_note(results: Results) -> list[str]:
    """How the scrape scenario's upstream behaved, and what its pages/min rows mean."""
    upstream = results["environment"].get("upstream")
    if not upstream:
        return []
    factor = float(str(upstream["time_factor"]))
    lines = [
        "",
        f"Scraping ran against the stand-in's `{upstream['profile']}` upstream profile at "
        f"time factor {factor:g}: every latency, rate-limit window, block and pause "
        f"(the scraper's 2 s between batches too) divided by {factor:g}, every count kept. "
        "`scrape_pages_per_min` is as measured; `scrape_pages_per_min_real` is it divided "
        "by the factor.",
    ]
    ceiling = upstream.get("polite_ceiling_pages_per_min")
    if ceiling is not None:
        real = float(str(upstream["polite_ceiling_pages_per_min_real"]))
        lines[-1] += (
            f" A polite scraper of its {upstream['scrape_domains']} domains gets at most "
            f"{float(str(ceiling)):.0f} pages/min here ({real:.0f} in real time): batches of "
            "10, the pause, the batch's slowest capture (latency, slow bodies, one retry "
            "after a fault), the memento limit."
        )
        lines += _ceiling_shares(results)
    return lines


def _ceiling_shares(results: Results) -> list[str]:
    """Each scraping comparison's medians as a share of the polite ceiling (total, or
    of one domain for the per-domain rate)."""
    rows = []
    for row in results["summary"]:
        limit = ceiling_of(results, row["metric"])
        if limit is None:
            continue
        before, after = row["before_median"], row["after_median"]
        rows.append([
            row["optimization"],
            row["metric"],
            f"{limit:.0f}",
            "-" if before is None else f"{before / limit:.0%}",
            "-" if after is None else f"{after / limit:.0%}",
        ])  # fmt: skip
    if not rows:
        return []
    header = ["optimization", "metric", "polite ceiling", "before", "after"]
    return ["", "Share of the polite ceiling reached:", "", *markdown_table(header, rows)]
