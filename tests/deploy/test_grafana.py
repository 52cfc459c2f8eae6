"""The provisioned Grafana dashboard: valid JSON, the report's panels, and only metrics the
stack really exports (the API's registry, and the Debian exporters scraped live against
the tests' real PostgreSQL and Redis)."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client import REGISTRY

from app.metrics import multiprocess_registry  # importing it registers the API's metrics
from harness.budget.allocation import allocate
from harness.budget.inventory import HostSpec
from harness.render.bundle import RenderOptions, render_bundle, render_grafana
from harness.runtime.local import monitoring
from harness.runtime.local.postgres import PostgresServer
from harness.runtime.local.redis import RedisServer
from harness.runtime.placement import Placement
from harness.runtime.ports import free_port

HOST = HostSpec(name="chrono-8c16g", cpus=8, memory_mb=16384)
DASHBOARD = "grafana/dashboards/chrono.json"
# The report's "Monitoring Dashboard" list, each a word its panel's title must contain.
REPORT_ITEMS = ("Request rate", "latency", "pool", "Celery queue", "Memory", "Cache hit",
                "WebSocket", "Indexing", "Error")  # fmt: skip
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                "or", "unless", "offset"}  # fmt: skip
SAMPLE_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # label values
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if not following.startswith("(") and match.group() not in PROMQL_WORDS:
            names.add(match.group())
    return names


def api_metric_names() -> set[str]:
    """The API's metrics, and what its multiprocess registry adds (its processes' memory)."""
    names = set()
    with tempfile.TemporaryDirectory() as empty:
        families = [*REGISTRY.collect(), *multiprocess_registry(empty).collect()]
    for family in families:
        if family.name.startswith("chrono_"):
            names.add(family.name)
            names.update(family.name + suffix for suffix in SAMPLE_SUFFIXES)
    return names


def scraped_names(url: str) -> set[str]:
    text = httpx.get(url, timeout=10).text
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1].isalpha()}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, object]:
    files = render_grafana(allocate(HOST))
    loaded: dict[str, object] = json.loads(files[DASHBOARD])
    return loaded


@pytest.fixture(scope="module")
def exporter_names(pg_server: PostgresServer, redis_server: RedisServer) -> Iterator[set[str]]:
    """Metric names the Debian exporters really export for a real PostgreSQL and Redis."""
    base = Path(tempfile.mkdtemp(prefix="chrono-test-exporters-"))
    ports = {"pg": free_port(), "redis": free_port()}
    services = [
        monitoring.postgres_exporter(
            base, ports["pg"], pg_server.dsn(superuser=True) + "&sslmode=disable", Placement()
        ),
        monitoring.redis_exporter(
            base, "redis", ports["redis"], redis_port=redis_server.port,
            password=redis_server.password, placement=Placement(), queue_db=0,
        ),
    ]  # fmt: skip
    for service in services:
        service.start()
    try:
        redis_server.client().lpush("celery", "a queued task")  # a queue with a length
        yield scraped_names(f"http://127.0.0.1:{ports['pg']}/metrics") | scraped_names(
            f"http://127.0.0.1:{ports['redis']}/metrics"
        )
    finally:
        for service in services:
            service.stop()


def _queries(dashboard: dict[str, object]) -> list[str]:
    panels = dashboard["panels"]
    assert isinstance(panels, list)
    return [target["expr"] for panel in panels for target in panel["targets"]]


def test_dashboard_covers_the_reports_list(dashboard: dict[str, object]) -> None:
    panels = dashboard["panels"]
    assert isinstance(panels, list)
    titles = " | ".join(panel["title"] for panel in panels)
    for item in REPORT_ITEMS:
        assert item.lower() in titles.lower(), item
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert panel["datasource"]["uid"] == "chrono-prometheus"
        assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"])


def test_every_query_names_an_exported_metric(
    dashboard: dict[str, object], exporter_names: set[str]
) -> None:
    exported = api_metric_names() | exporter_names
    for expr in _queries(dashboard):
        names = metric_names(expr)
        assert names, expr
        missing = names - exported
        assert not missing, f"{sorted(missing)} in {expr!r} is exported by nothing"


def test_metric_names_parser() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le) (rate(chrono_x_bucket{job="api",'
        'status=~"5.."}[5m]))) / on (job) sum(up)'
    )
    assert metric_names(expr) == {"chrono_x_bucket", "up"}


def test_bundle_provisions_grafana_only_when_asked(tmp_path: Path) -> None:
    budget = allocate(HOST)
    plain = yaml.safe_load((render_bundle(budget, tmp_path / "a") / "compose.yml").read_text())
    assert "grafana" not in plain["services"]
    bundle = render_bundle(budget, tmp_path / "b", options=RenderOptions(grafana=True))
    compose = yaml.safe_load((bundle / "compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    assert grafana["depends_on"] == {"prometheus": {"condition": "service_healthy"}}
    assert grafana["healthcheck"]["test"]
    datasource = yaml.safe_load(
        (bundle / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    assert json.loads((bundle / DASHBOARD).read_text())["uid"] == "chrono-bench"
