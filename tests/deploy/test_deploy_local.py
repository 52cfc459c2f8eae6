"""End to end on this machine: the offline images, a pyinfra deploy to @local, a request
against the stack, a second deploy that changes nothing, and a teardown that leaves
nothing running."""

from __future__ import annotations

import json
import secrets
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest
from docker.models.containers import Container

from harness.runtime.compose.dockerd import compose_command
from harness.runtime.deploy import run_deploy
from tests.deploy.hosts import deployment_data

# a first build of the offline images (in the fixture) takes minutes
pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.timeout(1800)]
PROJECT_LABEL = "com.docker.compose.project"
HTTP_TIMEOUT_S = 30.0
# a scrape interval (1 s in the local share plan) and then some
SCRAPE_WAIT_S = 30.0
INVENTORY = """
local = [("@local", {data!r})]
"""


@pytest.fixture
def deployment(offline_images: object, tmp_path: Path) -> Iterator[dict[str, object]]:
    """A @local inventory of its own (project, port, directories); torn down after."""
    data = deployment_data(tmp_path, 8192, "chrono-test")
    inventory = tmp_path / "inventory.py"
    inventory.write_text(INVENTORY.format(data=data))
    data["inventory"] = inventory
    yield data
    bundle = tmp_path / "host" / "bundle"
    subprocess.run(
        [*compose_command(), "--project-name", str(data["project"]), "--project-directory",
         str(bundle), "down", "-v", "--remove-orphans", "--timeout", "10"],
        capture_output=True, check=False, timeout=180,
    )  # fmt: skip


def result_rows(output: str) -> list[list[str]]:
    """pyinfra's results table: [operation, hosts, success, error, no change] per row."""
    rows = []
    lines = output[output.index("--> Results:") :].splitlines()[2:]
    for line in lines:
        if not line.strip() or line.startswith("-->"):
            break
        *name, hosts, success, error, unchanged = line.split()
        rows.append([" ".join(name), hosts, success, error, unchanged])
    return rows


def scrape_health(prometheus: Container) -> dict[str, str]:
    """Prometheus's view of its targets inside the stack: job -> health."""
    answer = prometheus.exec_run(["wget", "-qO-", "http://127.0.0.1:9090/api/v1/targets"])
    targets = json.loads(answer.output)["data"]["activeTargets"]
    return {target["labels"]["job"]: target["health"] for target in targets}


def _token(api: str) -> str:
    email, password = f"deploy-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
    created = httpx.post(
        f"{api}/api/v1/auth/register",
        json={"email": email, "password": password},
        timeout=HTTP_TIMEOUT_S,
    )
    assert created.status_code == 201, created.text
    login = httpx.post(
        f"{api}/api/v1/auth/login",
        data={"username": email, "password": password},
        timeout=HTTP_TIMEOUT_S,
    )
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


def test_deploy_to_local_is_idempotent_and_serves(
    deployment: dict[str, object], docker_engine: object
) -> None:
    inventory = Path(str(deployment["inventory"]))
    project = str(deployment["project"])

    started = time.monotonic()
    run_deploy(inventory, limit=["@local"], capture=True)
    first_s = time.monotonic() - started

    api = f"http://127.0.0.1:{deployment['api_port']}"
    health = httpx.get(f"{api}/health", timeout=HTTP_TIMEOUT_S)
    assert health.status_code == 200, health.text
    assert health.json()["search_backend"] == "postgres"  # no Meilisearch offline
    headers = {"Authorization": f"Bearer {_token(api)}"}
    projects = httpx.get(f"{api}/api/v1/projects/", headers=headers, timeout=HTTP_TIMEOUT_S)
    assert projects.status_code == 200, projects.text
    assert projects.json() == [] or isinstance(projects.json(), list | dict)

    env_file = Path(str(deployment["chrono_dir"])) / "bundle" / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600

    client = docker.from_env()
    containers = client.containers.list(filters={"label": f"{PROJECT_LABEL}={project}"})
    services = {c.labels["com.docker.compose.service"]: c for c in containers}
    assert {"api", "worker", "postgres", "redis_cache", "redis_broker", "prometheus"} <= set(
        services
    )
    # the budget's limits are on the containers (resource_limits defaults to on)
    assert services["api"].attrs["HostConfig"]["Memory"] > 0
    # every scrape job of the bundle reaches its target (the worker's metrics included)
    deadline = time.monotonic() + SCRAPE_WAIT_S
    while set((health := scrape_health(services["prometheus"])).values()) != {"up"}:
        assert time.monotonic() < deadline, health
        time.sleep(1)
    assert set(health) == {"prometheus", "api", "worker", "postgres", "redis_cache",
                           "redis_broker"}  # fmt: skip

    started = time.monotonic()
    second = run_deploy(inventory, limit=["@local"], capture=True)
    second_s = time.monotonic() - started
    output = second.stdout + second.stderr  # pyinfra logs its progress on stderr
    changed = [row for row in result_rows(output) if row[2] != "-"]
    assert changed == [], output[-2000:]
    print(json.dumps({"first_deploy_s": round(first_s, 1), "second_deploy_s": round(second_s, 1)}))
    print(output[output.index("--> Results:") :])

    bundle = Path(str(deployment["chrono_dir"])) / "bundle"
    subprocess.run(
        [*compose_command(), "--project-name", project, "--project-directory", str(bundle),
         "down", "-v", "--remove-orphans", "--timeout", "10"],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    label = {"label": f"{PROJECT_LABEL}={project}"}
    assert client.containers.list(all=True, filters=label) == []
    assert client.networks.list(filters=label) == []
    assert client.volumes.list(filters=label) == []
    assert env_file.exists()  # the host keeps its secrets for the next deploy
