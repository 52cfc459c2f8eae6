"""`chrono-bench run --runtime compose --host box` against a deployed inventory host: `box`
is this machine reached through an sshd on loopback (its engine is this machine's), deployed
with the real pyinfra deploy over SSH. The run refuses while the deployed stack runs, then
measures with box's budget, its engine reached over SSH, and leaves nothing on the host:
no container, network or volume of its project, no run directory, no ssh process, no
forwarded port. An unreachable host fails in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.budget.allocation import allocate
from harness.budget.inventory import get_host, load_inventory
from harness.results import load_results
from harness.runtime.compose.dockerd import compose_command
from harness.runtime.deploy import run_deploy
from harness.runtime.ports import free_port
from tests.deploy.hosts import deployment_data, project_leftovers
from tests.topology.netns import LoopbackSsh, loopback_sshd, sshd_unavailable

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.timeout(900)]
CHRONO_BENCH = str(Path(sys.executable).parent / "chrono-bench")
RUN_TIMEOUT_S = 600
INVENTORY = "box = [('box', {data!r})]\n"


@dataclass
class Box:
    ssh: LoopbackSsh
    inventory: Path
    data: dict[str, object]

    @property
    def runs_dir(self) -> Path:
        return Path(str(self.data["chrono_dir"])) / "runs"


def deployed_compose(box: Box, *args: str) -> None:
    """`docker compose` of the deployed project, as one would run it on the host."""
    bundle = Path(str(box.data["chrono_dir"])) / "bundle"
    subprocess.run(
        [*compose_command(), "--project-name", str(box.data["project"]), "--project-directory",
         str(bundle), *args],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip


def chrono_bench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHRONO_BENCH, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, check=False)  # fmt: skip


@pytest.fixture
def box(offline_images: object, tmp_path: Path) -> Iterator[Box]:
    why = sshd_unavailable()
    if why:
        pytest.skip(why)
    with loopback_sshd(tmp_path / "ssh", free_port()) as ssh:
        data = {**deployment_data(tmp_path, 4096, "chrono-box"), **ssh.inventory_data()}
        inventory = tmp_path / "inventory.py"
        inventory.write_text(INVENTORY.format(data=data))
        box = Box(ssh, inventory, data)
        try:
            yield box
        finally:
            deployed_compose(box, "down", "-v", "--remove-orphans", "--timeout", "10")


def ssh_clients(port: int) -> list[str]:
    """ssh processes of this machine still connected to the loopback sshd's port."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "ssh" and str(port) in cmdline:
            found.append(" ".join(cmdline))
    return found


def listening(port: int) -> bool:
    return any(
        conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN
        for conn in psutil.net_connections("tcp")
    )


def test_run_against_a_deployed_host(box: Box, tmp_path: Path) -> None:
    started = time.monotonic()
    run_deploy(box.inventory, limit=["box"], capture=True)
    deploy_s = time.monotonic() - started
    project = str(box.data["project"])
    assert project_leftovers(project), "the deploy should have started the stack on box"

    reports = tmp_path / "reports"
    run = ("run", "--runtime", "compose", "--host", "box", "--inventory", str(box.inventory),
           "--optimizations", "redis_cache", "--repeats", "1",
           "--reports-dir", str(reports))  # fmt: skip
    refused = chrono_bench(*run, cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    [line] = refused.stderr.strip().splitlines()
    assert f"host 'box' runs the deployed stack (compose project '{project}')" in line
    assert "--limit box" in line
    assert not reports.exists()

    deployed_compose(box, "stop")
    started = time.monotonic()
    done = chrono_bench(*run, cwd=tmp_path)
    run_s = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    print(done.stderr)  # the run's steps, one plain line each (no terminal)
    results = load_results(reports / "latest")
    environment: dict[str, Any] = results["environment"]  # type: ignore[assignment]
    engine = environment["engine"]
    print(json.dumps({"deploy_s": round(deploy_s), "run_s": round(run_s), "engine": engine}))
    assert results["runtime"] == "compose" and results["finished_at"]
    assert results["budget"] == allocate(get_host(load_inventory(box.inventory), "box")).to_dict()
    assert results["budget"]["host"]["name"] == "box"
    assert engine["location"] == "ssh" and engine["host"] == "box"
    assert engine["ssh"] == f"root@127.0.0.1:{box.ssh.port}" and engine["version"]
    assert engine["project"].startswith("chrono-bench-") and engine["project"] != project
    images = environment["images"]
    assert images and all(image["outcome"] == "deployed" for image in images.values())
    assert "SSH tunnel" in environment["loadgen_note"]
    assert {"postgres", "redis", "prometheus"} <= set(environment["versions"])
    [verification] = results["verification"]
    assert verification["optimization"] == "redis_cache" and verification["passed"], verification
    samples = results["samples"]
    assert {s["variant"] for s in samples} == {"before", "after"}
    assert samples and all(sample["valid"] for sample in samples), [
        s for s in samples if not s["valid"]
    ]
    # the cache is hit with the optimization on only
    hit_rate = {s["variant"]: s["value"] for s in samples if s["metric"] == "cache_hit_rate"}
    assert hit_rate["after"] > hit_rate["before"], hit_rate

    # nothing left: on the engine, on the host, here
    assert project_leftovers(engine["project"]) == []
    assert not box.runs_dir.exists() or list(box.runs_dir.iterdir()) == []
    assert ssh_clients(box.ssh.port) == []
    forwarded = [int(local.rsplit(":", 1)[1]) for local in engine["forwards"].values()]
    assert len(forwarded) == 5 and not any(listening(port) for port in forwarded)


def test_an_unreachable_host_fails_in_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    data = {"cpus": 2, "memory_mb": 4096, "ssh_hostname": "127.0.0.1", "ssh_port": port,
            "ssh_user": "root"}  # fmt: skip
    inventory = tmp_path / "inventory.py"
    inventory.write_text(INVENTORY.format(data=data))
    reports = tmp_path / "reports"
    done = chrono_bench("run", "--runtime", "compose", "--host", "box", "--inventory",
                        str(inventory), "--reports-dir", str(reports), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        f"chrono-bench: --host: host 'box' (127.0.0.1:{port}) is unreachable over SSH: "
        f"ssh: connect to host 127.0.0.1 port {port}: Connection refused"
    )
    assert not reports.exists()
