"""The stack's images on the host: pulled (official set) or loaded from here (offline set).

An image the host already has with the same content-hash label as the one built here
(`chrono-bench images build`) is left alone; any other is saved here with `docker save`,
uploaded and loaded.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import docker, files, server

from deploy.facts import ImageLabel
from deploy.settings import DeploySettings
from harness.render.bundle import Images
from harness.runtime.compose.images import HASH_LABEL, OFFLINE_SPECS

REMOTE_ARCHIVE_DIR = "/var/tmp/chrono-bench-images"
OFFICIAL_PULLED = ("postgres", "redis", "meilisearch", "prometheus", "postgres_exporter",
                   "redis_exporter")  # fmt: skip


def _local_label(image: str) -> str:
    done = subprocess.run(
        ["docker", "image", "inspect", "--format",
         "{{index .Config.Labels \"" + HASH_LABEL + "\"}}", image],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else ""


def _archive(image: str, settings: DeploySettings) -> Path:
    """`docker save` of a local image, made once per content hash."""
    name = image.replace("/", "_").replace(":", "_")
    label = _local_label(image) or "unlabelled"
    path = Path(settings.controller_dir) / "images" / f"{name}-{label}.tar"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["docker", "save", "-o", str(path), image], check=True)
    return path


def _load(image: str, settings: DeploySettings) -> list[OperationMeta]:
    wanted = _local_label(image)
    if wanted and host.get_fact(ImageLabel, image=image, label=HASH_LABEL) == wanted:
        return []
    archive = _archive(image, settings)
    remote = f"{REMOTE_ARCHIVE_DIR}/{archive.name}"
    uploaded = files.put(name=f"Upload the {image} image", src=str(archive.resolve()), dest=remote)
    loaded = server.shell(
        name=f"Load {image} into the engine",
        commands=[f"docker load -i {remote} && rm -f {remote}"],
    )
    return [uploaded, loaded]


@deploy("Stack images")
def images() -> list[OperationMeta]:
    """Make every image of the host's set present; returns the operations that changed one."""
    settings = DeploySettings.from_data(host.data)
    changed: list[OperationMeta] = []
    if settings.images == "offline":
        for spec in OFFLINE_SPECS:
            changed += _load(spec.tag, settings)
        return changed
    official = Images()
    for key in OFFICIAL_PULLED:
        changed.append(
            docker.image(
                name=f"Pull {getattr(official, key)}",
                image=getattr(official, key),
                present=True,
            )
        )
    # The app image is this repository's: built here from app/Dockerfile, then loaded.
    changed += _load(official.app, settings)
    return changed
