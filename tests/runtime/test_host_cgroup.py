"""The budget's host as a parent cgroup: its limits written on this machine's cgroup v1
hierarchies, removed with whatever the engine would have made inside them, removed on
every way out of the compose runtime's start, and a one-line error elsewhere."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest

from harness.budget.allocation import allocate
from harness.budget.inventory import HostSpec
from harness.errors import UserError
from harness.runtime.compose import engine as engine_location
from harness.runtime.compose import stack as compose
from harness.runtime.compose.cgroup import (
    CFS_PERIOD_US,
    CGROUP_ROOT,
    HostCgroup,
    cgroup_version,
    check_supported,
)
from harness.units import MIB

HOST = HostSpec(name="@local", cpus=2, memory_mb=4096, shares="local")
writable_v1 = pytest.mark.skipif(
    os.geteuid() != 0 or cgroup_version() != 1 or not os.access(CGROUP_ROOT / "memory", os.W_OK),
    reason="needs root and cgroup v1 hierarchies",
)


def _name() -> str:
    return f"chrono-bench-test-{secrets.token_hex(4)}"


@writable_v1
def test_the_limits_are_written_and_removal_takes_nested_cgroups_too() -> None:
    cgroup = HostCgroup(_name(), memory_mb=256, cpus=1.5)
    cgroup.create()
    try:
        memory = cgroup.directory("memory")
        assert int((memory / "memory.limit_in_bytes").read_text()) == 256 * MIB
        quota = int((cgroup.directory("cpu") / "cpu.cfs_quota_us").read_text())
        assert quota == 1.5 * CFS_PERIOD_US
        assert cgroup.oom_kills() == 0
        # what the engine makes for a container: a child, and the parent in other hierarchies
        (memory / "container").mkdir()
        (CGROUP_ROOT / "pids" / cgroup.name).mkdir()
    finally:
        cgroup.remove()
    assert list(CGROUP_ROOT.glob(f"*/{cgroup.name}")) == []
    cgroup.remove()  # safe twice


@pytest.mark.parametrize(
    ("unified", "driver"), [(True, "cgroupfs"), (False, "systemd"), (True, "systemd")]
)
def test_other_cgroup_setups_are_one_clear_error(
    tmp_path: Path, unified: bool, driver: str
) -> None:
    if unified:
        (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    with pytest.raises(UserError, match="supported on cgroup v1 with the engine's cgroupfs"):
        check_supported(driver, tmp_path)


def test_cgroup_v1_with_cgroupfs_is_supported(tmp_path: Path) -> None:
    check_supported("cgroupfs", tmp_path)  # no cgroup.controllers: v1 hierarchies


class _Engine:
    """Enough of a Docker client for a start that fails at `up` and its stop."""

    class _Empty:
        def list(self, *args: Any, **kwargs: Any) -> list[object]:
            return []

    containers = networks = volumes = _Empty()

    def info(self) -> dict[str, str]:
        return {"CgroupDriver": "cgroupfs"}


def _engine_gone(*args: object) -> None:
    raise ConnectionError("engine gone")


@writable_v1
@pytest.mark.parametrize(
    ("compose_cli", "down", "error", "match"),
    [
        # `up` fails: the start stops the stack, whose down works
        ("false", None, UserError, "compose: `up"),
        # `up` exits 0 but no container runs: the start stops the stack, and that down
        # fails (the engine gone meanwhile)
        ("true", _engine_gone, ConnectionError, "engine gone"),
    ],
    ids=["up-fails", "engine-gone-at-stop"],
)
def test_a_failed_start_removes_the_host_cgroup(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    compose_cli: str,
    down: Any,
    error: type[Exception],
    match: str,
) -> None:
    monkeypatch.setattr("docker.from_env", lambda **kwargs: _Engine())
    monkeypatch.setattr(engine_location, "compose_command", lambda: [compose_cli])
    if down is not None:
        monkeypatch.setattr(engine_location, "compose_down", down)
    stack = compose.ComposeStack(tmp_path, allocate(HOST), host_cgroup=True, project=_name())
    assert stack.host_cgroup is not None
    assert stack.options(stack.variant).cgroup_parent == f"/{stack.project}"
    with pytest.raises(error, match=match):
        stack.start()
    assert list(CGROUP_ROOT.glob(f"*/{stack.project}")) == []
