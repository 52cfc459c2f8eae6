"""`chrono-bench deploy`: pyinfra's own command line on deploy/main.py, its progress shown.

The deploy code renders each host's bundle on this machine (deploy/bundle.py), so the
command runs from the repository root, where `deploy` is importable, and passes the
inventory file on as host data for it.

Before pyinfra runs, what it needs is checked, each missing piece one line naming the
command that fixes it: the hosts answer on SSH, and for a host that takes the offline
image set, an engine here to export it from and the images built. Hosts marked
`example` in their data (the report's 8-core machine, a documentation address) are
deployed only when named with --limit.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.budget.inventory import HostSpec, Inventory, load_inventory
from harness.errors import UserError
from harness.paths import REPO_ROOT
from harness.runtime.compose.dockerd import compose_command, engine_answers
from harness.runtime.compose.images import OFFLINE_SPECS, docker_client

DEPLOY_FILE = REPO_ROOT / "deploy" / "main.py"
LOCAL_HOST = "@local"
# A host whose SSH port does not answer within this long is unreachable.
CONNECT_TIMEOUT_S = 5.0
SSH_PORT = 22
EXAMPLE_KEY = "example"
OFFLINE = "offline"


def pyinfra_command(inventory: Path, *, dry: bool, limit: Sequence[str] = ()) -> list[str]:
    """The pyinfra command line for a deploy of `inventory` (all hosts, or `limit`)."""
    pyinfra = Path(sys.executable).parent / "pyinfra"
    command = [str(pyinfra), str(inventory.resolve()), str(DEPLOY_FILE.relative_to(REPO_ROOT))]
    command += ["--yes", "--data", f"chrono_inventory={inventory.resolve()}"]
    for host in limit:
        command += ["--limit", host]
    if dry:
        command.append("--dry")
    return command


def run_deploy(
    inventory: Path, *, dry: bool = False, limit: Sequence[str] = (), capture: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the deploy; pyinfra's output goes to the terminal unless `capture`."""
    hosts = load_inventory(inventory)  # the inventory's own errors, as sentences
    names = hosts.names
    unknown = [host for host in limit if host not in names]
    if unknown:
        raise UserError(f"deploy: no host '{unknown[0]}' in '{inventory}' ({', '.join(names)})")
    limit = deployed_hosts(hosts, limit)
    chosen = [spec for spec in hosts.hosts if spec.name in limit]
    check_reachable(chosen)
    if LOCAL_HOST in limit:
        compose_command()  # `docker compose` for the @local deploy
    if any(spec.data.get("images") == OFFLINE for spec in chosen):
        check_offline_images()
    done = subprocess.run(
        pyinfra_command(inventory, dry=dry, limit=limit),
        cwd=REPO_ROOT,
        text=True,
        capture_output=capture,
        check=False,
    )
    if done.returncode != 0:
        where = "its output above"
        if capture:
            where = " / ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        raise UserError(f"deploy: pyinfra failed (exit {done.returncode}): {where}")
    return done


def deployed_hosts(hosts: Inventory, limit: Sequence[str]) -> list[str]:
    """The hosts a deploy reaches: those named, else every host that is no example."""
    if limit:
        return list(limit)
    chosen = [spec.name for spec in hosts.hosts if not spec.data.get(EXAMPLE_KEY)]
    if not chosen:
        raise UserError(
            f"deploy: every host of {hosts.path} is an example ({', '.join(hosts.names)}): "
            "name the one to deploy with --limit NAME"
        )
    return chosen


def check_offline_images() -> None:
    """An engine answers here, and it holds every image of the offline set."""
    if not engine_answers():
        raise UserError(
            "deploy: no Docker engine answers here to export the offline images from: start "
            "one (as root: `dockerd --storage-driver=vfs &`), then deploy again"
        )
    client = docker_client()
    try:
        tags = {tag for image in client.images.list() for tag in image.tags}
    finally:
        client.close()
    missing = [spec.tag for spec in OFFLINE_SPECS if spec.tag not in tags]
    if missing:
        raise UserError(
            f"deploy: the offline image set is not built here ({', '.join(missing)} missing): "
            "run `chrono-bench images build`"
        )


def check_reachable(hosts: Sequence[HostSpec]) -> None:
    """Every SSH host's port answers, or one line naming the first that does not.

    Checked before pyinfra starts, all at once: pyinfra would report a host it cannot
    connect to among the results of the others, and deploy to them regardless.
    """
    remote = [spec for spec in hosts if not spec.name.startswith("@")]
    if not remote:
        return
    with ThreadPoolExecutor(max_workers=len(remote)) as pool:
        problems = list(pool.map(_unreachable, remote))
    for spec, problem in zip(remote, problems, strict=True):
        if problem is not None:
            raise UserError(f"deploy: host '{spec.name}' is unreachable: {problem}")


def _unreachable(spec: HostSpec) -> str | None:
    """Why `spec`'s SSH port does not answer, or None when it does."""
    address = str(spec.data.get("ssh_hostname") or spec.name)
    port = int(spec.data.get("ssh_port") or SSH_PORT)
    try:
        with socket.create_connection((address, port), timeout=CONNECT_TIMEOUT_S):
            return None
    except TimeoutError:
        return f"no answer from {address}:{port} within {CONNECT_TIMEOUT_S:g} s"
    except OSError as error:
        return f"{address}:{port}: {error.strerror or error}"
