"""Where the compose runtime's engine is: this machine's, or a deployed host's over SSH.

A `ComposeStack` (harness/runtime/compose/stack.py) asks its engine location where `docker
compose` runs and sees the bundle, which ports the stack publishes and where the harness
reaches them, and which Docker client reads its containers (memory, OOM events, `top`).

- `LocalEngine`: this machine's engine (compose/dockerd.py). compose runs here on the
  rendered bundle; the stack publishes free ports of this machine's loopback.
- `SshEngine` (harness/runtime/compose/ssh_engine.py): the engine of a deployed inventory host,
  through one SSH connection (`chrono-bench run --runtime compose --host NAME`).
"""

from __future__ import annotations

import contextlib
import logging
import resource
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import docker

from harness.errors import UserError
from harness.render.bundle import NOFILE_LIMIT
from harness.runtime.compose.dockerd import (
    Engine,
    compose_command,
    compose_version,
    describe_engine,
)
from harness.runtime.compose.project import DOWN_ARGS, compose_down, project_command
from harness.runtime.ports import free_port

LOG = logging.getLogger(__name__)
INTERRUPT_GRACE_S = 30
CLIENT_TIMEOUT_S = 120


class EngineLocation(ABC):
    """An engine and where its compose projects run; `run()` is one compose command."""

    client: docker.DockerClient
    # ssh children in sessions of their own (a terminal's Ctrl-C is not theirs)
    own_session = False

    @abstractmethod
    def publish_ports(self, names: Sequence[str]) -> dict[str, int]:
        """A port for each name, free on the engine host's loopback, to publish there."""

    @abstractmethod
    def reach(self, port: int) -> int:
        """The port of this machine's loopback where a published `port` answers."""

    @abstractmethod
    def command(self, project: str, bundle: Path, *args: str) -> list[str]:
        """The command line of `docker compose args` for the project rendered in `bundle`."""

    @abstractmethod
    def sync(self, project: str, bundle: Path) -> None:
        """Make the bundle rendered here the one compose sees."""

    @abstractmethod
    def cancel(self, process: subprocess.Popen[str], project: str) -> None:
        """Ask an interrupted compose command of `project` to stop what it started."""

    @abstractmethod
    def down(self, project: str, bundle: Path) -> None:
        """`down -v` the project and remove what it left, on every exit path."""

    @abstractmethod
    def nofile_limit(self) -> int:
        """The open files a container may get: at most its engine's hard limit."""

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """What results.json's environment records of the engine."""

    def run(self, project: str, bundle: Path, *args: str, timeout_s: float) -> str:
        """`docker compose args`; a failure or a timeout is a UserError."""
        command = self.command(project, bundle, *args)
        LOG.info("%s", " ".join(args))
        what = " ".join(args)
        with subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=self.own_session,
        ) as process:  # fmt: skip
            try:
                stdout, stderr = process.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired as error:
                self.cancel(process, project)
                process.kill()
                raise UserError(f"compose: `{what}` took over {timeout_s:.0f} s") from error
            except BaseException:
                # Ctrl-C or SIGTERM: compose is let to cancel its requests, or the engine
                # may create a container it asked for after `down` has looked
                self.cancel(process, project)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.communicate(timeout=INTERRUPT_GRACE_S)
                raise
        if process.returncode != 0:
            tail = " / ".join(stderr.strip().splitlines()[-3:])
            raise UserError(f"compose: `{what}` failed: {tail}")
        return stdout


class LocalEngine(EngineLocation):
    """This machine's engine: compose runs here, ports are this machine's."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine
        self.client = engine.client if engine else docker.from_env(timeout=CLIENT_TIMEOUT_S)
        self._compose = compose_command()

    def publish_ports(self, names: Sequence[str]) -> dict[str, int]:
        return {name: free_port() for name in names}

    def reach(self, port: int) -> int:
        return port

    def command(self, project: str, bundle: Path, *args: str) -> list[str]:
        return project_command(self._compose, project, bundle, *args)

    def sync(self, project: str, bundle: Path) -> None:
        """compose reads the bundle where it was rendered."""

    def cancel(self, process: subprocess.Popen[str], project: str) -> None:
        process.terminate()

    def down(self, project: str, bundle: Path) -> None:
        compose_down(self.command(project, bundle, *DOWN_ARGS), project, self.client)

    def nofile_limit(self) -> int:
        # an engine we started inherits our hard limit, and cannot go above it
        return min(NOFILE_LIMIT, resource.getrlimit(resource.RLIMIT_NOFILE)[1])

    def describe(self) -> dict[str, object]:
        started_here = self.engine is not None and self.engine.started_here
        return {
            **describe_engine(self.client, compose_version(self._compose)),
            "location": "local",
            "started_here": started_here,
        }
