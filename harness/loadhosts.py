"""Where locust workers run: this machine, or load hosts of the inventory reached by SSH.

`chrono-bench run --load-hosts lg1,lg2` (or a group name, such as `loadgen`) takes hosts
from inventory.py; each runs locust workers started over SSH with pyinfra's connection
keys of its host data (`ssh_hostname`, `ssh_port`, `ssh_user`, `ssh_key`,
`ssh_known_hosts_file`). A load host needs this project installed where its
`chrono_python` (default: this interpreter's path) and `chrono_checkout` (default: this
repository's path) say: workers import the locustfiles' shared code from there.
"""

from __future__ import annotations

import math
import shlex
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.inventory import Inventory
from harness.runtime.placement import Placement
from harness.topology import host_address

REPO_ROOT = Path(__file__).resolve().parents[1]
SSH_CONNECT_TIMEOUT_S = 10
# Any port: connecting a UDP socket only asks the kernel for a route, sending nothing.
DISCARD_PORT = 9


@dataclass(frozen=True)
class LoadHost:
    """One host that runs locust workers, and how to reach it."""

    name: str
    address: str
    cpus: float = 1
    ssh_port: int = 22
    ssh_user: str | None = None
    ssh_key: str | None = None
    known_hosts_file: str | None = None
    python: str = sys.executable
    workdir: str = str(REPO_ROOT)

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "address": self.address}


def load_host(name: str, address: str, data: Mapping[str, Any], cpus: float) -> LoadHost:
    """A load host from its pyinfra host data."""
    return LoadHost(
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


def select_load_hosts(inventory: Inventory, selection: str) -> tuple[LoadHost, ...]:
    """The hosts named in `selection` (host or group names, separated by commas)."""
    chosen: list[LoadHost] = []
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


def worker_slots(count: int, hosts: Sequence[LoadHost]) -> list[LoadHost | None]:
    """Where each of `count` workers runs: round robin over `hosts` (None: this machine)."""
    if not hosts:
        return [None] * count
    return [hosts[index % len(hosts)] for index in range(count)]


def placement_summary(slots: Sequence[LoadHost | None]) -> dict[str, int]:
    """Workers per host, as results.json records them ("local" for this machine)."""
    summary: dict[str, int] = {}
    for slot in slots:
        name = "local" if slot is None else slot.name
        summary[name] = summary.get(name, 0) + 1
    return summary


def master_address(hosts: Sequence[LoadHost]) -> str:
    """The address of this machine the load hosts reach it at (loopback without any).

    The kernel picks the source address of a route to the first host: connecting a UDP
    socket sends nothing.
    """
    if not hosts:
        return "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((hosts[0].address, DISCARD_PORT))
        except OSError as error:
            raise UserError(
                f"load host '{hosts[0].name}' ({hosts[0].address}) has no route from here: "
                f"{error.strerror}"
            ) from error
        address: str = probe.getsockname()[0]
        return address


def ssh_command(host: LoadHost, argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
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
    command = [
        "ssh", "-tt", "-p", str(host.ssh_port),
        "-o", "BatchMode=yes",
        "-o", f"ConnectTimeout={SSH_CONNECT_TIMEOUT_S}",
        "-o", "LogLevel=ERROR",
    ]  # fmt: skip
    if host.ssh_key:
        command += ["-i", host.ssh_key, "-o", "IdentitiesOnly=yes"]
    if host.known_hosts_file:
        command += ["-o", f"UserKnownHostsFile={host.known_hosts_file}"]
        command += ["-o", "StrictHostKeyChecking=yes"]
    target = host.address if host.ssh_user is None else f"{host.ssh_user}@{host.address}"
    return [*command, target, remote]


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
