"""Where locust workers run: this machine, or load hosts of the inventory reached by SSH.

`chrono-bench run --load-hosts lg1,lg2` (or a group name, such as `loadgen`) takes hosts
from inventory.py; each runs locust workers started over SSH with pyinfra's connection
keys of its host data (`ssh_hostname`, `ssh_port`, `ssh_user`, `ssh_key`,
`ssh_known_hosts_file`). A load host needs this project installed where its
`chrono_python` (default: this interpreter's path) and `chrono_checkout` (default: this
repository's path) say: workers import the locustfiles' shared code from there.

The workers reach locust's master and the API under test on this machine. Both listen on
loopback unless the run names an address of this machine (`--listen`, else the
`chrono_address` of `@local` in the inventory): without one, load hosts are refused.
Each load host is checked over SSH before anything starts.
"""

from __future__ import annotations

import ipaddress
import math
import shlex
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from harness.budget.inventory import Inventory, get_host
from harness.errors import UserError
from harness.paths import REPO_ROOT
from harness.render.topology import LOCAL_ADDRESS, host_address
from harness.runtime.placement import Placement
from harness.runtime.ssh import SshHost, SshLogin, ssh_options

# The check before a run: connect, then import locust where the workers will.
SSH_CHECK_TIMEOUT_S = 60
SSH_FAILED = 255
LOCAL_HOST = "@local"
LISTEN_HINT = (
    "give --listen ADDRESS (an address of this machine the load hosts reach) or set "
    "chrono_address in @local's host data"
)


def load_host(name: str, address: str, data: Mapping[str, Any], cpus: float) -> SshHost:
    """A load host from its pyinfra host data."""
    return SshHost(
        name=name,
        address=address,
        cpus=cpus,
        ssh_port=int(data.get("ssh_port", 22)),
        ssh_user=data.get("ssh_user"),
        ssh_key=data.get("ssh_key"),
        known_hosts_file=data.get("ssh_known_hosts_file"),
        python=str(data.get("chrono_python", sys.executable)),
        workdir=str(data.get("chrono_checkout", REPO_ROOT)),
    )


def select_load_hosts(inventory: Inventory, selection: str) -> tuple[SshHost, ...]:
    """The hosts named in `selection` (host or group names, separated by commas)."""
    chosen: list[SshHost] = []
    for word in (part.strip() for part in selection.split(",")):
        if not word:
            continue
        matches = [spec for spec in inventory.hosts if word in (spec.name, *spec.groups)]
        if not matches:
            raise UserError(
                f"--load-hosts: no host or group '{word}' in '{inventory.path}' "
                f"(hosts: {', '.join(inventory.names)})"
            )
        for spec in matches:
            if spec.name.startswith("@"):
                raise UserError(
                    f"--load-hosts: '{spec.name}' is this machine: use --load-workers for it"
                )
            if all(host.name != spec.name for host in chosen):
                chosen.append(load_host(spec.name, host_address(spec), spec.data, spec.cpus))
    if not chosen:
        raise UserError("--load-hosts: no host given")
    return tuple(chosen)


def worker_slots(count: int, hosts: Sequence[SshHost]) -> list[SshHost | None]:
    """Where each of `count` workers runs: round robin over `hosts` (None: this machine)."""
    if not hosts:
        return [None] * count
    return [hosts[index % len(hosts)] for index in range(count)]


def placement_summary(slots: Sequence[SshHost | None]) -> dict[str, int]:
    """Workers per host, as results.json records them ("local" for this machine)."""
    summary: dict[str, int] = {}
    for slot in slots:
        name = "local" if slot is None else slot.name
        summary[name] = summary.get(name, 0) + 1
    return summary


def ssh_command(host: SshHost, argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """`argv` run on `host` in its project directory, over SSH with a terminal.

    The terminal (-tt) ties the remote worker to this connection: when the SSH client
    here ends, the worker gets SIGHUP instead of running on unattended.
    """
    remote = " ".join(
        [
            "cd", shlex.quote(host.workdir), "&&", "exec", "env",
            *(shlex.quote(f"{key}={value}") for key, value in env.items()),
            *(shlex.quote(arg) for arg in argv),
        ]
    )  # fmt: skip
    login = SshLogin(host.address, host.ssh_port, host.ssh_user, host.ssh_key,
                     host.known_hosts_file)  # fmt: skip
    return ["ssh", "-tt", *ssh_options(login), login.target, remote]


def load_placement(
    placement: Placement, inventory: Inventory, workers: int, selection: str
) -> Placement:
    """`placement` with the run's locust workers: `workers` of them (default with load
    hosts: one per cpu of each), on the hosts `selection` names or on this machine."""
    if workers < 0:
        raise UserError(f"--load-workers must be 0 (one locust process) or more, not {workers}")
    hosts = select_load_hosts(inventory, selection) if selection else ()
    if hosts and not workers:
        workers = sum(max(1, math.floor(host.cpus)) for host in hosts)
    return replace(placement, load_workers=workers, load_hosts=hosts)


def reach_load_hosts(placement: Placement, inventory: Inventory, listen: str) -> Placement:
    """`placement` listening on `listen` (with load hosts, by default on @local's
    `chrono_address`), which its load hosts must reach; each load host checked over SSH."""
    source = "--listen"
    if not listen and placement.load_hosts:
        source = "@local's chrono_address"
        address = host_address(get_host(inventory, LOCAL_HOST))
        if address == LOCAL_ADDRESS:
            raise UserError(
                "--load-hosts: the API and locust's master listen on loopback only, which "
                f"load hosts cannot reach: {LISTEN_HINT}"
            )
        listen = address
    if not listen:
        return placement
    check_listen(listen, placement.load_hosts, source)
    check_load_hosts(placement.load_hosts)
    return replace(placement, listen=listen)


def check_listen(address: str, hosts: Sequence[SshHost], source: str = "--listen") -> None:
    """`address` is an IPv4 address of this machine that `hosts` can reach."""
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        raise UserError(f"{source}: '{address}' is not an IPv4 address") from None
    if ip.is_unspecified:
        raise UserError(
            f"{source}: {address} would listen on every address: give the one the load "
            "hosts reach this machine at"
        )
    if ip.is_loopback:
        for host in hosts:
            if not _is_loopback(host.address):
                raise UserError(
                    f"{source}: {address} is loopback, which load host '{host.name}' "
                    f"({host.address}) cannot reach: {LISTEN_HINT}"
                )
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError as error:
            raise UserError(
                f"{source}: {address} is not an address of this machine ({error.strerror})"
            ) from None


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def check_load_hosts(hosts: Sequence[SshHost]) -> None:
    """Every load host answers over SSH and imports locust where its workers will run,
    or one line naming the first that does not (checked all at once)."""
    if not hosts:
        return
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        problems = list(pool.map(_load_host_problem, hosts))
    for problem in problems:
        if problem is not None:
            raise UserError(f"--load-hosts: {problem}")


def _load_host_problem(host: SshHost) -> str | None:
    """Why `host` cannot run locust workers, or None."""
    command = ssh_command(host, [host.python, "-c", "import locust"], {})
    try:
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=SSH_CHECK_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"host '{host.name}' ({host.address}) did not answer within {SSH_CHECK_TIMEOUT_S} s"
    if done.returncode == 0:
        return None
    lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    why = lines[-1] if lines else f"exit status {done.returncode}"
    if done.returncode == SSH_FAILED:
        return f"host '{host.name}' is unreachable over SSH: {why}"
    return (
        f"host '{host.name}' cannot start locust workers with {host.python} in "
        f"{host.workdir}: {why}"
    )


def describe_load(placement: Placement) -> dict[str, object]:
    """How the run generated load, for results.json's environment: locust's mode, how
    many workers, and where (workers per host; "local" is this machine)."""
    if not placement.load_workers:
        return {"mode": "single", "workers": 0, "hosts": {"local": 1}}
    slots = worker_slots(placement.load_workers, placement.load_hosts)
    return {
        "mode": "distributed",
        "workers": placement.load_workers,
        "hosts": placement_summary(slots),
        "addresses": {host.name: host.address for host in placement.load_hosts},
    }
