"""The deploy: `pyinfra inventory.py deploy/main.py` (or `chrono-bench deploy`)."""

from __future__ import annotations

import yaml
from pyinfra import host

from deploy.bundle import bundle
from deploy.compose import compose_up
from deploy.docker_engine import docker_engine
from deploy.images import images
from deploy.settings import DeploySettings

docker_engine()
uploaded = bundle()
loaded = images()
local_bundle = DeploySettings.from_data(host.data).local_bundle_dir(host.name)
compose_file = yaml.safe_load((local_bundle / "compose.yml").read_text())
# one-shot services (restart "no", the schema migration) are done, not running
long_running = sorted(
    name for name, service in compose_file["services"].items() if service["restart"] != "no"
)
compose_up(changes=[*uploaded, *loaded], services=long_running)
