"""The host's bundle: rendered here from its budget, uploaded, secrets readable by root only."""

from __future__ import annotations

from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import files

from deploy.settings import DeploySettings
from harness.budget.inventory import load_inventory
from harness.render.bundle import Images, RenderOptions
from harness.render.topology import plan_topology, render_host
from harness.runtime.compose.images import OFFLINE_IMAGES, OFFLINE_SEARCH_BACKEND

SECRETS_FILE = ".env"
SECRETS_MODE = "600"
BUNDLE_DIR_MODE = "750"
# the secrets the hosts of one multi-host stack share, on the controller
STACK_SECRETS_DIR = "stack-secrets"


def render_options(settings: DeploySettings) -> RenderOptions:
    """The bundle for the host's image set; the offline set has no Meilisearch."""
    offline = settings.images == "offline"
    return RenderOptions(
        images=OFFLINE_IMAGES if offline else Images(),
        resource_limits=settings.resource_limits,
        search_backend=OFFLINE_SEARCH_BACKEND if offline else "meilisearch",
        api_bind=settings.api_bind,
        api_port=settings.api_port,
        project_name=settings.project,
        build_context="",  # images are loaded or pulled by deploy/images.py
        migrate=True,
        grafana=settings.grafana,
        nofile_limit=settings.nofile_limit,
    )


@deploy("Chrono bundle")
def bundle() -> list[OperationMeta]:
    """Render and upload; returns the operations whose change means the stack must update."""
    settings = DeploySettings.from_data(host.data)
    # with roles in the inventory (db, app, worker), this host's services only
    topology = plan_topology(load_inventory(settings.chrono_inventory))
    local = render_host(
        topology,
        host.name,
        settings.local_bundle_dir(host.name),
        render_options(settings),
        secrets_dir=Path(settings.controller_dir) / STACK_SECRETS_DIR,
    )
    files.directory(
        name="Keep the bundle directory private to root",
        path=settings.bundle_dir,
        mode=BUNDLE_DIR_MODE,
    )
    uploaded = files.sync(
        name="Upload the rendered bundle (compose.yml and service configs)",
        src=str(local.resolve()),
        dest=settings.bundle_dir,
        exclude=[SECRETS_FILE],
        delete=True,
        dir_mode=BUNDLE_DIR_MODE,
    )
    secrets = files.put(
        name="Upload the bundle's secrets, mode 0600",
        src=str((local / SECRETS_FILE).resolve()),
        dest=f"{settings.bundle_dir}/{SECRETS_FILE}",
        mode=SECRETS_MODE,
    )
    return [uploaded, secrets]
