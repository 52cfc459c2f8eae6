"""The deploy: `pyinfra inventory.py deploy/main.py` (or `chrono-bench deploy`)."""

from __future__ import annotations

import yaml
from pyinfra import host

from deploy.bundle import bundle
from deploy.compose import compose_up
from deploy.docker_engine import docker_engine
from deploy.images import images
from deploy.processes import load_generator, processes_up
from deploy.settings import DeploySettings
from harness.budget.inventory import get_host, load_inventory
from harness.render.topology import roles_of

settings = DeploySettings.from_data(host.data)
if roles_of(get_host(load_inventory(settings.chrono_inventory), host.name)) == ("loadgen",):
    # a load host holds no service of the stack: locust workers only
    load_generator()
elif settings.runtime == "processes":
    processes_up(changes=bundle())
else:
    docker_engine()
    uploaded = bundle()
    loaded = images()
    local_bundle = settings.local_bundle_dir(host.name)
    compose_file = yaml.safe_load((local_bundle / "compose.yml").read_text())
    # one-shot services (restart "no", the schema migration) are done, not running
    long_running = sorted(
        name for name, service in compose_file["services"].items() if service["restart"] != "no"
    )
    compose_up(changes=[*uploaded, *loaded], services=long_running)
