"""docs/optimizations.md, written from the catalog and the metrics (never by hand).

    python -m harness.report.optimizations_doc > docs/optimizations.md

tests/catalog/ fails when the file in the repository is not what this writes.
"""

from __future__ import annotations

import sys

from harness import catalog
from harness.metrics import METRICS

HEADER = """# Optimizations and metrics

Generated from `harness/catalog.py` and `harness/metrics.py` by
`python -m harness.report.optimizations_doc > docs/optimizations.md`; do not edit by hand.
The ids are the same in the app's settings (`CHRONO_<ID>=true|false`), the CLI
(`--optimizations`) and results.json.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def optimizations_table() -> list[str]:
    lines = [
        "| id | the report's section | off (the report's current) | on (its fix) "
        "| app switch | switching it touches | measured by | metrics | ladder rank "
        "| runtimes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in catalog.CATALOG:
        runtimes = [r for r in catalog.RUNTIMES if o.id in catalog.measurable_on(r)]
        lines.append(
            f"| `{o.id}` | {_cell(o.section)} | {_cell(o.current)} | {_cell(o.fix)} "
            f"| {f'`{o.env_var}`' if o.env_var else 'none (the harness applies it)'} "
            f"| {', '.join(sorted(o.touches))} | {', '.join(o.scenarios)} "
            f"| {', '.join(f'`{m}`' for m in o.metrics)} | {o.ladder_rank} "
            f"| {', '.join(runtimes)} |"
        )
    return lines


def unavailable_list() -> list[str]:
    return [
        f"- `{runtime}` cannot run `{scenario}`: {reason}."
        for runtime, scenarios in catalog.UNAVAILABLE_SCENARIOS.items()
        for scenario, reason in scenarios.items()
    ]


def metrics_table() -> list[str]:
    lines = [
        "| id | unit | better | definition | the report's current → optimized |",
        "|---|---|---|---|---|",
    ]
    for metric in METRICS.values():
        promise = (
            f"{metric.current} → {metric.optimized} ({metric.improvement})"
            if metric.current is not None
            else "not a row of the report's table"
        )
        lines.append(
            f"| `{metric.id}` | {metric.unit} | {metric.better} | {_cell(metric.definition)} "
            f"| {_cell(promise)} |"
        )
    return lines


def optimizations_doc() -> str:
    parts = [
        HEADER,
        "## Optimizations",
        "",
        *optimizations_table(),
        "",
        f"`chrono-bench run --mode endtoend` compares all off with all on under the id "
        f"`{catalog.ALL}`, measured by {', '.join(catalog.ALL_SCENARIOS)}. The ladder mode "
        "applies them one after another in the order of their rank (the report's "
        "implementation priority).",
        "",
        "Scenarios a runtime cannot run (an optimization measured only by them is not "
        "measured there, and results.json's `environment.not_measured` says why):",
        "",
        *unavailable_list(),
        "",
        "## Metrics",
        "",
        *metrics_table(),
    ]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    sys.stdout.write(optimizations_doc())
