"""The runtimes a run or a held stack can use, what each cannot measure, and starting one.

- `local`: the stack as processes on this host (local/stack.py).
- `compose`: one docker compose project on this host's engine (compose/stack.py), the
  engine started when none answers (compose/dockerd.py), the offline image set built, or
  reused when built, first (compose/images.py); or, with `--host NAME`, on a deployed
  inventory host's engine over SSH (compose/ssh_engine.py).

`running_stack()` starts the chosen stack and stops it however its block ends (the
compose project is downed with its volumes, then the engine stopped if it was started
for it); `chrono-bench run` and `chrono-bench up` both go through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from harness import catalog
from harness.budget.allocation import Budget
from harness.errors import UserError
from harness.progress import status
from harness.results import RuntimeEnvironment
from harness.runtime.placement import Placement
from harness.runtime.target import Target
from harness.runtime.variants import BASELINE, Variant
from harness.upstream.corpus import CorpusConfig
from harness.upstream.profiles import FAST, UpstreamProfile

if TYPE_CHECKING:  # the docker SDK is imported only by runs that use it
    from harness.runtime.compose.engine import EngineLocation
    from harness.runtime.compose.ssh_engine import SshEngine
    from harness.runtime.compose.stack import ComposeStack

RUNTIMES = catalog.RUNTIMES
UNAVAILABLE_SCENARIOS = catalog.UNAVAILABLE_SCENARIOS
# ...and what the compose runtime cannot run on a deployed host's engine
REMOTE_UNAVAILABLE_SCENARIOS: dict[str, str] = {
    "stress": "the stress scenario grows a worker past the budget's host memory, held by a "
    "cgroup on this machine only: on a deployed host it would exhaust that host's real "
    "memory (run it without --host)",
}
ENGINE_LOG = Path(".run/dockerd.log")


def check_runtime(name: str) -> str:
    if name not in RUNTIMES:
        raise UserError(f"unknown runtime '{name}': choose {' or '.join(RUNTIMES)}")
    return name


def unavailable_scenarios(runtime: str, remote: bool = False) -> dict[str, str]:
    """Scenarios the runtime cannot run (on a deployed host's engine when `remote`), and why."""
    unavailable = dict(UNAVAILABLE_SCENARIOS[runtime])
    if remote:
        unavailable.update(REMOTE_UNAVAILABLE_SCENARIOS)
    return unavailable


@dataclass(frozen=True)
class StackSpec:
    """What to start: the runtime, where its files go, the budget, the first variant."""

    runtime: str
    run_dir: Path
    budget: Budget
    placement: Placement
    variant: Variant = BASELINE
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    # How the stand-in behaves (limits, latency, faults) and the time factor of it all
    upstream: UpstreamProfile = FAST
    seed: Callable[[str], object] | None = None
    # dockerd's log, should the compose runtime have to start one
    engine_log: Path = ENGINE_LOG
    # compose: every container under a cgroup holding the budget's host (the stress
    # scenario; harness/runtime/compose/cgroup.py)
    host_cgroup: bool = False
    # compose: a deployed host's engine over SSH (harness/runtime/compose/ssh_engine.py),
    # opened and closed by the caller; None: this machine's
    engine: SshEngine | None = None
    # more environment for the app's processes (the gate's canary; local runtime)
    app_env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunningStack:
    """A started stack, and what results.json's environment records about its runtime."""

    target: Target
    environment: RuntimeEnvironment
    project: str = ""  # the compose project
    engine_pid: int = 0  # a dockerd started for this stack


@contextmanager
def running_stack(spec: StackSpec, console: Console | None = None) -> Iterator[RunningStack]:
    """Start `spec`'s stack (the spinner says what it waits for); stopped on exit."""
    check_runtime(spec.runtime)
    if spec.runtime == "compose":
        with _compose_stack(spec, console) as running:
            yield running
        return
    from harness.runtime.local.stack import LocalStack

    stack = LocalStack(spec.run_dir, spec.budget, placement=spec.placement, variant=spec.variant,
                       corpus=spec.corpus, seed=spec.seed, app_env=spec.app_env,
                       upstream=spec.upstream)  # fmt: skip
    with status(console, "starting the stack (PostgreSQL, Redis, API, workers, Prometheus)"):
        stack.start()
    try:
        yield RunningStack(stack, {})
    finally:
        stack.stop()


def compose_stack(spec: StackSpec, engine: EngineLocation) -> ComposeStack:
    """The compose project `spec` describes on `engine` (not started)."""
    from harness.runtime.compose.stack import ComposeStack

    return ComposeStack(spec.run_dir, spec.budget, placement=spec.placement,
                        variant=spec.variant, corpus=spec.corpus, seed=spec.seed,
                        upstream=spec.upstream, host_cgroup=spec.host_cgroup,
                        engine=engine)  # fmt: skip


@contextmanager
def _compose_stack(spec: StackSpec, console: Console | None) -> Iterator[RunningStack]:
    from harness.runtime.compose.engine import LocalEngine
    from harness.runtime.compose.stack import sweep_abandoned_projects

    with _compose_engine(spec, console) as (engine, images):
        swept = sweep_abandoned_projects(engine)
        if swept and console is not None:
            console.print(f"took down {len(swept)} project(s) left by a harness that died: "
                          f"{', '.join(swept)}", markup=False)  # fmt: skip
        stack = compose_stack(spec, engine)
        with status(console, f"starting the stack: docker compose project {stack.project}"):
            stack.start()
        try:
            environment: RuntimeEnvironment = {
                "engine": {**engine.describe(), "project": stack.project},
                "images": images,
                # the offline set has no Meilisearch image
                "search_backend": stack.search_backend,
            }
            if spec.engine is not None:
                environment["loadgen_note"] = (
                    f"the load reached the API on host '{spec.engine.host.name}' through the "
                    "SSH tunnel from this machine: its latencies include the tunnel's"
                )
            pid = 0
            if isinstance(engine, LocalEngine) and engine.engine and engine.engine.process:
                pid = engine.engine.process.pid
            yield RunningStack(stack, environment, stack.project, pid)
        finally:
            stack.stop()


@contextmanager
def _compose_engine(
    spec: StackSpec, console: Console | None
) -> Iterator[tuple[EngineLocation, dict[str, object]]]:
    """The engine (a host's, opened by the caller, or this machine's, started when none
    answers), and its offline images (built here once, then reused; deployed on a host)."""
    from harness.runtime.compose.dockerd import docker_engine
    from harness.runtime.compose.engine import LocalEngine
    from harness.runtime.compose.images import OFFLINE_SPECS, build_images

    if spec.engine is not None:
        client = spec.engine.client
        yield (
            spec.engine,
            {
                image.tag: {"id": client.images.get(image.tag).short_id, "outcome": "deployed"}
                for image in OFFLINE_SPECS
            },
        )
        return

    with docker_engine(spec.engine_log) as engine:
        with status(console, "the offline image set (built once, then reused)") as update:
            reports = build_images(engine.client, progress=update)
        yield (
            LocalEngine(engine),
            {
                report.tag: {
                    "id": engine.client.images.get(report.tag).short_id,
                    "outcome": report.outcome,
                }
                for report in reports
            },
        )
