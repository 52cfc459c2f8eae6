"""`chrono-bench up` holds a stack in the foreground; `chrono-bench down` ends it.

`up` writes a state file (its pid, the run directory, the endpoints) and waits for
Ctrl-C or SIGTERM; `down` sends SIGTERM to that pid and waits for it to exit. Should the
`up` process have died without cleaning up (SIGKILL), `down` finds the processes it
started by the mark mirakuru puts in their environment and kills them.
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

from harness.errors import UserError
from harness.runtime.signals import exit_on_signals
from harness.runtime.variants import BASELINE

STATE_FILE = Path(".run/up.json")
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
    path.unlink(missing_ok=True)
    return state


def serve_stack(
    *,
    optimizations: str,
    seed: bool,
    pin: bool,
    inventory: Path,
    state_file: Path,
    console: Console,
) -> None:
    """Start a local stack, say where it is, and hold it until signalled; then stop it."""
    from app.seed import BENCH_EMAIL, BENCH_PASSWORD
    from harness.bench import LOCAL_HOST, stack_directory
    from harness.budget import allocate
    from harness.inventory import get_host, load_inventory
    from harness.runtime.local import LocalStack
    from harness.runtime.placement import plan_placement
    from harness.runtime.variants import parse_optimizations
    from scenarios.catalog import corpus_for, seed_for
    from scenarios.profiles import get_profile

    if state_file.exists() and _alive(read_state(state_file).pid):
        raise UserError(f"a stack is already up (see {state_file}): `chrono-bench down` first")
    variant = frozenset(parse_optimizations(optimizations)) if optimizations.strip() else BASELINE
    profile = get_profile("quick")
    budget = allocate(get_host(load_inventory(inventory), LOCAL_HOST))
    stack = LocalStack(
        stack_directory(),
        budget,
        placement=plan_placement(pin),
        variant=variant,
        corpus=corpus_for(profile),
        seed=seed_for(profile) if seed else None,
    )
    with exit_on_signals():
        with console.status("starting the stack"):
            stack.start()
        try:
            with stack.credentials_file.open("a") as credentials:
                credentials.write(
                    f"CHRONO_BENCH_EMAIL={BENCH_EMAIL}\nCHRONO_BENCH_PASSWORD={BENCH_PASSWORD}\n"
                )
            write_state(
                state_file,
                UpState(
                    pid=os.getpid(),
                    run_dir=str(stack.run_dir),
                    api_url=stack.api_url,
                    prometheus_url=stack.prometheus_url,
                    upstream_url=stack.upstream_url,
                    credentials_file=str(stack.credentials_file),
                ),
            )
            console.print(endpoints_table(stack.api_url, stack.prometheus_url, stack.upstream_url))
            console.print(
                f"credentials: {stack.credentials_file}\n"
                f"optimizations on: {', '.join(sorted(variant)) or 'none'}\n"
                "load test: locust -f scenarios/locustfiles/api.py --host "
                f"{stack.api_url}\nstop with Ctrl-C or `chrono-bench down`",
                markup=False,
                soft_wrap=True,
            )
            hold_until_signalled()
        except (KeyboardInterrupt, SystemExit):
            console.print("stopping the stack", markup=False)
        finally:
            stack.stop()
            state_file.unlink(missing_ok=True)
            shutil.rmtree(stack.run_dir, ignore_errors=True)


def endpoints_table(api_url: str, prometheus_url: str, upstream_url: str) -> Table:
    table = Table(title="chrono-bench stack (local)")
    table.add_column("Service")
    table.add_column("Endpoint")
    table.add_row("API", api_url)
    table.add_row("API docs", f"{api_url}/docs")
    table.add_row("Prometheus", prometheus_url)
    table.add_row("Wayback stand-in", upstream_url)
    return table
