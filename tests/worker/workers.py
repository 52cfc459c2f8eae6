"""Real Celery worker processes for the tests, started from app.worker.command."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from celery import Celery

from app.core.config import Settings
from app.worker.command import worker_argv, worker_env
from app.worker.config import create_celery_app

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
POLL_S = 0.2


class Workers:
    """The worker process groups of `settings`; each in its own session (process group)."""

    def __init__(self, settings: Settings, *, log_dir: Path | None = None) -> None:
        self.settings = settings
        self.client: Celery = create_celery_app(settings)
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="chrono-workers-"))
        self.processes: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[Any]] = []

    def start(self) -> None:
        env = {**os.environ, **worker_env(self.settings)}
        argvs = worker_argv(self.settings, log_level="INFO")
        for number, argv in enumerate(argvs):
            log = (self.log_dir / f"worker-{number}.log").open("ab")
            self._logs.append(log)
            self.processes.append(
                subprocess.Popen(argv, env=env, stdout=log, stderr=log, start_new_session=True)
            )
        self._wait_ready(len(argvs))

    def _wait_ready(self, groups: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a worker exited early: see {self.log_dir}")
            replies = self.client.control.ping(timeout=0.5)
            if len(replies) >= groups:
                return
            time.sleep(POLL_S)
        raise TimeoutError(f"workers not ready after {READY_TIMEOUT_S} s: see {self.log_dir}")

    def kill(self, group: int = 0) -> None:
        """SIGKILL a whole worker group, main process and pool children, mid-whatever."""
        process = self.processes[group]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)

    def restart(self, group: int = 0) -> None:
        env = {**os.environ, **worker_env(self.settings)}
        argv = worker_argv(self.settings, log_level="INFO")[group]
        self.processes[group] = subprocess.Popen(
            argv, env=env, stdout=self._logs[group], stderr=self._logs[group],
            start_new_session=True,
        )  # fmt: skip
        self._wait_ready(len(self.processes))

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL for whatever is left."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            with contextlib.suppress(ProcessLookupError):  # children that outlived it
                os.killpg(process.pid, signal.SIGKILL)
        for log in self._logs:
            log.close()
        self.client.close()

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
