"""Fast checks of a run against a deployed host that need no engine or SSH: which hosts
qualify, the SSH and compose command lines, the uploaded bundle's modes, the host's free
ports, and what such a run cannot measure."""

from __future__ import annotations

import io
import shlex
import tarfile
from pathlib import Path

import pytest

from harness.budget.inventory import load_inventory
from harness.errors import UserError
from harness.run.session import BenchmarkSession, RunOptions
from harness.runtime.compose.ssh_engine import (
    DOCKER_SOCKET,
    PID_FILE,
    SshEngine,
    listening_ports,
    remote_host,
    tar_bundle,
)
from harness.runtime.runtimes import REMOTE_UNAVAILABLE_SCENARIOS
from harness.runtime.ssh import SshLogin, ssh_options

INVENTORY = """
box = [("box", {"cpus": 2, "memory_mb": 4096, "ssh_hostname": "10.9.0.7", "ssh_port": 2200,
                "ssh_user": "deploy", "ssh_key": "/k/id", "_sudo": True,
                "chrono_dir": "/srv/chrono", "project": "chrono-box"})]
bare = [("bare", {"cpus": 2, "memory_mb": 4096})]
local = [("@local", {"cpus": 2, "memory_mb": 4096})]
"""
# /proc/net/tcp: 127.0.0.1:8000 listening (0A), 127.0.0.1:5432 connected (01)
PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid
   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0
   1: 0100007F:1538 0100007F:A0B2 01 00000000:00000000 00:00000000 00000000     0
"""
PROC_NET_TCP6 = """\
  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.py"
    path.write_text(INVENTORY)
    return path


def test_a_host_is_reached_with_its_pyinfra_data(inventory: Path, tmp_path: Path) -> None:
    host = remote_host(load_inventory(inventory), "box")
    assert host.login == SshLogin("10.9.0.7", 2200, "deploy", "/k/id")
    assert host.sudo and host.run_dir("p") == "/srv/chrono/runs/p"
    engine = SshEngine(host, tmp_path)
    command = engine.ssh()
    assert command[:3] == ["ssh", "-S", str(tmp_path / "ssh.ctl")]
    assert command[-1] == "deploy@10.9.0.7"
    # pyinfra's default host key checking; never a password prompt
    assert "StrictHostKeyChecking=accept-new" in command and "BatchMode=yes" in command
    assert command[command.index("-i") : command.index("-i") + 2] == ["-i", "/k/id"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope", "inventory: no host 'nope'"),
        ("bare", "host 'bare' in '.*' has no ssh_hostname"),
        ("@local", "'@local' is not reached over SSH: leave --host out"),
    ],
)
def test_hosts_a_run_cannot_use(inventory: Path, name: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        remote_host(load_inventory(inventory), name)


def test_compose_runs_on_the_host_in_the_runs_directory(inventory: Path, tmp_path: Path) -> None:
    engine = SshEngine(remote_host(load_inventory(inventory), "box"), tmp_path)
    # before the bundle is uploaded: by the project's name alone (what `down` needs)
    [script] = engine.command("chrono-bench-1", tmp_path, "down", "-v")[-1:]
    assert shlex.split(shlex.split(script)[-1]) == [
        "exec", "docker", "compose", "--project-name", "chrono-bench-1", "down", "-v",
    ]  # fmt: skip
    engine._synced.add("chrono-bench-1")
    script = engine.command("chrono-bench-1", tmp_path, "up", "-d", "--wait", "api")[-1]
    assert script.startswith("sudo -n sh -c ")  # the inventory's _sudo
    inner = shlex.split(script)[-1]
    run_dir = "/srv/chrono/runs/chrono-bench-1"
    assert inner.startswith(f"echo $$ > {run_dir}/{PID_FILE} && exec docker compose ")
    assert f"--project-directory {run_dir}/bundle -f {run_dir}/bundle/compose.yml" in inner
    assert inner.endswith("up -d --wait api")
    assert engine.docker_socket == tmp_path / DOCKER_SOCKET


def test_the_uploaded_bundle_keeps_its_secrets_private(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "grafana").mkdir(parents=True)
    (bundle / ".env").write_text("POSTGRES_PASSWORD=x\n")
    (bundle / "compose.yml").write_text("services: {}\n")
    (bundle / "compose.yml").chmod(0o666)
    (bundle / "grafana" / "a.json").write_text("{}")
    with tarfile.open(fileobj=io.BytesIO(tar_bundle(bundle))) as archive:
        modes = {member.name: member.mode for member in archive.getmembers()}
    assert modes == {".env": 0o600, "compose.yml": 0o644, "grafana": 0o750,
                     "grafana/a.json": 0o644}  # fmt: skip


def test_listening_ports() -> None:
    assert listening_ports(PROC_NET_TCP + PROC_NET_TCP6) == {8000, 8080}


def test_ssh_options_follow_the_inventory() -> None:
    login = SshLogin("h", 22, known_hosts_file="/k/known", strict_host_key_checking="yes")
    options = ssh_options(login)
    assert "UserKnownHostsFile=/k/known" in options and "StrictHostKeyChecking=yes" in options
    assert "-i" not in options and login.target == "h"


def test_a_run_on_a_host_does_not_plan_the_stress_scenario(inventory: Path) -> None:
    options = RunOptions(optimizations="redis_cache,resource_limits", runtime="compose",
                         inventory=inventory, host="box")  # fmt: skip
    session = BenchmarkSession(options)
    assert session.budget.host.name == "box" and session.budget.host.memory_mb == 4096
    assert session.not_measured == {"resource_limits": REMOTE_UNAVAILABLE_SCENARIOS["stress"]}
    assert all("stress" not in window.scenarios() for window in session.plan)


@pytest.mark.parametrize(
    ("runtime", "optimizations", "message"),
    [
        ("local", "redis_cache", "--host: only the compose runtime runs on a deployed host"),
        ("compose", "resource_limits", "nothing to run on the compose runtime: resource_limits"),
    ],
)
def test_runs_refused_on_a_host(
    inventory: Path, runtime: str, optimizations: str, message: str
) -> None:
    options = RunOptions(optimizations=optimizations, runtime=runtime, inventory=inventory,
                         host="box")  # fmt: skip
    with pytest.raises(UserError, match=message):
        BenchmarkSession(options)
