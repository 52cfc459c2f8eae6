"""Starting service processes with mirakuru, as an unprivileged user when we are root.

mirakuru marks every child with an environment variable, so `stop()` (and its atexit
hook, should the harness crash) finds and kills the whole tree, including processes that
changed their process group.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from mirakuru import TCPExecutor

from harness.errors import UserError
from harness.runtime.ports import LOOPBACK

START_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.1


def require_binary(name: str, package: str) -> str:
    """The path of `name`, or a user error naming the Debian package that provides it."""
    path = shutil.which(name)
    if path is None:
        raise UserError(f"'{name}' was not found on PATH: install the Debian package '{package}'")
    return path


def as_user(user: str | None, command: Sequence[str]) -> list[str]:
    """`command` run as `user` through setpriv, which execs (no extra parent process)."""
    if user is None:
        return list(command)
    setpriv = require_binary("setpriv", "util-linux")
    return [setpriv, f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *command]


def service_user(preferred: str) -> str | None:
    """The user to run a service as: `preferred` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(preferred)
    except KeyError as error:
        raise UserError(
            f"running as root needs the system user '{preferred}' to start services"
        ) from error
    return preferred


def ensure_traversable(path: Path, user: str | None) -> None:
    """Fail clearly when `user` could not reach `path` (a 0700 parent owned by root)."""
    if user is None:
        return
    uid = pwd.getpwnam(user).pw_uid
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        info = parent.stat()
        if info.st_uid != uid and not info.st_mode & 0o001:
            raise UserError(
                f"'{user}' cannot reach {path}: {parent} is not traversable by others "
                f"(chmod o+x {parent}, or choose another run directory)"
            )


class CheckedTCPExecutor(TCPExecutor):
    """A TCP service that counts as started once `ready()` also says so."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        port: int,
        ready: Callable[[], bool],
        log: IO[Any],
        host: str = LOOPBACK,
        stop_signal: int = signal.SIGTERM,
        envvars: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        super().__init__(
            list(command),
            host=host,
            port=port,
            timeout=START_TIMEOUT_S,
            sleep=POLL_INTERVAL_S,
            stop_signal=stop_signal,
            stdout=log,
            stderr=log,
            envvars=envvars,
            cwd=str(cwd) if cwd else None,
        )
        self._ready = ready

    def after_start_check(self) -> bool:
        return bool(super().after_start_check()) and self._ready()
