"""The compose runtime hands the run's upstream profile to the stand-in and its pacing to
the scraper: checked on the bundle a run would start, without an engine."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.budget.allocation import allocate
from harness.budget.inventory import HostSpec
from harness.render.bundle import render_bundle
from harness.runtime.compose.engine import EngineLocation
from harness.runtime.placement import Placement
from harness.runtime.runtimes import StackSpec, compose_stack
from harness.runtime.variants import BASELINE
from harness.upstream.profiles import UPSTREAM_PROFILES, UpstreamProfile
from scenarios.profiles import corpus_for, get_profile, upstream_for

HOST = HostSpec(name="small", cpus=2, memory_mb=4096)
ORIGINAL_PAUSE_S = 2.0
FIRST_PORT = 30_000


class RenderOnlyEngine(EngineLocation):
    """The engine boundary for a bundle that is rendered, never started."""

    client: Any = None

    def publish_ports(self, names: Sequence[str]) -> dict[str, int]:
        return {name: FIRST_PORT + i for i, name in enumerate(names)}

    def reach(self, port: int) -> int:
        return port

    def command(self, project: str, bundle: Path, *args: str) -> list[str]:
        raise AssertionError("rendering only")

    def sync(self, project: str, bundle: Path) -> None:
        raise AssertionError("rendering only")

    def cancel(self, process: subprocess.Popen[str], project: str) -> None:
        raise AssertionError("rendering only")

    def down(self, project: str, bundle: Path) -> None:
        raise AssertionError("rendering only")

    def nofile_limit(self) -> int:
        return 65_536

    def describe(self) -> dict[str, object]:
        return {"engine": "none"}


def rendered(tmp_path: Path, upstream: UpstreamProfile) -> dict[str, Any]:
    profile = get_profile("quick")
    spec = StackSpec("compose", tmp_path, allocate(HOST), Placement(),
                     corpus=corpus_for(profile), upstream=upstream)  # fmt: skip
    stack = compose_stack(spec, RenderOnlyEngine())
    bundle = tmp_path / "bundle"
    render_bundle(spec.budget, bundle, options=stack.options(BASELINE))
    compose: dict[str, Any] = yaml.safe_load((bundle / "compose.yml").read_text())
    return compose


def stand_in_profile(compose: dict[str, Any]) -> UpstreamProfile:
    """The profile `python -m harness.upstream` builds from the upstream service's env."""
    env = compose["services"]["upstream"]["environment"]
    base = UPSTREAM_PROFILES[env["CHRONO_UPSTREAM_PROFILE"]]
    return base.scaled(float(env["CHRONO_UPSTREAM_TIME_FACTOR"]))


def test_the_stand_in_gets_the_runs_profile_and_the_worker_its_pacing(tmp_path: Path) -> None:
    quick = get_profile("quick")
    upstream = upstream_for(quick)
    compose = rendered(tmp_path, upstream)
    assert stand_in_profile(compose) == upstream
    env = compose["services"]["upstream"]["environment"]
    # the faults as the profile states them, and the corpus the scenario scrapes
    assert float(env["CHRONO_UPSTREAM_RATE_503"]) == upstream.rate_503
    assert float(env["CHRONO_UPSTREAM_RATE_RESET"]) == upstream.rate_reset
    assert float(env["CHRONO_UPSTREAM_RATE_SLOW"]) == upstream.rate_slow
    assert int(env["CHRONO_UPSTREAM_DOMAINS"]) == quick.scrape_domains
    worker = compose["services"]["worker"]["environment"]
    pause_s = float(worker["CHRONO_SCRAPE_BATCH_PAUSE_S"])
    assert pause_s == ORIGINAL_PAUSE_S / quick.scrape_time_factor
    assert worker["CHRONO_WAYBACK_URL"].startswith("http://127.0.0.1:")


def test_a_stack_without_the_runs_profile_renders_another_stand_in(tmp_path: Path) -> None:
    quick = upstream_for(get_profile("quick"))
    compose = rendered(tmp_path, UPSTREAM_PROFILES["fast"])
    assert stand_in_profile(compose) != quick
    pause_s = float(compose["services"]["worker"]["environment"]["CHRONO_SCRAPE_BATCH_PAUSE_S"])
    assert pause_s != ORIGINAL_PAUSE_S / quick.time_factor
