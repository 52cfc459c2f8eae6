"""The compose project on the host: up after any change, and kept running and healthy."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import deploy, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import server
from pyinfra.operations.util import any_changed

from deploy.facts import ComposeServices
from deploy.settings import DeploySettings

UP_ARGS = "up -d --wait --remove-orphans"
# `up --wait` can exit 0 with a container that never started (a rejected ulimit, say):
# no container may be left created, restarting or dead.
NOT_STARTED = "ps --quiet --status created --status restarting --status dead"
HEALTHY_STATES = ("healthy", "running")


def _compose(settings: DeploySettings) -> str:
    return (
        f"{settings.compose_command} --project-name {shlex.quote(settings.project)} "
        f"--project-directory {shlex.quote(settings.bundle_dir)}"
    )


@operation()
def running(compose: str, bundle_dir: str, project: str, services: list[str]):  # type: ignore[no-untyped-def]
    """Every service of the project is up (healthy where it has a check); `up` otherwise."""
    states = host.get_fact(ComposeServices, compose=compose, bundle_dir=bundle_dir, project=project)
    if all(states.get(service) in HEALTHY_STATES for service in services):
        host.noop(f"all {len(services)} services of {project} are up and healthy")
        return
    yield _up(compose, bundle_dir)


def _up(compose: str, bundle_dir: str) -> str:
    return (
        f"cd {shlex.quote(bundle_dir)} && {compose} {UP_ARGS} && "
        f'test -z "$({compose} {NOT_STARTED})"'
    )


@deploy("Compose stack up")
def compose_up(changes: list[OperationMeta], services: list[str]) -> None:
    settings = DeploySettings.from_data(host.data)
    compose = _compose(settings)
    if changes:
        server.shell(
            name="Recreate what the new bundle or images change, and wait until healthy",
            commands=[_up(compose, settings.bundle_dir)],
            _if=any_changed(*changes),
        )
    running(
        name="Keep every service of the stack up and healthy",
        compose=compose,
        bundle_dir=settings.bundle_dir,
        project=settings.project,
        services=services,
    )
