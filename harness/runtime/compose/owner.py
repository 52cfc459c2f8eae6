"""Which compose projects of this machine's harness are abandoned, and taking them down.

A run or `up` holds an exclusive lock on OWNERS_DIR/<project>.lock for as long as its
compose project lives; the kernel releases it when the process ends, even by SIGKILL.
A project whose lock file is there but free was left by a harness that died before its
`down`: its containers keep running and, with `restart: unless-stopped`, come back
whenever the engine restarts. `sweep_abandoned` takes those down when the next compose
stack starts. A project without a lock file (the deployed stack, one started by another
machine or before this module) is never touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

LOG = logging.getLogger(__name__)
# machine-wide, as the engine is: any checkout or working directory finds every owner
OWNERS_DIR = Path(tempfile.gettempdir()) / "chrono-bench-compose-owners"
LOCK_SUFFIX = ".lock"


class ProjectOwner:
    """The lock that says a live harness owns `project`."""

    def __init__(self, project: str, directory: Path = OWNERS_DIR) -> None:
        self.path = directory / f"{project}{LOCK_SUFFIX}"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Hold the lock (before any container of the project exists); waits while a
        sweep checks it."""
        if self._file is not None:
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        file = self.path.open("a")
        fcntl.flock(file, fcntl.LOCK_EX)
        file.write(f"{os.getpid()}\n")
        file.flush()
        self._file = file

    def release(self) -> None:
        """After the project is down: the file goes, then the lock; safe twice."""
        if self._file is None:
            return
        self.path.unlink(missing_ok=True)
        self._file.close()
        self._file = None


def abandoned(projects: Iterable[str], directory: Path = OWNERS_DIR) -> list[str]:
    """The projects among `projects` whose lock file exists and no process holds."""
    found = []
    for project in sorted(set(projects)):
        path = directory / f"{project}{LOCK_SUFFIX}"
        try:
            file = path.open("r")
        except FileNotFoundError:
            continue  # not ours to judge
        with file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its harness is alive
            found.append(project)
    return found


def sweep_abandoned(
    projects: Iterable[str],
    down: Callable[[str], None],
    directory: Path = OWNERS_DIR,
) -> list[str]:
    """`down` every abandoned project among `projects`, then forget its lock file."""
    swept = abandoned(projects, directory)
    for project in swept:
        LOG.warning("compose project %s: its harness died without a down; taking it down", project)
        down(project)
        with contextlib.suppress(FileNotFoundError):
            (directory / f"{project}{LOCK_SUFFIX}").unlink()
    return swept
