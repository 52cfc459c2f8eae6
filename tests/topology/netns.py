"""Hosts for tests: network namespaces on a bridge, each with its own address and sshd.

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
        PRIVILEGE_SEPARATION_DIR.mkdir(mode=0o755, exist_ok=True)
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
    key = host.dir / "host_ed25519_key"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    shutil.copy(f"{network.key}.pub", host.dir / "authorized_keys")
    config = host.dir / "sshd_config"
    config.write_text(SSHD_CONFIG.format(address=host.address, port=SSH_PORT, dir=host.dir))
    public = Path(f"{key}.pub").read_text().split()
    with network.known_hosts.open("a") as known:
        known.write(f"[{host.address}]:{SSH_PORT} {public[0]} {public[1]}\n")
    host.sshd = subprocess.Popen(
        ["ip", "netns", "exec", host.namespace, SSHD, "-D", "-f", str(config),
         "-E", str(host.dir / "sshd.log")],
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        with suppress(OSError), socket.create_connection((host.address, SSH_PORT), timeout=1):
            return
        if time.monotonic() > deadline or host.sshd.poll() is not None:
            raise RuntimeError(f"sshd in {host.namespace} did not start: see {host.dir}/sshd.log")
        time.sleep(0.1)


def _remove(network: NsNetwork) -> None:
    """Stop sshd, kill whatever still runs in a namespace, delete namespaces and bridge."""
    for host in network.hosts.values():
        if host.sshd is not None and host.sshd.poll() is None:
            host.sshd.terminate()
            with suppress(subprocess.TimeoutExpired):
                host.sshd.wait(timeout=10)
            if host.sshd.poll() is None:
                host.sshd.kill()
                host.sshd.wait()
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
