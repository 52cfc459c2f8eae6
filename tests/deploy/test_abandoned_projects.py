"""A compose project whose harness died (SIGKILL, a lost session) is taken down by the
next compose stack's start, with its volumes and host cgroup; a project whose harness
lives, and one that is not ours to judge, are left alone."""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from harness.runtime.compose.cgroup import CGROUP_ROOT, cgroup_version
from harness.runtime.compose.engine import LocalEngine
from harness.runtime.compose.owner import ProjectOwner
from harness.runtime.compose.project import PROJECT_LABEL
from harness.runtime.compose.stack import PROJECT_PREFIX, sweep_abandoned_projects

# the first docker test of a session builds the offline images (minutes on a busy machine)
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]
HOLD_THEN_WAIT = """
import sys, time
from harness.runtime.compose.owner import ProjectOwner
owner = ProjectOwner(sys.argv[1])
owner.acquire()
print("held", flush=True)
time.sleep(600)
"""


def _project(kind: str) -> str:
    return f"{PROJECT_PREFIX}-{kind}-{secrets.token_hex(3)}"


def _sleeper(client: docker.DockerClient, image: str, project: str) -> None:
    """A container and a volume as compose labels them, restarted with the engine."""
    volume = client.volumes.create(f"{project}_data", labels={PROJECT_LABEL: project})
    client.containers.run(
        image, ["sleep", "600"], detach=True, name=f"{project}-sleeper-1",
        labels={PROJECT_LABEL: project, "com.docker.compose.service": "sleeper"},
        restart_policy={"Name": "unless-stopped"}, volumes={volume.name: {"bind": "/data"}},
    )  # fmt: skip


def _left(client: docker.DockerClient, project: str) -> list[str]:
    label = {"label": f"{PROJECT_LABEL}={project}"}
    return [c.name for c in client.containers.list(all=True, filters=label)] + [
        v.name for v in client.volumes.list() if v.name.startswith(f"{project}_")
    ]


@pytest.fixture
def engine(offline_images: object, docker_engine: object) -> Iterator[LocalEngine]:
    yield LocalEngine()


def test_only_a_project_whose_harness_died_is_taken_down(engine: LocalEngine) -> None:
    from harness.runtime.compose.images import OFFLINE_IMAGES

    client = engine.client
    dead, alive, unowned = _project("dead"), _project("alive"), _project("unowned")
    owner = ProjectOwner(alive)
    owner.acquire()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THEN_WAIT, dead], stdout=subprocess.PIPE, text=True
    )
    cgroup = CGROUP_ROOT / "memory" / dead
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        for project in (dead, alive, unowned):
            _sleeper(client, OFFLINE_IMAGES.redis, project)
        if cgroup_version(CGROUP_ROOT) == 1:
            cgroup.mkdir()  # what a stress run's host cgroup leaves
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)

        assert sweep_abandoned_projects(engine) == [dead]

        assert _left(client, dead) == []
        assert not cgroup.exists()
        assert len(_left(client, alive)) == 2 and len(_left(client, unowned)) == 2
        assert sweep_abandoned_projects(engine) == []  # once only
    finally:
        holder.kill()
        owner.release()
        for project in (dead, alive, unowned):
            engine.down(project, Path(project))
        if cgroup.exists():
            cgroup.rmdir()
