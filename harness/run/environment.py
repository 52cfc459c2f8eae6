"""What a run records about where it ran: git commit, host, and tool versions."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil

from harness.paths import REPO_ROOT
from harness.results import GitInfo, HostInfo
from harness.units import MIB

PACKAGES = ("locust", "fastapi", "uvicorn", "celery", "psycopg", "redis", "prometheus-client")


def git_info(repo: Path = REPO_ROOT) -> GitInfo:
    """The commit checked out and whether the tree has uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "HEAD") or "unknown"
    return {"commit": commit, "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def os_name() -> str:
    try:
        return platform.freedesktop_os_release()["PRETTY_NAME"]
    except (OSError, KeyError):
        return platform.platform()


def host_info() -> HostInfo:
    return {
        "cpus": psutil.cpu_count() or 1,
        "memory_mb": psutil.virtual_memory().total // MIB,
        "cpu_model": cpu_model(),
        "os": os_name(),
    }


def package_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    found["python_executable"] = sys.executable
    return found
