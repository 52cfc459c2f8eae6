"""Multi-host end to end on real network hosts: three network namespaces with their own
addresses and sshd, a pyinfra deploy of a db / app+worker / loadgen inventory over SSH,
a short distributed api scenario with locust workers on the load host reaching the
master here, and a teardown that leaves nothing running. Then `chrono-bench run` itself
with its workers on the load host (`--load-hosts`, `--listen`), and a load host that
cannot be reached refused in one line.

Each host's services run as processes (deploy/processes.py, harness/runtime/local/host_processes.py)
standing in for compose: one Docker engine serves this whole machine, so containers
cannot live in the namespaces' networks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import httpx
import psutil
import pytest

from app.seed import seed
from deploy.processes import stop_command
from deploy.settings import DeploySettings
from harness.budget.inventory import load_inventory
from harness.errors import UserError
from harness.load.hosts import select_load_hosts, ssh_command
from harness.load.local import run_locust
from harness.runtime.chrono import read_env_file
from harness.runtime.deploy import run_deploy
from harness.runtime.placement import Placement
from harness.runtime.ssh import SshHost
from scenarios.api import ApiScenario
from scenarios.profiles import get_profile
from tests.topology.netns import SSH_PORT, NsNetwork, namespace_hosts, netns_unavailable

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
UNAVAILABLE = netns_unavailable()
REPO_ROOT = Path(__file__).resolve().parents[2]
CHRONO_BENCH = str(Path(sys.executable).parent / "chrono-bench")
HOSTS = ["db", "app", "lg"]
HOST_CAPACITY = {"cpus": 2, "memory_mb": 4096}
LOAD_WORKERS = 2
API_DURATION_S = 6.0
# The quick profile's windows (api 6 s), one repeat per variant: about two minutes.
RUN_TIMEOUT_S = 420
HTTP_TIMEOUT_S = 10.0
INVENTORY = """
db = [("db", {db!r})]
app = [("app", {app!r})]
worker = ["app"]
loadgen = [("lg", {lg!r})]
"""


@pytest.fixture(scope="module")
def network() -> Iterator[NsNetwork]:
    if UNAVAILABLE:
        pytest.skip(f"namespace hosts cannot be made here: {UNAVAILABLE}")
    base = Path(tempfile.mkdtemp(prefix="chrono-netns-"))
    base.chmod(0o711)  # each host's PostgreSQL runs as the postgres user below it
    with namespace_hosts(HOSTS, base) as hosts:
        yield hosts
    assert _ours(hosts) == [], "namespaces or bridge left behind"
    assert _processes_under(base) == [], "processes left behind"


def _ours(network: NsNetwork) -> list[str]:
    names = {host.namespace for host in network.hosts.values()}
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    left = [line.split()[0] for line in listed.splitlines() if line.split()[0] in names]
    links = subprocess.run(["ip", "link", "show", network.bridge], capture_output=True)
    return left + ([network.bridge] if links.returncode == 0 else [])


def _processes_under(base: Path) -> list[str]:
    found = []
    for process in psutil.process_iter(["cmdline", "cwd"]):
        text = " ".join(process.info["cmdline"] or []) + " " + (process.info["cwd"] or "")
        if str(base) in text:
            found.append(f"{process.pid}: {text[:120]}")
    return found


def _inventory(network: NsNetwork, base: Path, extra: str = "") -> Path:
    data = {}
    for name in HOSTS:
        data[name] = {
            **HOST_CAPACITY,
            **network.inventory_data(name),
            "runtime": "processes",
            "images": "offline",  # search on PostgreSQL: no Meilisearch here
            "chrono_dir": str(base / name / "opt"),
            "controller_dir": str(base / "controller"),
            "chrono_checkout": str(REPO_ROOT),
            "chrono_python": sys.executable,
        }
    path = base / "inventory.py"
    path.write_text(INVENTORY.format(**data) + extra)
    return path


def _stop_stack(network: NsNetwork, base: Path) -> None:
    """The deploy's own stop, over SSH, on each stack host."""
    for name in ("db", "app"):
        settings = DeploySettings(chrono_dir=str(base / name / "opt"))
        host = SshHost(
            name, network.hosts[name].address, ssh_port=SSH_PORT, ssh_user="root",
            ssh_key=str(network.key), known_hosts_file=str(network.known_hosts),
        )  # fmt: skip
        command = ssh_command(host, ["sh", "-c", stop_command(settings)], {})
        subprocess.run(command, capture_output=True, timeout=120, check=False)


def _processes(network: NsNetwork, name: str) -> dict[int, str]:
    """pid -> command line of every process in host `name`'s network namespace."""
    found = {}
    for pid in network.hosts[name].pids():
        try:
            found[pid] = " ".join(psutil.Process(pid).cmdline())
        except psutil.NoSuchProcess:
            continue
    return found


def _cmdlines(network: NsNetwork, name: str) -> list[str]:
    return list(_processes(network, name).values())


def test_deploy_three_hosts_and_run_distributed_load(network: NsNetwork) -> None:
    base = Path(tempfile.mkdtemp(prefix="run-", dir=network.key.parent))
    base.chmod(0o711)
    inventory = _inventory(network, base)
    try:
        started = time.monotonic()
        run_deploy(inventory, capture=True)
        deploy_s = time.monotonic() - started

        # each host runs only its own services
        db, app = _cmdlines(network, "db"), _cmdlines(network, "app")
        assert any("postgres" in line and "-D" in line for line in db), db
        assert not any("uvicorn" in line or "celery" in line for line in db)
        assert any("uvicorn" in line for line in app) and any("celery" in line for line in app)
        assert any("redis-server" in line for line in app)
        assert not any("bin/postgres" in line for line in app)

        # the API on the app host answers, from the database on the db host
        secrets = read_env_file(base / "controller" / "stack-secrets" / ".env")
        dsn = (
            f"postgresql://chrono:{secrets['POSTGRES_PASSWORD']}@"
            f"{network.hosts['db'].address}:5432/chrono"
        )
        seed(dsn, "quick")
        api_url = f"http://{network.hosts['app'].address}:8000"
        assert httpx.get(f"{api_url}/health", timeout=HTTP_TIMEOUT_S).status_code == 200

        # the api scenario's load, from locust workers on the load host
        profile = replace(get_profile("quick"), api_duration_s=API_DURATION_S)
        target = SimpleNamespace(api_url=api_url, database_url=dsn)
        scenario = ApiScenario()
        scenario.prepare(target, profile)
        spec = scenario.spec(target, profile)
        hosts = select_load_hosts(load_inventory(inventory), "loadgen")
        placement = replace(
            Placement(), load_workers=LOAD_WORKERS, load_hosts=hosts, listen=network.controller
        )
        seen_on_lg: dict[int, str] = {}
        watching = threading.Event()

        def watch_load_host() -> None:
            while not watching.wait(0.5):
                seen_on_lg.update(
                    (pid, line)
                    for pid, line in _processes(network, "lg").items()
                    # the worker itself, not the shell or env that exec it
                    if line.startswith(sys.executable) and "-m locust --worker" in line
                )

        watcher = threading.Thread(target=watch_load_host)
        watcher.start()
        try:
            result = run_locust(spec, base / "windows", "api", placement)
        finally:
            watching.set()
            watcher.join()

        assert result.workers == {"lg": LOAD_WORKERS}
        assert result.lost_workers == () and result.valid, result.invalid_reason
        assert len(seen_on_lg) == LOAD_WORKERS, seen_on_lg  # they ran on the load host
        master_log = (base / "windows" / "api.log").read_text()
        assert f"{LOAD_WORKERS} workers connected" in master_log
        projects = result.stats["projects"]
        assert projects.requests > 0 and projects.failures == 0, result.stats
        assert result.total.failures == 0
        # the workers are gone with their master
        assert [line for line in _cmdlines(network, "lg") if "locust" in line] == []
        print(f"deploy {deploy_s:.1f} s; {result.total.requests} requests, "
              f"{result.total.rps:.1f} rps from {LOAD_WORKERS} workers on lg")  # fmt: skip
    finally:
        _stop_stack(network, base)

    # nothing but sshd is left on any host
    for name in HOSTS:
        left = [line for line in _cmdlines(network, name) if "sshd" not in line]
        assert left == [], (name, left)


def test_an_unreachable_host_fails_the_deploy_in_one_line(network: NsNetwork) -> None:
    base = Path(tempfile.mkdtemp(prefix="ghost-", dir=network.key.parent))
    ghost = network.controller.rsplit(".", 1)[0] + ".99"  # on the bridge, no host
    extra = f'ghost = [("ghost", {{"cpus": 2, "memory_mb": 2048, "ssh_hostname": "{ghost}"}})]\n'
    inventory = _inventory(network, base, extra)

    with pytest.raises(UserError, match=f"deploy: host 'ghost' is unreachable: .*{ghost}"):
        run_deploy(inventory, capture=True)
    done = subprocess.run(
        [CHRONO_BENCH, "deploy", "--inventory", str(inventory)],
        capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
        env={**os.environ},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("chrono-bench: deploy: host 'ghost' is unreachable: "), line
    # nothing was deployed anywhere
    assert not (base / "db" / "opt").exists()


def test_run_with_its_locust_workers_on_the_load_host(network: NsNetwork) -> None:
    """`chrono-bench run --load-hosts loadgen --listen ADDRESS`: the local stack's API and
    locust's master listen on the bridge's address, the workers run on `lg` over SSH."""
    base = Path(tempfile.mkdtemp(prefix="cli-", dir=network.key.parent))
    base.chmod(0o711)
    tmp = base / "tmp"  # the run's stack directory: its processes' paths name `base`
    tmp.mkdir(mode=0o711)
    tmp.chmod(0o711)
    local = load_inventory(REPO_ROOT / "inventory.py").hosts
    local_data = next(spec.data for spec in local if spec.name == "@local")
    lg = {
        **HOST_CAPACITY, **network.inventory_data("lg"),
        "chrono_checkout": str(REPO_ROOT), "chrono_python": sys.executable,
    }  # fmt: skip
    inventory = base / "inventory.py"
    inventory.write_text(f"local = [('@local', {local_data!r})]\nloadgen = [('lg', {lg!r})]\n")
    reports = base / "reports"
    seen_on_lg: dict[int, str] = {}
    output = base / "run.log"
    with output.open("w") as log:
        process = subprocess.Popen(
            [CHRONO_BENCH, "run", "--optimizations", "stats_aggregate", "--repeats", "1",
             "--load-workers", str(LOAD_WORKERS), "--load-hosts", "loadgen",
             "--listen", network.controller,
             "--inventory", str(inventory), "--reports-dir", str(reports)],
            cwd=REPO_ROOT, stdout=log, stderr=log, env={**os.environ, "TMPDIR": str(tmp)},
        )  # fmt: skip
        deadline = time.monotonic() + RUN_TIMEOUT_S
        try:
            while process.poll() is None and time.monotonic() < deadline:
                seen_on_lg.update(
                    (pid, line)
                    for pid, line in _processes(network, "lg").items()
                    if line.startswith(sys.executable) and "-m locust --worker" in line
                )
                time.sleep(0.5)
        finally:
            if process.poll() is None:
                process.terminate()  # the run stops its stack on SIGTERM
                process.wait(timeout=120)
    assert process.returncode == 0, output.read_text()[-3000:]

    results = json.loads((reports / "latest" / "results.json").read_text())
    environment = results["environment"]
    assert environment["load_generator"] == {
        "mode": "distributed", "workers": LOAD_WORKERS, "hosts": {"lg": LOAD_WORKERS},
        "addresses": {"lg": network.hosts["lg"].address},
    }  # fmt: skip
    assert environment["placement"]["listen"] == network.controller
    assert environment["placement"]["load_hosts"] == [
        {"name": "lg", "address": network.hosts["lg"].address}
    ]
    ceiling = environment["loadgen_max_rps"]
    assert ceiling["locust_workers_1"] > 0 and ceiling["locust_workers_2"] > 0
    samples = results["samples"]
    assert {s["variant"] for s in samples} == {"before", "after"}
    assert all(s["valid"] for s in samples), [s for s in samples if not s["valid"]]
    rps = [s["value"] for s in samples if s["metric"] == "api_rps"]
    assert len(rps) == 2 and min(rps) > 0, rps
    assert results["verification"] and all(v["passed"] for v in results["verification"])
    # every window's load came from both workers on lg, through the master here
    run_dir = (reports / "latest").resolve()
    master_logs = sorted(run_dir.glob("windows/round-*/*/api.log"))
    assert len(master_logs) == 2, master_logs
    for master_log in master_logs:
        assert f"{LOAD_WORKERS} workers connected" in master_log.read_text(), master_log
    workers_seen = {line.split(" --master-host ")[1].split()[0] for line in seen_on_lg.values()}
    assert workers_seen == {network.controller}, seen_on_lg
    assert len(seen_on_lg) >= 2 * LOAD_WORKERS  # both windows' own workers

    # nothing left: no locust on lg, no stack or master process here
    assert [line for line in _cmdlines(network, "lg") if "sshd" not in line] == []
    assert _processes_under(base) == []
    print(f"run: {len(seen_on_lg)} workers on lg over the run; api rps {rps}; "
          f"ceiling {ceiling}")  # fmt: skip


def test_an_unreachable_load_host_fails_the_run_in_one_line(network: NsNetwork) -> None:
    base = Path(tempfile.mkdtemp(prefix="ghost-run-", dir=network.key.parent))
    ghost = network.controller.rsplit(".", 1)[0] + ".99"  # on the bridge, no host
    data = {"cpus": 1, "memory_mb": 1024, "ssh_hostname": ghost}
    line = _refused_run(network, base, "ghost", data)
    assert line.startswith(
        f"chrono-bench: --load-hosts: host 'ghost' is unreachable over SSH: "
        f"ssh: connect to host {ghost} port 22: "
    ), line

    # a host that answers but cannot run the workers: said so, naming it
    data = {**HOST_CAPACITY, **network.inventory_data("lg"), "chrono_python": "/nonexistent/py"}
    line = _refused_run(network, base, "lg", data)
    assert line.startswith(
        "chrono-bench: --load-hosts: host 'lg' cannot start locust workers with "
        f"/nonexistent/py in {REPO_ROOT}: "
    ), line


def _refused_run(network: NsNetwork, base: Path, name: str, data: dict[str, object]) -> str:
    """The one line `run --load-hosts NAME` exits 2 with, before measuring anything."""
    inventory = base / "inventory.py"
    local = {"cpus": 2, "memory_mb": 4096}
    inventory.write_text(f"local = [('@local', {local!r})]\nloadgen = [({name!r}, {data!r})]\n")
    done = subprocess.run(
        [CHRONO_BENCH, "run", "--load-hosts", name, "--listen", network.controller,
         "--inventory", str(inventory), "--reports-dir", str(base / "reports")],
        capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert not (base / "reports").exists()
    [line] = done.stderr.splitlines()
    return line
