"""`chrono-bench up` holds a stack in the foreground; `chrono-bench down` ends it.

`up` starts the stack on its runtime (harness/runtime/runtimes.py), writes a state file
(its pid, the run directory, the endpoints, the compose project) and waits for Ctrl-C or
SIGTERM; `down` sends SIGTERM to that pid and waits for it to exit. Should the `up`
process have died without cleaning up (SIGKILL), `down` finds the processes it started
by the mark mirakuru puts in their environment and kills them, or downs its compose
project and stops the engine it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from mirakuru.base import ENV_UUID
from mirakuru.base_env import processes_with_env
from rich.console import Console
from rich.table import Table

from app.seed import BENCH_EMAIL, BENCH_PASSWORD
from harness import catalog
from harness.budget.allocation import allocate
from harness.budget.inventory import get_host, load_inventory
from harness.errors import UserError
from harness.run.session import LOCAL_HOST, stack_directory
from harness.runtime.compose.dockerd import compose_command, engine_answers, stop_dockerd
from harness.runtime.compose.project import DOWN_ARGS, compose_down, project_command
from harness.runtime.compose.stack import BUNDLE_DIR
from harness.runtime.placement import Placement, plan_placement
from harness.runtime.runtimes import RunningStack, StackSpec, check_runtime, running_stack
from harness.runtime.signals import exit_on_signals
from harness.runtime.target import Target
from harness.runtime.variants import BASELINE, NONE, parse_optimizations
from scenarios.profiles import get_profile
from scenarios.registry import corpus_for, seed_for, upstream_for

STATE_FILE = Path(".run/up.json")
CREDENTIALS_FILE = "credentials.env"
DOWN_TIMEOUT_S = 90.0
POLL_INTERVAL_S = 0.2


@dataclass(frozen=True)
class UpState:
    pid: int
    run_dir: str
    api_url: str
    prometheus_url: str
    upstream_url: str
    credentials_file: str
    runtime: str = "local"
    project: str = ""  # the compose project
    engine_pid: int = 0  # a dockerd `up` started


def write_state(path: Path, state: UpState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(state), indent=2) + "\n")


def read_state(path: Path) -> UpState:
    try:
        return UpState(**json.loads(path.read_text()))
    except FileNotFoundError:
        raise UserError(f"no stack is up: {path} does not exist") from None
    except (json.JSONDecodeError, TypeError) as error:
        raise UserError(f"{path} is not a state file written by `chrono-bench up`") from error


def hold_until_signalled(stop: threading.Event | None = None) -> None:
    """Block until Ctrl-C (KeyboardInterrupt), SIGTERM or SIGHUP (SystemExit), or `stop`."""
    stop = stop or threading.Event()
    with exit_on_signals():
        while not stop.wait(1.0):
            pass


def leftovers(pid: int, run_dir: Path | None = None) -> list[psutil.Process]:
    """Processes a (dead) harness with this pid started: by mirakuru's environment mark,
    or, for servers that rewrite their environment with their title (Redis), by a
    working directory inside the stack's run directory."""
    found = {}
    for child in processes_with_env(ENV_UUID, f"{pid}:"):
        with contextlib.suppress(psutil.NoSuchProcess):
            found[child] = psutil.Process(child)
    if run_dir is not None:
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if Path(process.cwd()).is_relative_to(run_dir) and process.pid != os.getpid():
                    found[process.pid] = process
    return list(found.values())


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def bring_down(path: Path = STATE_FILE, timeout_s: float = DOWN_TIMEOUT_S) -> UpState:
    """Stop the stack `up` holds; returns what it was. Cleans up after a killed `up`."""
    state = read_state(path)
    killed = not _alive(state.pid)  # `up` ended without cleaning up after itself
    with contextlib.suppress(ProcessLookupError):
        os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(state.pid):
        if time.monotonic() > deadline:
            raise UserError(
                f"`chrono-bench up` (pid {state.pid}) did not stop within {timeout_s:g} s"
            )
        time.sleep(POLL_INTERVAL_S)
    orphans = leftovers(state.pid, Path(state.run_dir))
    for process in orphans:
        # One may end on its own between the search and the kill.
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(orphans, timeout=10)
    if killed and state.project:
        _down_compose_leftovers(state)
    if killed:
        shutil.rmtree(state.run_dir, ignore_errors=True)
    path.unlink(missing_ok=True)
    return state


def _down_compose_leftovers(state: UpState) -> None:
    """The compose project a killed `up` left, and the engine it started for it."""

    if engine_answers():
        bundle = Path(state.run_dir) / BUNDLE_DIR
        compose_down(
            project_command(compose_command(), state.project, bundle, *DOWN_ARGS), state.project
        )
    if state.engine_pid and _alive(state.engine_pid):
        stop_dockerd(state.engine_pid)


def serve_stack(
    *,
    optimizations: str,
    seed: bool,
    pin: bool,
    runtime: str,
    inventory: Path,
    state_file: Path,
    console: Console,
) -> None:
    """Start a stack on `runtime`, say where it is, and hold it until signalled; then
    stop it."""

    check_runtime(runtime)
    if state_file.exists() and _alive(read_state(state_file).pid):
        raise UserError(f"a stack is already up (see {state_file}): `chrono-bench down` first")
    switches = catalog.measurable_on(runtime)
    none = optimizations.strip() in ("", NONE)
    chosen = [] if none else parse_optimizations(optimizations, switches)
    variant = frozenset(chosen) or BASELINE
    profile = get_profile("quick")
    run_dir = stack_directory()
    spec = StackSpec(
        runtime,
        run_dir,
        allocate(get_host(load_inventory(inventory), LOCAL_HOST)),
        # containers are placed by the engine's cgroups, not pinned
        plan_placement(pin) if runtime == "local" else Placement(),
        variant=variant,
        corpus=corpus_for(profile),
        upstream=upstream_for(profile),
        seed=seed_for(profile) if seed else None,
    )
    with exit_on_signals():
        try:
            with running_stack(spec, console) as running:
                _hold(running, run_dir, variant, state_file, console)
        finally:
            state_file.unlink(missing_ok=True)
            shutil.rmtree(run_dir, ignore_errors=True)


def _hold(
    running: RunningStack, run_dir: Path, variant: frozenset[str], state_file: Path,
    console: Console,
) -> None:  # fmt: skip
    """Say where the stack is and wait for Ctrl-C, SIGTERM or `down`."""
    stack = running.target
    credentials = write_credentials(run_dir / CREDENTIALS_FILE, stack)
    state = UpState(
        pid=os.getpid(), run_dir=str(run_dir), api_url=stack.api_url,
        prometheus_url=stack.prometheus_url, upstream_url=stack.upstream_url,
        credentials_file=str(credentials), runtime=stack.runtime, project=running.project,
        engine_pid=running.engine_pid,
    )  # fmt: skip
    write_state(state_file, state)
    try:
        console.print(endpoints_table(state))
        console.print(
            f"credentials: {credentials}\n"
            f"optimizations on: {', '.join(sorted(variant)) or 'none'}\n"
            "load test: locust -f scenarios/locustfiles/api.py --host "
            f"{stack.api_url}\nstop with Ctrl-C or `chrono-bench down`",
            markup=False,
            soft_wrap=True,
        )
        hold_until_signalled()
    except (KeyboardInterrupt, SystemExit):
        console.print("stopping the stack", markup=False)


def write_credentials(path: Path, stack: Target) -> Path:
    """The endpoints and secrets a person needs to use the stack, readable by root only."""

    lines = {
        "CHRONO_API_URL": stack.api_url,
        "CHRONO_PROMETHEUS_URL": stack.prometheus_url,
        "CHRONO_DATABASE_URL": stack.database_url,
        "CHRONO_REDIS_CACHE_URL": stack.cache_url(),
        "CHRONO_REDIS_BROKER_URL": stack.broker_url(),
        "CHRONO_POSTGRES_SUPERUSER_URL": stack.superuser_dsn(),
        "CHRONO_BENCH_EMAIL": BENCH_EMAIL,
        "CHRONO_BENCH_PASSWORD": BENCH_PASSWORD,
    }
    if stack.runtime == "local":  # compose's stand-in is reachable from the worker only
        lines["CHRONO_WAYBACK_URL"] = stack.upstream_url
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("".join(f"{key}={value}\n" for key, value in lines.items()))
    return path


def endpoints_table(state: UpState) -> Table:
    table = Table(title=f"chrono-bench stack ({state.runtime})")
    table.add_column("Service")
    table.add_column("Endpoint")
    table.add_row("API", state.api_url)
    table.add_row("API docs", f"{state.api_url}/docs")
    table.add_row("Prometheus", state.prometheus_url)
    if state.project:
        table.add_row("Wayback stand-in", f"{state.upstream_url} in the worker's network")
        table.add_row("compose project", state.project)
    else:
        table.add_row("Wayback stand-in", state.upstream_url)
    return table
