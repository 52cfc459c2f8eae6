"""A docker compose project by its name: its command line, and taking it down for good.

`compose_down` is `docker compose down -v` and then `sweep_project`, which removes what
down left: an `up` interrupted by Ctrl-C leaves containers the engine created after down
looked (seen here every time), and a volume such a container made again without the
project's label. The compose runtime stops its stack this way, and `chrono-bench down`
the project of an `up` that was killed.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import docker
import docker.errors

LOG = logging.getLogger(__name__)
PROJECT_LABEL = "com.docker.compose.project"
DOWN_TIMEOUT_S = 180
DOWN_ARGS = ("down", "-v", "--remove-orphans", "--timeout", "10")


def project_command(compose: list[str], project: str, bundle: Path, *args: str) -> list[str]:
    """`docker compose` with `args` for the project rendered into `bundle` (by its name
    alone once the bundle is gone: compose finds its containers by their labels)."""
    if not (bundle / "compose.yml").exists():
        return [*compose, "--project-name", project, *args]
    return [*compose, "--project-name", project, "--project-directory", str(bundle),
            "-f", str(bundle / "compose.yml"), *args]  # fmt: skip


def compose_down(
    command: list[str], project: str, client: docker.DockerClient | None = None
) -> None:
    """`command`, a `docker compose down` (DOWN_ARGS) of the project (also of one whose
    harness was killed), then whatever it left removed; a failure is logged, not raised:
    it runs on the way out."""
    LOG.info("%s", " ".join(command[2:]))
    try:
        # a session of its own: a Ctrl-C at the terminal meanwhile must not cut it short
        done = subprocess.run(command, capture_output=True, text=True, timeout=DOWN_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    except subprocess.TimeoutExpired:
        LOG.error("compose project %s: down took over %d s", project, DOWN_TIMEOUT_S)
    else:
        if done.returncode != 0:
            LOG.error("compose project %s: down failed: %s", project, done.stderr.strip()[-500:])
    try:
        sweep_project(client or docker.from_env(timeout=DOWN_TIMEOUT_S), project)
    except docker.errors.DockerException as error:
        LOG.error("compose project %s: removing what down left failed: %s", project, error)


def sweep_project(client: docker.DockerClient, project: str) -> list[str]:
    """Remove what `down` left of a project, and say what: an interrupted `up` can leave a
    container the engine created after `down` looked, and a volume that container made
    again without the project's label (hence also by the project's name prefix)."""
    label = {"label": f"{PROJECT_LABEL}={project}"}
    swept = []
    for container in client.containers.list(all=True, filters=label):
        container.remove(force=True, v=True)
        swept.append(f"container {container.name}")
    for network in client.networks.list(filters=label):
        network.remove()
        swept.append(f"network {network.name}")
    for volume in client.volumes.list():
        labels = volume.attrs.get("Labels") or {}
        if volume.name.startswith(f"{project}_") or labels.get(PROJECT_LABEL) == project:
            volume.remove(force=True)
            swept.append(f"volume {volume.name}")
    if swept:
        LOG.warning("compose project %s: down left %s; removed", project, ", ".join(swept))
    return swept
