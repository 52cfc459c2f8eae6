"""One service of the stack as a process: started with mirakuru, healthy or an error, stopped.

Every service logs to a file in the run directory and is ready when its check says so:
an HTTP endpoint answering 200 for the ones with a port, a line in its log for Celery
workers (which listen on no port). A service that does not become ready is a user error
naming its log, and is stopped before the error is raised.
"""

from __future__ import annotations

import logging
import signal
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import httpx
from mirakuru import Executor

from harness.errors import UserError
from harness.runtime.groups import tree
from harness.runtime.ports import LOOPBACK
from harness.runtime.process import START_TIMEOUT_S, CheckedTCPExecutor

LOG = logging.getLogger(__name__)
HEALTH_TIMEOUT_S = 2.0
POLL_INTERVAL_S = 0.1
# Log lines are read from the end; a banner is always within the last few KB when it
# has just been printed.
LOG_TAIL_BYTES = 64 * 1024


def http_ok(url: str) -> Callable[[], bool]:
    """A readiness check: `url` answers 200."""

    def check() -> bool:
        try:
            return httpx.get(url, timeout=HEALTH_TIMEOUT_S).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def log_contains(path: Path, banner: str) -> Callable[[], bool]:
    """A readiness check: the log at `path` prints `banner` after this call."""
    start = path.stat().st_size if path.exists() else 0

    def check() -> bool:
        if not path.exists():
            return False
        with path.open("rb") as log:
            log.seek(max(start, path.stat().st_size - LOG_TAIL_BYTES))
            return banner.encode() in log.read()

    return check


class _CheckedExecutor(Executor):
    """A process without a port, started once `ready()` says so."""

    def __init__(self, command: Sequence[str], *, ready: Callable[[], bool], **kwargs: Any) -> None:
        super().__init__(list(command), **kwargs)
        self._ready = ready

    def pre_start_check(self) -> bool:
        return False

    def after_start_check(self) -> bool:
        return self._ready()


class Service:
    """A named process of the stack with its log file, readiness check and environment."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        log_path: Path,
        ready: Callable[[], bool] | None = None,
        banner: str | None = None,
        port: int | None = None,
        host: str = LOOPBACK,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stop_signal: int = signal.SIGTERM,
        timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.log_path = log_path
        self.port = port
        self.host = host
        self._ready = ready
        self._banner = banner
        self._env = env or {}
        self._cwd = cwd
        self._stop_signal = stop_signal
        self._timeout_s = timeout_s
        self._executor: Executor | None = None
        self._log: IO[Any] | None = None

    @property
    def running(self) -> bool:
        return self._executor is not None and self._executor.running()

    @property
    def pid(self) -> int | None:
        if self._executor is None or self._executor.process is None:
            return None
        return self._executor.process.pid

    def pids(self) -> list[int]:
        """The main process and all its children (uvicorn and Celery fork workers)."""
        return [process.pid for process in tree(self.pid)] if self.pid else []

    def start(self) -> None:
        if self._executor is not None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        ready = self._ready or (lambda: True)
        if self._banner is not None:
            ready = log_contains(self.log_path, self._banner)
        self._log = self.log_path.open("a")
        common: dict[str, Any] = {
            "stop_signal": self._stop_signal,
            "envvars": self._env,
            "stdout": self._log,
            "stderr": self._log,
        }
        if self.port is not None:
            self._executor = CheckedTCPExecutor(
                self.command, port=self.port, host=self.host, ready=ready, log=self._log,
                stop_signal=self._stop_signal, envvars=self._env, cwd=self._cwd,
            )  # fmt: skip
        else:
            self._executor = _CheckedExecutor(
                self.command,
                ready=ready,
                timeout=self._timeout_s,
                sleep=POLL_INTERVAL_S,
                stdin=subprocess.DEVNULL,
                cwd=str(self._cwd) if self._cwd else None,
                **common,
            )
        LOG.info("starting %s", self.name)
        try:
            self._executor.start()
        except Exception as error:
            self.stop()
            raise UserError(f"{self.name} did not become ready: see {self.log_path}") from error

    def stop(self) -> None:
        if self._executor is not None:
            LOG.info("stopping %s", self.name)
            try:
                self._executor.stop()
            except Exception:  # an odd exit status must not keep the rest running
                LOG.warning("%s exited uncleanly; killing what is left", self.name)
                self._executor.kill()
            self._executor = None
        if self._log is not None:
            self._log.close()
            self._log = None
