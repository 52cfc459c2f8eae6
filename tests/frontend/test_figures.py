"""The frontend scenario's figures are the browser's own, and they see what was sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

from app.frontend_serve import FRONTEND_DIR
from harness.runtime.placement import Placement
from scenarios.frontend import PROJECTS_PATH, FrontendScenario, PageLoad, log_in, measure_loads
from scenarios.profiles import PROFILES

QUICK = {"quiet_window_ms": 500, "network": None}
# Resource Timing and the DevTools protocol count headers slightly differently.
SOURCES_AGREE_WITHIN = 0.05


def static_requests(load: PageLoad, build: str) -> list[tuple[dict, Path]]:
    """The load's requests for files of the build, with each file's path on disk."""
    pairs = []
    for request in load.requests:
        path = urlparse(request["url"]).path
        on_disk = FRONTEND_DIR / f"build-{build}" / path.lstrip("/")
        if path.endswith((".js", ".css")) and on_disk.is_file():
            pairs.append((request, on_disk))
    return pairs


@pytest.fixture(scope="module")
def loads(serve_build) -> dict[str, PageLoad]:
    token = log_in(serve_build("eager"))
    return {
        build: measure_loads(f"{serve_build(build)}{PROJECTS_PATH}", token=token, **QUICK)[0]
        for build in ("eager", "split")
    }


def test_split_assets_arrive_compressed_and_are_counted_as_sent(loads):
    pairs = static_requests(loads["split"], "split")
    assert pairs
    for request, on_disk in pairs:
        brotli = on_disk.with_name(on_disk.name + ".br")
        if brotli.is_file():
            assert request["encoding"] == "br", request["url"]
            # On the wire: the brotli body plus headers, well under the file itself.
            assert brotli.stat().st_size <= request["bytes"] < on_disk.stat().st_size
        else:
            assert request["encoding"] is None


def test_eager_bundle_arrives_as_it_is(loads):
    pairs = static_requests(loads["eager"], "eager")
    assert [on_disk.name for _, on_disk in pairs if on_disk.suffix == ".js"] == ["app.js"]
    for request, on_disk in pairs:
        assert request["encoding"] is None
        assert request["bytes"] >= on_disk.stat().st_size


@pytest.mark.parametrize("build", ["eager", "split"])
def test_the_two_browser_sources_of_bytes_agree(loads, build):
    load = loads[build]
    assert load.bytes_before_tti > 0
    difference = abs(load.bytes_before_tti - load.bytes_before_tti_resource_timing)
    assert difference <= SOURCES_AGREE_WITHIN * load.bytes_before_tti


@pytest.mark.parametrize("build", ["eager", "split"])
def test_times_follow_the_page_lifecycle(loads, build):
    load = loads[build]
    assert load.fcp_ms is not None and load.ready_ms is not None and load.lcp_ms is not None
    assert 0 < load.fcp_ms <= load.ready_ms <= load.tti_ms


def test_split_build_sends_fewer_bytes_before_interactive(loads):
    assert loads["split"].bytes_before_tti < loads["eager"].bytes_before_tti


@dataclass
class StandInTarget:
    """What the scenario asks of a stack: where the API is, and the variant it runs."""

    api_url: str
    variant: frozenset[str]
    placement: Placement = field(default_factory=Placement)


@pytest.mark.parametrize(
    ("build", "variant", "valid"),
    [
        ("split", frozenset({"frontend_split"}), True),
        ("eager", frozenset(), True),
        ("eager", frozenset({"frontend_split"}), False),
    ],
)
def test_scenario_measures_the_build_the_variant_asks_for(
    serve_build, tmp_path, build, variant, valid
):
    target = StandInTarget(serve_build(build), variant)
    scenario = FrontendScenario(**QUICK)
    profile = PROFILES["quick"]

    scenario.prepare(target, profile)
    record = scenario.run(target, profile, tmp_path)
    measurements = {m.metric: m for m in scenario.collect(target, record)}

    assert set(measurements) == set(scenario.metrics)
    assert all(m.valid == valid for m in measurements.values())
    load: PageLoad = record.data["load"]
    assert measurements["frontend_initial_kb"].value == load.bytes_before_tti / 1000
    assert measurements["tti_ms"].value == load.tti_ms
