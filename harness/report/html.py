"""index.html: one self-contained page (styles inline, images as data URIs, no network)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path

import jinja2

from harness.report.tables import (
    EXPECTED_HEADER,
    INVALID_HEADER,
    SECTION_HEADER,
    expected_cells,
    expected_table,
    invalid_cells,
    optimization_sections,
    section_cells,
)
from harness.report.verification import PARTS_HEADER, PROBES_HEADER, verification_view
from harness.results import Results
from harness.units import MEMORY_UNIT

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>chrono-bench run {{ r.run_id }}</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 1200px; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 4px 8px; text-align: left; font-size: 14px; }
th { background: #eee; }
img { display: block; max-width: 100%; margin: 1em 0; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
</style></head><body>
<h1>chrono-bench run {{ r.run_id }}</h1>
<nav id="toc"><h2>Contents</h2><ul>
<li><a href="#expected">Expected performance improvements</a></li>
{% for s in sections %}<li><a href="#opt-{{ s.optimization }}">{{ s.optimization }}</a></li>
{% endfor %}<li><a href="#plots">Plots</a></li>
<li><a href="#environment">Environment</a></li></ul></nav>

{% macro table(header, rows, id="") %}<table{% if id %} id="{{ id }}"{% endif %}>
<thead><tr>{% for h in header %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in rows %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% endmacro %}

<h2 id="expected">Expected performance improvements: the report vs this run</h2>
<p>Measured columns come from the end-to-end comparison (all optimizations off vs on).
<em>met</em> = improved, and the conservative end of the 95% CI reaches the report's claim.</p>
{{ table(expected_header, expected_rows, "expected-table") }}
{% if left_out %}<ul class="left-out">
{% for line in left_out %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}

{% for s in sections %}<h2 id="opt-{{ s.optimization }}">{{ s.optimization }}
{%- if s.broken %} (broken){% endif %}</h2>
<p>Verification: {{ s.verification }}.</p>
{% if s.parts %}{{ table(parts_header, s.parts) }}{% endif %}
{% if s.probes %}<p>Probes:</p>
{{ table(probes_header, s.probes) }}{% endif %}
{% if s.rows %}{{ table(section_header, s.cells) }}{% endif %}
{% if s.invalid %}<p>Invalid windows ({{ s.invalid|length }}):</p>
{{ table(invalid_header, s.invalid) }}{% else %}<p>Invalid windows: none.</p>{% endif %}
{% endfor %}

<h2 id="plots">Plots</h2>
{% for name, uri in images %}<figure><img src="{{ uri }}" alt="{{ name }}">
<figcaption>{{ name }}</figcaption></figure>
{% endfor %}

<h2 id="environment">Environment</h2>
{{ table(["Item", "Value"], environment, "environment-table") }}
<h3>Budget</h3>
<pre>{{ budget }}</pre>
</body></html>
"""


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _environment(results: Results) -> list[list[str]]:
    host, env = results["host"], results["environment"]
    rows = [
        ["host", f"{host['cpus']} cpus, {host['memory_mb']} {MEMORY_UNIT}, {host['cpu_model']}, "
                 f"{host['os']}"],
        ["runtime / profile / mode",
         f"{results['runtime']} / {results['profile']} / {results['mode']}"],
        ["git commit", results["git"]["commit"] + (" (dirty)" if results["git"]["dirty"] else "")],
        ["started", results["started_at"]],
        ["finished", results["finished_at"] or "unfinished (interrupted or running)"],
    ]  # fmt: skip
    rows += [[f"version: {name}", version] for name, version in sorted(env["versions"].items())]
    rows += [
        [f"loadgen_max_rps: {name}", f"{rps:.0f} req/s"]
        for name, rps in sorted(env["loadgen_max_rps"].items())
    ]
    return rows


def _verification(results: Results, optimization: str) -> dict[str, object]:
    view = verification_view(results, optimization)
    if view is None:
        return {"broken": False, "parts": [], "probes": []}
    return {"broken": view.broken, "parts": view.parts, "probes": view.probes}


def render_html(results: Results, images: list[Path], left_out: Sequence[str] = ()) -> str:
    """index.html; `left_out` as for render_summary."""
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    sections = [
        {
            "optimization": s.optimization,
            "verification": s.verification,
            "rows": s.rows,
            "cells": [section_cells(r) for r in s.rows],
            "invalid": [invalid_cells(i) for i in s.invalid],
            **_verification(results, s.optimization),
        }
        for s in optimization_sections(results)
    ]
    return environment.from_string(TEMPLATE).render(
        r=results,
        sections=sections,
        expected_header=EXPECTED_HEADER,
        expected_rows=[expected_cells(row) for row in expected_table(results)],
        left_out=left_out,
        section_header=SECTION_HEADER,
        parts_header=PARTS_HEADER,
        probes_header=PROBES_HEADER,
        invalid_header=INVALID_HEADER,
        images=[(p.name, _data_uri(p)) for p in images],
        environment=_environment(results),
        budget=json.dumps(results["budget"], indent=2),
    )
