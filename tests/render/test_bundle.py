"""What a rendered bundle promises: compose structure, determinism, private reused secrets,
and a compose file docker compose itself accepts."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from dotenv import dotenv_values

from harness.budget.allocation import Budget, allocate
from harness.budget.inventory import HostSpec
from harness.render.bundle import Images, RenderOptions, render_bundle
from harness.render.secrets import SECRET_NAMES

COMPOSE = str(Path(sys.executable).parent / "docker-compose")
REPORT_HOST = HostSpec(name="chrono-8c16g", cpus=8, memory_mb=16384)
SMALL_HOST = HostSpec(name="small", cpus=2, memory_mb=4096)
APP_ENV_KEYS = {
    "CHRONO_API_WORKERS",
    "CHRONO_DB_POOL_MIN",
    "CHRONO_DB_POOL_MAX",
    "CHRONO_CELERY_CONCURRENCY",
    "CHRONO_CELERY_PREFETCH_MULTIPLIER",
    "CHRONO_CELERY_MAX_MEMORY_PER_CHILD_KIB",
    "CHRONO_CELERY_MAX_TASKS_PER_CHILD",
    "CHRONO_CELERY_TIME_LIMIT_S",
    "CHRONO_CELERY_SOFT_TIME_LIMIT_S",
    "CHRONO_SEARCH_BACKEND",
    "CHRONO_MEILI_URL",
}


@pytest.fixture(scope="module")
def budget() -> Budget:
    return allocate(REPORT_HOST)


def _compose(bundle: Path) -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((bundle / "compose.yml").read_text())
    return compose


def _files(bundle: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in bundle.iterdir() if path.name != ".env"}


def _compose_config(bundle: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMPOSE, "--project-directory", str(bundle), "-f", str(bundle / "compose.yml"),
         "config", *extra],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_every_service_is_limited_checked_restarted_and_private(
    budget: Budget, tmp_path: Path
) -> None:
    compose = _compose(render_bundle(budget, tmp_path))

    assert set(compose["services"]) == set(budget.services)
    for name, service in compose["services"].items():
        resources = service["deploy"]["resources"]
        alloc = budget[name]
        assert float(resources["limits"]["cpus"]) == alloc.cpus
        assert resources["limits"]["memory"] == f"{alloc.memory_mb}M"
        assert float(resources["reservations"]["cpus"]) == alloc.reservation_cpus
        assert resources["reservations"]["memory"] == f"{alloc.reservation_mb}M"
        assert service["healthcheck"]["test"]
        assert service["restart"] == "unless-stopped"
        assert service["networks"] == ["backend"]
        assert ("ports" in service) == (name == "api"), name
    assert compose["services"]["api"]["ports"] == ["127.0.0.1:8000:8000"]
    assert list(compose["networks"]) == ["backend"]
    named = {
        volume.split(":")[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith("./")
    }
    assert named == set(compose["volumes"])
    api_command = compose["services"]["api"]["command"]
    assert api_command[api_command.index("--workers") + 1] == budget["api"].settings["workers"]


def test_resource_limits_off_is_the_reports_current(budget: Budget, tmp_path: Path) -> None:
    options = RenderOptions(resource_limits=False)
    compose = _compose(render_bundle(budget, tmp_path, options=options))
    assert all("deploy" not in service for service in compose["services"].values())


def test_postgres_search_backend_drops_meilisearch(budget: Budget, tmp_path: Path) -> None:
    options = RenderOptions(search_backend="postgres", api_bind="0.0.0.0", api_port=18000)
    bundle = render_bundle(budget, tmp_path, options=options)
    compose = _compose(bundle)
    assert "meilisearch" not in compose["services"]
    assert "meili_data" not in compose["volumes"]
    assert "meilisearch" not in compose["services"]["api"]["depends_on"]
    assert compose["services"]["api"]["ports"] == ["0.0.0.0:18000:8000"]
    assert dotenv_values(bundle / "app.env")["CHRONO_SEARCH_BACKEND"] == "postgres"


def test_images_are_an_option(budget: Budget, tmp_path: Path) -> None:
    images = Images(app="offline/app:1", postgres="offline/postgres:15", redis="offline/redis:7")
    options = RenderOptions(images=images, build_context="")
    compose = _compose(render_bundle(budget, tmp_path, options=options))
    assert compose["services"]["postgres"]["image"] == "offline/postgres:15"
    assert compose["services"]["redis_broker"]["image"] == "offline/redis:7"
    assert compose["services"]["worker"]["image"] == "offline/app:1"
    assert "build" not in compose["services"]["api"]


def test_app_env_carries_the_budget(budget: Budget, tmp_path: Path) -> None:
    bundle = render_bundle(budget, tmp_path)
    app_env = dotenv_values(bundle / "app.env")
    assert set(app_env) == APP_ENV_KEYS
    assert app_env["CHRONO_API_WORKERS"] == budget["api"].settings["workers"]
    worker = budget["worker"].settings
    assert app_env["CHRONO_CELERY_CONCURRENCY"] == worker["worker_concurrency"]
    max_memory_kib = app_env["CHRONO_CELERY_MAX_MEMORY_PER_CHILD_KIB"]
    assert max_memory_kib == worker["worker_max_memory_per_child"]
    worker_env = dotenv_values(bundle / "worker.env")
    assert worker_env == {"CHRONO_DB_POOL_MIN": "1", "CHRONO_DB_POOL_MAX": "2"}
    assert json.loads((bundle / "budget.json").read_text()) == budget.to_dict()


def test_same_inputs_give_byte_identical_files(budget: Budget, tmp_path: Path) -> None:
    options = RenderOptions(build_context="..")
    first = _files(render_bundle(budget, tmp_path / "a", options=options))
    second = _files(render_bundle(budget, tmp_path / "b", options=options))
    assert first == second
    again = _files(render_bundle(allocate(REPORT_HOST), tmp_path / "a", options=options))
    assert again == first


def test_secrets_are_generated_once_private_and_reused(budget: Budget, tmp_path: Path) -> None:
    bundle = render_bundle(budget, tmp_path)
    env_file = bundle / ".env"
    secrets = dotenv_values(env_file)
    assert set(secrets) == set(SECRET_NAMES)
    assert len(set(secrets.values())) == len(SECRET_NAMES)
    assert all(len(value or "") >= 32 for value in secrets.values())
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600

    # No secret is written anywhere but .env.
    for path in bundle.iterdir():
        if path.name != ".env":
            text = path.read_text()
            assert not any(value and value in text for value in secrets.values()), path.name

    # Rendered again (even for another host): same secrets, still private.
    os.chmod(env_file, 0o644)
    render_bundle(allocate(SMALL_HOST), tmp_path)
    assert dotenv_values(env_file) == secrets
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600

    # A secret removed by hand is regenerated; the others are kept.
    kept = {key: value for key, value in secrets.items() if key != "MEILI_MASTER_KEY"}
    env_file.write_text("".join(f"{key}={value}\n" for key, value in kept.items()))
    render_bundle(budget, tmp_path)
    again = dotenv_values(env_file)
    assert {key: again[key] for key in kept} == kept
    assert again["MEILI_MASTER_KEY"] not in (None, "", secrets["MEILI_MASTER_KEY"])


@pytest.mark.parametrize(
    "options",
    [
        RenderOptions(),
        RenderOptions(resource_limits=False, pg_tuning=False, search_backend="postgres"),
    ],
    ids=["default", "limits-off-postgres-search"],
)
def test_docker_compose_accepts_the_bundle(
    budget: Budget, tmp_path: Path, options: RenderOptions
) -> None:
    bundle = render_bundle(budget, tmp_path / "bundle", options=options)

    result = _compose_config(bundle, "-q")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no warning either (an unset variable would warn)

    # Compose interpolates the secrets from .env into the services' environment.
    resolved = json.loads(_compose_config(bundle, "--format", "json").stdout)
    password = dotenv_values(bundle / ".env")["POSTGRES_PASSWORD"]
    database_url = resolved["services"]["api"]["environment"]["CHRONO_DATABASE_URL"]
    assert database_url == f"postgresql://chrono:{password}@postgres:5432/chrono"
    assert resolved["services"]["worker"]["environment"]["CHRONO_DB_POOL_MAX"] == "2"
    assert resolved["services"]["api"]["environment"]["CHRONO_DB_POOL_MAX"] == "10"
