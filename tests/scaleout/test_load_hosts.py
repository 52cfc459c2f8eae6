"""Choosing load hosts from the inventory, spreading workers over them, and how a run
records its load generator (tables of cases)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.budget.inventory import load_inventory
from harness.errors import UserError
from harness.load.hosts import (
    LISTEN_HINT,
    describe_load,
    load_placement,
    placement_summary,
    select_load_hosts,
    ssh_command,
    worker_slots,
)
from harness.runtime.placement import Placement
from harness.runtime.ports import free_port

INVENTORY = """
local = [("@local", {"cpus": 2, "memory_mb": 4096})]
loadgen = [
    ("lg1", {"cpus": 2, "memory_mb": 2048, "ssh_hostname": "10.9.0.5", "ssh_port": 2222,
             "ssh_user": "root", "ssh_key": "/k/id", "ssh_known_hosts_file": "/k/known"}),
    ("lg2", {"cpus": 1, "memory_mb": 2048, "ssh_hostname": "10.9.0.6"}),
]
"""
CHRONO_BENCH = str(Path(sys.executable).parent / "chrono-bench")

SELECTIONS = [
    # selection, workers asked, hosts chosen, workers per host
    ("loadgen", 0, ["lg1", "lg2"], {"lg1": 2, "lg2": 1}),
    ("lg2", 0, ["lg2"], {"lg2": 1}),
    ("lg1,lg2", 4, ["lg1", "lg2"], {"lg1": 2, "lg2": 2}),
    ("lg2, lg1, loadgen", 3, ["lg2", "lg1"], {"lg2": 2, "lg1": 1}),
    ("", 2, [], {"local": 2}),
]


@pytest.mark.parametrize(("selection", "workers", "hosts", "spread"), SELECTIONS)
def test_selection_and_spread(
    selection: str, workers: int, hosts: list[str], spread: dict[str, int], tmp_path: Path
) -> None:
    (tmp_path / "inventory.py").write_text(INVENTORY)
    placement = load_placement(
        Placement(), load_inventory(tmp_path / "inventory.py"), workers, selection
    )
    assert [host.name for host in placement.load_hosts] == hosts
    slots = worker_slots(placement.load_workers, placement.load_hosts)
    assert placement_summary(slots) == spread
    described = describe_load(placement)
    assert described["mode"] == "distributed" and described["hosts"] == spread


def test_one_process_is_recorded_as_such() -> None:
    assert describe_load(Placement()) == {"mode": "single", "workers": 0, "hosts": {"local": 1}}


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ("nosuch", "no host or group 'nosuch'"),
        ("@local", "'@local' is this machine: use --load-workers for it"),
        (",", "no host given"),
    ],
)
def test_bad_selection(selection: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "inventory.py").write_text(INVENTORY)
    with pytest.raises(UserError, match=message):
        select_load_hosts(load_inventory(tmp_path / "inventory.py"), selection)


def test_ssh_command_uses_the_hosts_connection_data(tmp_path: Path) -> None:
    (tmp_path / "inventory.py").write_text(INVENTORY)
    [lg1] = select_load_hosts(load_inventory(tmp_path / "inventory.py"), "lg1")
    command = ssh_command(lg1, ["python", "-m", "locust", "--worker"], {"A": "b c"})
    assert command[:4] == ["ssh", "-tt", "-p", "2222"]
    assert "root@10.9.0.5" in command
    assert "UserKnownHostsFile=/k/known" in command and "/k/id" in command
    assert command[-1].endswith("exec env 'A=b c' python -m locust --worker")


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (["--load-workers", "-1"],
         "chrono-bench: --load-workers must be 0 (one locust process) or more, not -1"),
        (["--load-hosts", "loadgen"],
         "chrono-bench: --load-hosts: the API and locust's master listen on loopback only, "
         f"which load hosts cannot reach: {LISTEN_HINT}"),
        (["--load-hosts", "lg2", "--listen", "127.0.0.1"],
         "chrono-bench: --listen: 127.0.0.1 is loopback, which load host 'lg2' (10.9.0.6) "
         f"cannot reach: {LISTEN_HINT}"),
        (["--load-hosts", "lg2", "--listen", "0.0.0.0"],
         "chrono-bench: --listen: 0.0.0.0 would listen on every address: give the one the "
         "load hosts reach this machine at"),
        (["--load-hosts", "lg2", "--listen", "lg.example"],
         "chrono-bench: --listen: 'lg.example' is not an IPv4 address"),
        # an address of no interface here (nothing is sent to it: binding fails locally)
        (["--listen", "10.9.0.1"],
         "chrono-bench: --listen: 10.9.0.1 is not an address of this machine "
         "(Cannot assign requested address)"),
    ],
)  # fmt: skip
def test_run_flags_errors_are_one_line(args: list[str], stderr: str, tmp_path: Path) -> None:
    assert run_errors(INVENTORY, args, tmp_path) == [stderr]


def test_load_hosts_listen_on_locals_chrono_address_by_default(tmp_path: Path) -> None:
    inventory = INVENTORY.replace('("@local", {', '("@local", {"chrono_address": "10.9.0.1", ')
    assert run_errors(inventory, ["--load-hosts", "lg2"], tmp_path) == [
        "chrono-bench: @local's chrono_address: 10.9.0.1 is not an address of this machine "
        "(Cannot assign requested address)"
    ]


def test_an_unreachable_load_host_fails_the_run_in_one_line(tmp_path: Path) -> None:
    """A load host on loopback whose SSH port nobody listens on: refused before anything
    starts, in one line naming it."""
    port = free_port()
    data = {"ssh_hostname": "127.0.0.1", "ssh_port": port, "cpus": 1, "memory_mb": 1024}
    inventory = f"{INVENTORY}nearby = [('lg9', {data!r})]\n"
    [line] = run_errors(inventory, ["--load-hosts", "lg9", "--listen", "127.0.0.1"], tmp_path)
    assert line == (
        f"chrono-bench: --load-hosts: host 'lg9' is unreachable over SSH: "
        f"ssh: connect to host 127.0.0.1 port {port}: Connection refused"
    )
    assert not (tmp_path / "reports").exists()


def run_errors(inventory: str, args: list[str], tmp_path: Path) -> list[str]:
    """`chrono-bench run ARGS`'s lines on stderr; it must have exited 2."""
    (tmp_path / "inventory.py").write_text(inventory)
    done = subprocess.run(
        [CHRONO_BENCH, "run", *args, "--inventory", str(tmp_path / "inventory.py"),
         "--reports-dir", str(tmp_path / "reports")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    return done.stderr.splitlines()
