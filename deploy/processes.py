"""The host's services as processes instead of compose (harness/runtime/local/host_processes.py).

For hosts whose data says `runtime: "processes"`: no container engine, the project's own
code (`chrono_checkout`, run by `chrono_python`) runs the uploaded bundle's services, in
a session of their own that outlives the SSH connection. Started once, restarted when
the bundle changes, and the deploy waits until every service is up.
"""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import server
from pyinfra.operations.util import any_changed

from deploy.settings import DeploySettings
from harness.budget.inventory import get_host, load_inventory
from harness.render.topology import host_address

STATE_DIR = "run"
PID_FILE = "host-processes.pid"
READY_FILE = "ready"
READY_WAIT_S = 180
# SIGTERM lets the stand-in stop its services; this long, then they are killed.
STOP_WAIT_S = 60


def _paths(settings: DeploySettings) -> tuple[str, str, str]:
    state = f"{settings.chrono_dir}/{STATE_DIR}"
    return state, f"{state}/{PID_FILE}", f"{state}/{READY_FILE}"


def start_command(settings: DeploySettings, address: str) -> str:
    """Start the stand-in unless it runs; `setsid nohup`: it must outlive this session."""
    state, pid_file, _ = _paths(settings)
    host_processes = " ".join(
        shlex.quote(part)
        for part in (
            settings.chrono_python, "-m", "harness.runtime.local.host_processes",
            "--bundle", settings.bundle_dir, "--address", address, "--state", state,
        )
    )  # fmt: skip
    return (
        f"if [ -f {pid_file} ] && kill -0 $(cat {pid_file}) 2>/dev/null; then exit 0; fi; "
        f"mkdir -p {state} && cd {shlex.quote(settings.chrono_checkout)} && "
        f"{{ setsid nohup {host_processes} > {state}/host-processes.log 2>&1 < /dev/null & "
        f"echo $! > {pid_file}; }}"
    )


def stop_command(settings: DeploySettings) -> str:
    """SIGTERM the stand-in and wait for it to stop its services (then kill the rest)."""
    _, pid_file, _ = _paths(settings)
    return (
        f"if [ -f {pid_file} ]; then pid=$(cat {pid_file}); kill -TERM $pid 2>/dev/null; "
        f"for i in $(seq {STOP_WAIT_S}); do kill -0 $pid 2>/dev/null || break; sleep 1; done; "
        f"kill -KILL -$pid 2>/dev/null; rm -f {pid_file}; fi"
    )


def ready_command(settings: DeploySettings) -> str:
    """Wait until the stand-in says every service is up; fail with its log if it died."""
    state, pid_file, ready = _paths(settings)
    log = f"{state}/host-processes.log"
    return (
        f"for i in $(seq {READY_WAIT_S}); do "
        f"[ -f {ready} ] && exit 0; "
        f"kill -0 $(cat {pid_file}) 2>/dev/null || {{ tail -n 20 {log}; exit 1; }}; "
        f"sleep 1; done; tail -n 20 {log}; exit 1"
    )


@deploy("Chrono services as processes")
def processes_up(changes: list[OperationMeta]) -> None:
    settings = DeploySettings.from_data(host.data)
    spec = get_host(load_inventory(settings.chrono_inventory), host.name)
    if changes:
        server.shell(
            name="Stop the services so that they restart with the new bundle",
            commands=[stop_command(settings)],
            _if=any_changed(*changes),
        )
    server.shell(
        name="Run the bundle's services as processes (instead of compose)",
        commands=[start_command(settings, host_address(spec))],
    )
    server.shell(
        name="Wait until every service of the host is up",
        commands=[ready_command(settings)],
    )


@deploy("Load generator")
def load_generator() -> None:
    """A load host runs locust workers from the project: check that it can."""
    settings = DeploySettings.from_data(host.data)
    server.shell(
        name="Check that locust and the locustfiles import here",
        commands=[
            f"cd {shlex.quote(settings.chrono_checkout)} && "
            f"{shlex.quote(settings.chrono_python)} -c "
            "'import locust, scenarios.locustfiles.common' 2>&1 | tail -n 3"
        ],
    )
