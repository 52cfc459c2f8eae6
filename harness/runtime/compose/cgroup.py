"""The budget's host as a parent cgroup: the compose runtime's containers share its memory
and cpus, as they would share the host the budget was made for.

A runaway service without container limits grows until its host runs out of memory; the
kernel's reclaim and OOM killer then hit the other services. That cannot be done against
this machine's own memory (no swap), so the stress measurement models the host: a cgroup
whose memory limit is the host's memory and whose cpu quota is its cpus, every container
created under it (compose `cgroup_parent`). Past its limit the kernel reclaims and kills
inside it, as on a host of that size, and the machine is untouched.

Supported: cgroup v1 with the engine's cgroupfs driver (the memory and cpu hierarchies
each get a directory of the cgroup's name). Anything else is a UserError of one line.
`remove()` deletes its directories in every hierarchy (the engine makes the ones it needs
for the containers) once the containers are gone; it is safe twice.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError
from harness.units import MIB

LOG = logging.getLogger(__name__)
CGROUP_ROOT = Path("/sys/fs/cgroup")
# the v1 hierarchies the host's limits are written in
MEMORY = "memory"
CPU = "cpu"
CFS_PERIOD_US = 100_000
# The engine removes a container's cgroup shortly after the container: wait for it.
REMOVE_TIMEOUT_S = 10.0
REMOVE_POLL_S = 0.2


def cgroup_version(root: Path = CGROUP_ROOT) -> int:
    """2 when `root` is the unified hierarchy, else 1."""
    return 2 if (root / "cgroup.controllers").exists() else 1


def check_supported(driver: str, root: Path = CGROUP_ROOT) -> None:
    """Raise the one-line UserError of a machine whose host cgroup is not supported."""
    version = cgroup_version(root)
    if version != 1 or driver != "cgroupfs":
        raise UserError(
            f"host cgroup: supported on cgroup v1 with the engine's cgroupfs driver; this "
            f"machine has cgroup v{version} and the '{driver}' driver"
        )


@dataclass
class HostCgroup:
    """A parent cgroup `name` holding `memory_mb` and `cpus` (cgroup v1, cgroupfs)."""

    name: str
    memory_mb: int
    cpus: float
    root: Path = CGROUP_ROOT

    @property
    def parent(self) -> str:
        """The value of compose's `cgroup_parent` (a path from each hierarchy's root)."""
        return f"/{self.name}"

    def directory(self, hierarchy: str) -> Path:
        return self.root / hierarchy / self.name

    def create(self) -> None:
        """Make the directories and write the limits; a failure removes what was made."""
        try:
            memory = self.directory(MEMORY)
            memory.mkdir()
            (memory / "memory.limit_in_bytes").write_text(str(self.memory_mb * MIB))
            cpu = self.directory(CPU)
            cpu.mkdir()
            (cpu / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(round(self.cpus * CFS_PERIOD_US)))
        except OSError as error:
            self.remove()
            raise UserError(f"host cgroup {self.name}: cannot create it: {error}") from error

    def oom_kills(self, child: str = "") -> int:
        """OOM kills of processes in this cgroup's own memory cgroup, or in its `child`
        (a container's id) so far: v1 counts a kill in the victim's cgroup only, so a
        container's count says whose process the host's OOM killer took (oom_control's
        oom_kill, kernels from 4.13); 0 when there is no such cgroup or count."""
        control = self.directory(MEMORY) / child / "memory.oom_control"
        if not control.exists():
            return 0
        for line in control.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def max_usage_mb(self) -> float:
        """The highest memory use of the whole cgroup so far."""
        usage = (self.directory(MEMORY) / "memory.max_usage_in_bytes").read_text()
        return int(usage) / MIB

    def remove(self) -> None:
        """Delete the directories in every hierarchy (the engine makes one in each for its
        containers' cgroups, which go first); a failure is logged, not raised: it runs on
        the way out. Safe twice."""
        for directory in sorted(self.root.glob(f"*/{self.name}")):
            _remove_tree(directory)


def _remove_tree(directory: Path) -> None:
    """rmdir `directory`, its empty child cgroups first, waiting for tasks to leave."""
    deadline = time.monotonic() + REMOVE_TIMEOUT_S
    while True:
        try:
            for child in sorted(directory.rglob("*"), key=lambda p: -len(p.parts)):
                if child.is_dir():
                    os.rmdir(child)
            os.rmdir(directory)
            return
        except FileNotFoundError:
            return
        except OSError as error:
            if time.monotonic() > deadline:
                LOG.error("host cgroup %s: cannot remove it: %s", directory, error)
                return
            time.sleep(REMOVE_POLL_S)
