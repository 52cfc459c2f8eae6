"""Where the system under test and the load generator run: separate cores when we can.

On a host with more than one usable core the load generator gets the last one and every
service of the stack the others, so neither steals the other's CPU during a window.
Placement is applied with taskset at exec time, so every child inherits it, or, for
the app processes a variant switch restarts, once they are ready (`pin`): they start on
every core, as the idle load generator's core would otherwise waste half the machine
while two interpreters import their code, and are moved to the stack's cores before any
window measures them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import psutil

from harness.runtime.ports import LOOPBACK
from harness.runtime.process import require_binary
from harness.runtime.ssh import SshHost

Role = Literal["sut", "loadgen"]
LOADGEN_CORES = 1


@dataclass(frozen=True)
class Placement:
    """CPU lists per role; empty lists mean "not pinned"."""

    sut_cpus: tuple[int, ...] = ()
    loadgen_cpus: tuple[int, ...] = ()
    # locust workers under one master (0: one standalone locust process), on this
    # machine's load generator cores or, round robin, on these load hosts
    load_workers: int = 0
    load_hosts: tuple[SshHost, ...] = ()
    # the address of this machine the API and locust's master listen on: loopback unless
    # a run was given one its load hosts reach (harness/load/hosts.py)
    listen: str = LOOPBACK

    @property
    def pinned(self) -> bool:
        return bool(self.sut_cpus and self.loadgen_cpus)

    def wrap(self, command: Sequence[str], role: Role) -> list[str]:
        """`command` prefixed with taskset for its role (unchanged when not pinned)."""
        cpus = self.sut_cpus if role == "sut" else self.loadgen_cpus
        if not self.pinned or not cpus:
            return list(command)
        taskset = require_binary("taskset", "util-linux")
        return [taskset, "--cpu-list", ",".join(map(str, cpus)), *command]

    def unpinned(self) -> Placement:
        """The same placement without cores: for processes `pin` moves once they are ready."""
        return replace(self, sut_cpus=(), loadgen_cpus=())

    def pin(self, pids: Iterable[int], role: Role) -> None:
        """Move running processes, every thread of each, to the role's cores (a no-op
        when not pinned). Threads and children created later inherit it."""
        cpus = self.sut_cpus if role == "sut" else self.loadgen_cpus
        if not self.pinned or not cpus:
            return
        for pid in pids:
            try:
                threads = [thread.id for thread in psutil.Process(pid).threads()]
            except psutil.NoSuchProcess:
                continue
            for tid in threads:
                try:
                    os.sched_setaffinity(tid, cpus)
                except ProcessLookupError:  # a thread that just ended
                    continue

    def describe(self) -> dict[str, object]:
        """The placement as recorded in results.json's environment."""
        described: dict[str, object] = {
            "pinned": self.pinned,
            "sut_cpus": list(self.sut_cpus),
            "loadgen_cpus": list(self.loadgen_cpus),
        }
        if self.load_workers:
            described["load_workers"] = self.load_workers
            described["load_hosts"] = [host.describe() for host in self.load_hosts]
        if self.listen != LOOPBACK:
            described["listen"] = self.listen
        return described


def plan_placement(pin: bool, usable: Sequence[int] | None = None) -> Placement:
    """Split the usable cores: the last for the load generator, the rest for the stack."""
    cores = sorted(usable if usable is not None else os.sched_getaffinity(0))
    if not pin or len(cores) <= LOADGEN_CORES:
        return Placement()
    return Placement(
        sut_cpus=tuple(cores[:-LOADGEN_CORES]), loadgen_cpus=tuple(cores[-LOADGEN_CORES:])
    )
