"""How chrono-bench logs in to an inventory host with OpenSSH: pyinfra's host data keys.

The keys are the ones pyinfra's SSH connector reads (`ssh_hostname`, `ssh_port`,
`ssh_user`, `ssh_key`, `ssh_known_hosts_file`, `ssh_strict_host_key_checking`), with its
defaults: a host whose key is unknown is accepted and remembered (`accept-new`), one whose
key changed is refused. Never a password prompt: BatchMode.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.paths import REPO_ROOT

SSH_PORT = 22
CONNECT_TIMEOUT_S = 10
# pyinfra's default for ssh_strict_host_key_checking
STRICT_HOST_KEY_CHECKING = "accept-new"


@dataclass(frozen=True)
class SshLogin:
    """Where and as whom to log in, and how to check the host's key."""

    address: str
    port: int = SSH_PORT
    user: str | None = None
    key: str | None = None
    known_hosts_file: str | None = None
    strict_host_key_checking: str = STRICT_HOST_KEY_CHECKING

    @classmethod
    def from_data(cls, address: str, data: Mapping[str, Any]) -> SshLogin:
        """The login of a host at `address`, from its pyinfra host data."""
        return cls(
            address=address,
            port=int(data.get("ssh_port") or SSH_PORT),
            user=data.get("ssh_user"),
            key=data.get("ssh_key"),
            known_hosts_file=data.get("ssh_known_hosts_file"),
            strict_host_key_checking=str(
                data.get("ssh_strict_host_key_checking") or STRICT_HOST_KEY_CHECKING
            ),
        )

    @property
    def target(self) -> str:
        return self.address if self.user is None else f"{self.user}@{self.address}"


def ssh_options(login: SshLogin) -> list[str]:
    """`ssh` options (without the target) for `login`."""
    options = [
        "-p", str(login.port),
        "-o", "BatchMode=yes",
        "-o", f"ConnectTimeout={CONNECT_TIMEOUT_S}",
        "-o", "LogLevel=ERROR",
        "-o", f"StrictHostKeyChecking={login.strict_host_key_checking}",
    ]  # fmt: skip
    if login.key:
        options += ["-i", login.key, "-o", "IdentitiesOnly=yes"]
    if login.known_hosts_file:
        options += ["-o", f"UserKnownHostsFile={login.known_hosts_file}"]
    return options


@dataclass(frozen=True)
class SshHost:
    """A host of the inventory reached over SSH (load hosts run locust workers there),
    with this project's interpreter and checkout on it."""

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
