"""Fast checks of the deploy's pieces that need no engine: the pyinfra command line, host
data with defaults, the facts' parsing, and which services a re-render changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.facts import ComposeServices, ImageLabel
from deploy.settings import DeploySettings
from harness.budget.inventory import load_inventory
from harness.errors import UserError
from harness.runtime import deploy as deploy_module
from harness.runtime.compose.stack import changed_services
from harness.runtime.deploy import (
    DEPLOY_FILE,
    check_offline_images,
    deployed_hosts,
    pyinfra_command,
    run_deploy,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

COMPOSE_PS_CASES = [
    # compose v2 prints one object per line
    (['{"Service":"api","State":"running","Health":"healthy"}',
      '{"Service":"migrate","State":"exited","Health":""}'],
     {"api": "healthy", "migrate": "exited"}),
    # older releases print one array
    (['[{"Service":"worker","State":"running","Health":"starting"}]'], {"worker": "starting"}),
    ([""], {}),
]  # fmt: skip


@pytest.mark.parametrize(("output", "expected"), COMPOSE_PS_CASES)
def test_compose_services_fact(output: list[str], expected: dict[str, str]) -> None:
    assert ComposeServices().process(output) == expected


def test_image_label_fact() -> None:
    assert ImageLabel().process(["abc123\n"]) == "abc123"
    assert ImageLabel().process(["<no value>"]) == ""
    assert ImageLabel().process([]) == ""


def test_settings_from_host_data_keep_defaults() -> None:
    settings = DeploySettings.from_data({"images": "offline", "api_port": 18000, "cpus": 8})
    assert settings.images == "offline" and settings.api_port == 18000
    assert settings.manage_docker and settings.bundle_dir == "/opt/chrono-bench/bundle"
    assert settings.local_bundle_dir("@local") == Path(".run/deploy/local/bundle")


def test_pyinfra_command(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.py"
    command = pyinfra_command(inventory, dry=True, limit=["@local"])
    assert command[1:3] == [str(inventory.resolve()), str(DEPLOY_FILE.relative_to(REPO_ROOT))]
    assert command[-3:] == ["--limit", "@local", "--dry"]
    assert f"chrono_inventory={inventory.resolve()}" in command


def test_deploy_to_an_unknown_host_is_a_user_error() -> None:
    with pytest.raises(UserError, match="no host 'db9'"):
        run_deploy(REPO_ROOT / "inventory.py", limit=["db9"])


def test_changed_services() -> None:
    before = {"api": {"environment": {"A": "1"}}, "postgres": {"image": "p"}}
    after = {"api": {"environment": {"A": "2"}}, "postgres": {"image": "p"}, "upstream": {}}
    assert changed_services(before, after) == ["api", "upstream"]
    assert changed_services(after, after) == []
    # the stand-in shares the worker's network namespace: it follows the worker
    shared = {"worker": {"environment": {}}, "upstream": {"network_mode": "service:worker"}}
    moved = {"worker": {"environment": {"B": "1"}}, "upstream": {"network_mode": "service:worker"}}
    assert changed_services(shared, moved) == ["upstream", "worker"]


def test_a_plain_deploy_leaves_the_example_host_out() -> None:
    hosts = load_inventory(REPO_ROOT / "inventory.py")
    assert "chrono-8c16g" in hosts.names
    assert deployed_hosts(hosts, []) == ["@local"]  # the example is reached only when named
    assert deployed_hosts(hosts, ["chrono-8c16g"]) == ["chrono-8c16g"]


def test_deploy_without_an_engine_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy_module, "engine_answers", lambda: False)
    with pytest.raises(UserError, match=r"no Docker engine answers here to export.*dockerd"):
        check_offline_images()
