"""The catalog is the one list of optimizations: the app, the CLI, the plan, the variants,
the runtimes and the docs all agree with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.core.config import SWITCHES, Settings
from app.frontend_serve import FrontendSettings
from harness import catalog
from harness.cli import app as cli_app
from harness.metrics import METRICS
from harness.report.optimizations_doc import optimizations_doc
from harness.results import OPTIMIZATIONS
from harness.run.plan import measured_by
from harness.runtime.variants import BASELINE, changes, comparisons, parse_optimizations

DOC = Path(__file__).resolve().parents[2] / "docs" / "optimizations.md"


def test_the_app_reads_every_app_switch_and_no_other() -> None:
    app_fields = {
        name
        for model in (Settings, FrontendSettings)
        for name in model.model_fields
        if name in catalog.BY_ID
    }
    assert app_fields == set(catalog.APP_SWITCHES)
    assert set(SWITCHES) <= set(catalog.APP_SWITCHES)


def test_each_entry_names_known_scenarios_and_metrics() -> None:
    for optimization in catalog.CATALOG:
        assert set(optimization.scenarios) <= set(catalog.SCENARIOS), optimization.id
        assert set(optimization.metrics) <= set(METRICS), optimization.id
    ranks = [o.ladder_rank for o in catalog.CATALOG]
    assert sorted(ranks) == list(range(1, len(ranks) + 1))


@pytest.mark.parametrize("optimization", catalog.CATALOG, ids=lambda o: o.id)
def test_everything_that_lists_optimizations_reads_the_catalog(
    optimization: catalog.Optimization,
) -> None:
    assert optimization.id in OPTIMIZATIONS
    assert measured_by(optimization.id) == optimization.scenarios
    touched = changes(BASELINE, frozenset({optimization.id}))
    # a PostgreSQL restart drops every pooled connection: the app's processes restart too
    restarts_postgres = "postgres" in optimization.touches
    assert touched.api == ("api" in optimization.touches or restarts_postgres)
    assert touched.workers == ("workers" in optimization.touches or restarts_postgres)
    assert touched.indexes == ("indexes" in optimization.touches)
    assert touched.postgres == ("postgres" in optimization.touches)
    for runtime in catalog.RUNTIMES:
        runnable = set(optimization.scenarios) - set(catalog.UNAVAILABLE_SCENARIOS[runtime])
        assert (optimization.id in catalog.measurable_on(runtime)) == bool(runnable)
    assert f"`{optimization.id}`" in DOC.read_text()


def test_ladder_follows_the_ranks() -> None:
    pairs = comparisons("ladder", parse_optimizations("all"))
    assert [pair.optimization for pair in pairs] == [
        o for o in catalog.LADDER_ORDER if o in catalog.measurable_on("local")
    ]


def test_cli_help_offers_the_catalog() -> None:
    result = CliRunner().invoke(cli_app, ["run", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    for optimization_id in catalog.IDS:
        assert optimization_id in result.output


def test_docs_page_is_current() -> None:
    assert DOC.read_text() == optimizations_doc(), (
        "docs/optimizations.md is stale: python -m harness.report.optimizations_doc "
        "> docs/optimizations.md"
    )


def test_a_stale_docs_page_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = catalog.Optimization(
        "gzip_responses", "9. API Endpoint Response Time", "plain", "gzip",
        frozenset({"api"}), ("api",), ("api_p95_ms",), 13,
    )  # fmt: skip
    monkeypatch.setattr(catalog, "CATALOG", (*catalog.CATALOG, extra))
    assert DOC.read_text() != optimizations_doc()
    assert "`gzip_responses`" in optimizations_doc()
