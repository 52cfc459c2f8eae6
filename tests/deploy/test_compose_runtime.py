"""The compose runtime on this machine's engine with the offline images: up and healthy,
a variant recreates only the services it changes, container memory and OOM kills through
the Docker SDK, the resource_limits stress measurement before and after, and `down`
leaving nothing of the project."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest

from app.seed import seed
from harness.budget.allocation import allocate
from harness.budget.inventory import HostSpec
from harness.results import Sample, Side
from harness.runtime.compose.cgroup import CGROUP_ROOT
from harness.runtime.compose.stack import PROJECT_LABEL, ComposeStack
from harness.runtime.sequence import VERSION_KEYS
from harness.runtime.variants import Variant
from scenarios.profiles import get_profile
from scenarios.stress import (
    AFTER,
    BEFORE,
    MAX_ERROR_RATE,
    P95_SLO_MS,
    StressScenario,
    to_samples,
)

# a first build of the offline images (in the fixture) takes minutes
pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.timeout(1800)]
# This machine's cores; the smallest memory the stack runs in, which its host cgroup
# holds: the stress hog outgrows it without needing much of this machine's memory.
HOST = HostSpec(name="@local", cpus=len(os.sched_getaffinity(0)), memory_mb=4096, shares="local")
START = BEFORE - {"redis_cache"}
# CPU use is sampled from the engine's counters over a window: allow for rounding.
CPU_TOLERANCE = 1.15


@pytest.fixture(scope="module")
def stack(
    offline_images: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeStack]:
    run_dir = tmp_path_factory.mktemp("compose-runtime")
    stack = ComposeStack(
        run_dir,
        allocate(HOST),
        variant=START,
        seed=lambda dsn: seed(dsn, "quick"),
        host_cgroup=True,
    )
    with stack:
        yield stack
    assert list(CGROUP_ROOT.glob(f"*/{stack.project}")) == []
    label = {"label": f"{PROJECT_LABEL}={stack.project}"}
    client = docker.from_env()
    assert client.containers.list(all=True, filters=label) == []
    assert client.networks.list(filters=label) == []
    assert client.volumes.list(filters=label) == []


def _ids(stack: ComposeStack) -> dict[str, str]:
    return {name: stack.container(name).id for name in stack.services() if name != "migrate"}


def stand_in_status(stack: ComposeStack) -> str:
    """The stand-in's health as the worker sees it, on the worker's own loopback."""
    probe = stack.container("worker").exec_run(
        [
            "python",
            "-c",
            "import urllib.request as u; print(u.urlopen("
            f"'{stack.upstream_url}/_admin/health', timeout=5).status)",
        ]
    )
    return probe.output.decode().strip()


def test_stack_is_up_with_postgres_search_and_the_stand_in(stack: ComposeStack) -> None:
    health = httpx.get(f"{stack.api_url}/health", timeout=10)
    assert health.status_code == 200, health.text
    assert health.json()["search_backend"] == "postgres"
    assert stand_in_status(stack) == "200"
    assert stack.api_pids() and stack.worker_pids()
    assert stack.memory_mb("api") > 0
    assert stack.memory_limit_mb("api") is None  # resource_limits off in this variant
    assert set(stack.versions()) == set(VERSION_KEYS)


def test_a_variant_recreates_only_the_services_it_changes(stack: ComposeStack) -> None:
    before = _ids(stack)
    stack.apply(BEFORE)  # redis_cache on: the API's and the workers' environment
    after = _ids(stack)
    recreated = sorted(name for name in before if before[name] != after[name])
    assert recreated == ["api", "upstream", "worker"]  # the stand-in shares the worker's netns
    assert httpx.get(f"{stack.api_url}/health", timeout=10).json()["switches"]["redis_cache"]
    assert stand_in_status(stack) == "200"


def test_resource_limits_keep_the_api_within_its_slo(stack: ComposeStack) -> None:
    profile = get_profile("quick")
    budget = allocate(HOST)
    scenario = StressScenario(
        int(HOST.cpus), budget["worker"].memory_mb, host_memory_mb=HOST.memory_mb
    )
    out_dir = stack.run_dir / "stress"
    stack.apply(BEFORE)
    scenario.prepare(stack, profile)
    samples: list[Sample] = []
    measured: dict[str, dict[str, float]] = {}
    sides: tuple[tuple[Side, Variant], ...] = (("before", BEFORE), ("after", AFTER))
    for side, variant in sides:
        stack.apply(variant)
        scenario.warm_up(stack, profile, out_dir / side)
        record = scenario.run(stack, profile, out_dir / side)
        measurements = scenario.collect(stack, record)
        samples += to_samples(side, 0, record, measurements)
        measured[side] = {m.metric: m.value for m in measurements}
        measured[side]["oom_kills"] = sum(record.data["oom_kills"].values())
        measured[side] |= {f"{k}_oom_killed": v for k, v in record.data["oom_killed"].items()}
        measured[side] |= {f"{k}_cpus": v for k, v in record.data["cpus_used"].items()}
    print(json.dumps({"samples": samples, "by_side": measured}, indent=1))
    assert stack.memory_limit_mb("worker") == budget["worker"].memory_mb
    before, after = measured["before"], measured["after"]
    assert after["api_error_rate"] < MAX_ERROR_RATE
    assert after["api_p95_ms"] < P95_SLO_MS
    # without limits the runaway worker grows past its budget until the host cgroup's
    # OOM killer stops it; with them it is held to its cpus and killed in its own
    # container past its memory. Measured here: in neither variant does the kernel take
    # another service's process (it kills the biggest, the runaway), so the API holds.
    worker = budget["worker"]
    assert before["worker_memory_mb"] > worker.memory_mb, before
    assert after["worker_cpus"] < CPU_TOLERANCE * worker.cpus, after
    assert after["worker_oom_killed"] >= 1, after
    for side in (before, after):
        assert {key for key in side if key.endswith("_oom_killed")} <= {"worker_oom_killed"}
    (Path(stack.run_dir) / "stress-samples.json").write_text(json.dumps(samples, indent=1))
