"""Hosts for tests: network namespaces on a bridge, each with its own address and sshd;
or this machine itself as a host, through an sshd on loopback (`loopback_sshd`).

A bridge in the root namespace holds the controller's address (.1, where locust's master
listens); each host is a namespace with a veth pair onto the bridge, an address of its
own in a private /24, and an sshd (`-D`, our child) with generated host keys that lets
in only a key generated here. Everything is removed on exit: sshd and anything still
running in a namespace are killed, the namespaces and the bridge deleted.

Docker sets the FORWARD policy to DROP and loads br_netfilter, which sends bridged
frames through iptables: one rule lets our bridge forward between its own ports (host to
host), and it is removed with the bridge.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"
LOOPBACK = "127.0.0.1"
SSH_PORT = 2222
PRIVILEGE_SEPARATION_DIR = Path("/run/sshd")
READY_TIMEOUT_S = 15.0
SSHD_CONFIG = """\
ListenAddress {address}:{port}
HostKey {dir}/host_ed25519_key
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
"""


def netns_unavailable() -> str | None:
    """Why namespace hosts cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"`ip netns` is unavailable: {probe.stderr.strip()}"
    if not Path(SSHD).exists():
        return "no sshd (Debian package openssh-server)"
    return None


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@dataclass
class NsHost:
    name: str
    namespace: str
    address: str
    dir: Path
    sshd: subprocess.Popen[bytes] | None = None

    def pids(self) -> list[int]:
        return [int(pid) for pid in run("ip", "netns", "pids", self.namespace).split()]


@dataclass
class NsNetwork:
    """The bridge, the controller's address and the hosts; `key` logs in to each."""

    bridge: str
    controller: str
    subnet: str
    key: Path
    known_hosts: Path
    hosts: dict[str, NsHost] = field(default_factory=dict)

    def inventory_data(self, name: str) -> dict[str, object]:
        host = self.hosts[name]
        return {
            "ssh_hostname": host.address,
            "ssh_port": SSH_PORT,
            "ssh_user": "root",
            "ssh_key": str(self.key),
            "ssh_known_hosts_file": str(self.known_hosts),
        }


@contextmanager
def namespace_hosts(names: list[str], base: Path) -> Iterator[NsNetwork]:
    """Hosts `names` (one namespace and sshd each) on a fresh bridge, removed afterwards."""
    tag = secrets.token_hex(2)
    # 10.213.0.0/16 is ours; a random /24 keeps concurrent runs apart
    octet = int(tag, 16) % 250 + 1
    prefix = f"10.213.{octet}"
    network = NsNetwork(
        bridge=f"cbbr{tag}", controller=f"{prefix}.1", subnet=f"{prefix}.0/24",
        key=base / "id_ed25519", known_hosts=base / "known_hosts",
    )  # fmt: skip
    base.mkdir(parents=True, exist_ok=True)
    try:
        run("ip", "link", "add", network.bridge, "type", "bridge")
        run("ip", "addr", "add", f"{network.controller}/24", "dev", network.bridge)
        run("ip", "link", "set", network.bridge, "up")
        if shutil.which("iptables"):
            run("iptables", "-I", "FORWARD", *_forward_rule(network))
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(network.key))
        for index, name in enumerate(names):
            network.hosts[name] = _add_host(network, name, tag, f"{prefix}.{index + 2}", base)
        for host in network.hosts.values():
            _start_sshd(network, host)
        yield network
    finally:
        _remove(network)


def _add_host(network: NsNetwork, name: str, tag: str, address: str, base: Path) -> NsHost:
    host = NsHost(name, f"cb-{name}-{tag}", address, base / name)
    host.dir.mkdir(parents=True, exist_ok=True)
    outside, inside = f"cb{name[:3]}{tag}a", f"cb{name[:3]}{tag}b"
    run("ip", "netns", "add", host.namespace)
    run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
    run("ip", "link", "set", outside, "master", network.bridge, "up")
    run("ip", "link", "set", inside, "netns", host.namespace)
    inns = ("ip", "netns", "exec", host.namespace)
    run(*inns, "ip", "addr", "add", f"{address}/24", "dev", inside)
    run(*inns, "ip", "link", "set", inside, "up")
    run(*inns, "ip", "link", "set", "lo", "up")
    return host


def _start_sshd(network: NsNetwork, host: NsHost) -> None:
    host.sshd = start_sshd(
        host.dir, host.address, SSH_PORT, network.key, network.known_hosts, host.namespace
    )


def start_sshd(
    directory: Path,
    address: str,
    port: int,
    client_key: Path,
    known_hosts: Path,
    namespace: str | None = None,
) -> subprocess.Popen[bytes]:
    """An sshd (`-D`, our child) on `address:port` (in `namespace`, else in this one)
    with a host key generated in `directory` (added to `known_hosts`) that lets in only
    `client_key`; waited for until it answers."""
    key = directory / "host_ed25519_key"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    shutil.copy(f"{client_key}.pub", directory / "authorized_keys")
    config = directory / "sshd_config"
    config.write_text(SSHD_CONFIG.format(address=address, port=port, dir=directory))
    public = Path(f"{key}.pub").read_text().split()
    with known_hosts.open("a") as known:
        known.write(f"[{address}]:{port} {public[0]} {public[1]}\n")
    PRIVILEGE_SEPARATION_DIR.mkdir(mode=0o755, exist_ok=True)
    inside = ["ip", "netns", "exec", namespace] if namespace else []
    sshd = subprocess.Popen(
        [*inside, SSHD, "-D", "-f", str(config), "-E", str(directory / "sshd.log")],
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        with suppress(OSError), socket.create_connection((address, port), timeout=1):
            return sshd
        if time.monotonic() > deadline or sshd.poll() is not None:
            _stop(sshd)
            where = namespace or "this namespace"
            raise RuntimeError(f"sshd in {where} did not start: see {directory}/sshd.log")
        time.sleep(0.1)


@dataclass
class LoopbackSsh:
    """An sshd on this machine's loopback: a "remote" host that is this machine."""

    address: str
    port: int
    key: Path
    known_hosts: Path
    sshd: subprocess.Popen[bytes]

    def inventory_data(self) -> dict[str, object]:
        return {
            "ssh_hostname": self.address,
            "ssh_port": self.port,
            "ssh_user": "root",
            "ssh_key": str(self.key),
            "ssh_known_hosts_file": str(self.known_hosts),
        }


def sshd_unavailable() -> str | None:
    """Why a loopback sshd cannot be started here (it logs in as root), or None."""
    if os.geteuid() != 0:
        return "the loopback sshd lets root in: run as root"
    if not Path(SSHD).exists():
        return "no sshd (Debian package openssh-server)"
    return None


@contextmanager
def loopback_sshd(base: Path, port: int) -> Iterator[LoopbackSsh]:
    """An sshd on 127.0.0.1:`port` letting root in with a key generated in `base`."""
    base.mkdir(parents=True, exist_ok=True)
    key = base / "id_ed25519"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    known_hosts = base / "known_hosts"
    sshd = start_sshd(base, LOOPBACK, port, key, known_hosts)
    try:
        yield LoopbackSsh(LOOPBACK, port, key, known_hosts, sshd)
    finally:
        _stop(sshd)


def _stop(sshd: subprocess.Popen[bytes]) -> None:
    if sshd.poll() is None:
        sshd.terminate()
        with suppress(subprocess.TimeoutExpired):
            sshd.wait(timeout=10)
    if sshd.poll() is None:
        sshd.kill()
        sshd.wait()


def _remove(network: NsNetwork) -> None:
    """Stop sshd, kill whatever still runs in a namespace, delete namespaces and bridge."""
    for host in network.hosts.values():
        if host.sshd is not None:
            _stop(host.sshd)
        with suppress(subprocess.CalledProcessError):
            for pid in host.pids():
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)
    subprocess.run(["ip", "link", "del", network.bridge], capture_output=True)
    if shutil.which("iptables"):
        subprocess.run(["iptables", "-D", "FORWARD", *_forward_rule(network)], capture_output=True)


def _forward_rule(network: NsNetwork) -> list[str]:
    return ["-i", network.bridge, "-o", network.bridge, "-j", "ACCEPT"]
