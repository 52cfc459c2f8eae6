"""The host data keys the deploy (deploy/) and runs against a deployed host read from
inventory.py, with their defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ImageSet = Literal["official", "offline"]


@dataclass(frozen=True)
class DeploySettings:
    """One host's deploy settings, from its pyinfra host data."""

    chrono_dir: str = "/opt/chrono-bench"  # the bundle's directory on the host
    manage_docker: bool = True  # False where the engine is managed elsewhere
    images: ImageSet = "official"
    project: str = "chrono"
    api_bind: str = "127.0.0.1"
    api_port: int = 8000
    resource_limits: bool = True
    grafana: bool = False
    compose_command: str = "docker compose"
    nofile_limit: int = 65535  # the API's open files; at most the engine's hard limit
    # the pyinfra inventory file the host comes from (the CLI passes it with --data)
    chrono_inventory: str = "inventory.py"
    # where this machine (the controller) renders bundles and keeps image archives
    controller_dir: str = ".run/deploy"
    # "compose", or "processes": the project's own code runs the bundle's services
    # (deploy/processes.py), for hosts without a container engine of their own
    runtime: str = "compose"
    # the project on the host, and its Python (runtime "processes" and load hosts)
    chrono_checkout: str = "/opt/chrono-bench/src"
    chrono_python: str = "python3"

    @classmethod
    def from_data(cls, data: Any) -> DeploySettings:
        """Read every field from pyinfra host data (an attribute per key), or its default."""
        values = {}
        for name in cls.__dataclass_fields__:
            value = data.get(name)
            if value is not None:
                values[name] = value
        return cls(**values)

    @property
    def bundle_dir(self) -> str:
        return f"{self.chrono_dir}/bundle"

    def local_bundle_dir(self, host_name: str) -> Path:
        """Where the controller renders `host_name`'s bundle (`@local` -> `local`). Its
        .env keeps the host's secrets from one deploy to the next: keep this directory."""
        return Path(self.controller_dir) / host_name.lstrip("@") / "bundle"
