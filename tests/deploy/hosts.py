"""Shared by the deploy tests: the host data of a deployment of their own on this
machine's engine, and what is left of a compose project."""

from __future__ import annotations

import resource
import secrets
from pathlib import Path

import docker

from harness.runtime.compose.project import PROJECT_LABEL
from harness.runtime.ports import free_port


def deployment_data(base: Path, memory_mb: int, prefix: str) -> dict[str, object]:
    """Host data for a deploy under `base` (its project, API port and directories its own)
    to this machine's engine, with the offline images."""
    return {
        "cpus": 2,
        "memory_mb": memory_mb,
        "shares": "local",
        "manage_docker": False,
        "images": "offline",
        "project": f"{prefix}-{secrets.token_hex(3)}",
        "api_port": free_port(),
        "chrono_dir": str(base / "host"),
        "controller_dir": str(base / "controller"),
        # the engine cannot give containers more open files than its own hard limit
        "nofile_limit": min(65535, resource.getrlimit(resource.RLIMIT_NOFILE)[1]),
    }


def project_leftovers(project: str) -> list[str]:
    """Containers, networks and volumes of the compose project that still exist."""
    client = docker.from_env()
    label = {"label": f"{PROJECT_LABEL}={project}"}
    found = [f"container {c.name}" for c in client.containers.list(all=True, filters=label)]
    found += [f"network {n.name}" for n in client.networks.list(filters=label)]
    found += [f"volume {v.name}" for v in client.volumes.list(filters=label)]
    return found
