"""inventory.py is read with pyinfra's rules: groups, (name, data) hosts, group data."""

from __future__ import annotations

import os
from pathlib import Path

from harness.budget.inventory import get_host, load_inventory

REPO_INVENTORY = Path(__file__).parents[2] / "inventory.py"


def _meminfo_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no MemTotal")


def test_shipped_inventory_has_the_report_host_first_and_this_machine() -> None:
    inventory = load_inventory(REPO_INVENTORY)
    report_host = get_host(inventory)
    assert (report_host.name, report_host.cpus, report_host.memory_mb) == (
        "chrono-8c16g",
        8,
        16384,
    )
    local = get_host(inventory, "@local")
    assert local.cpus == len(os.sched_getaffinity(0))
    assert local.memory_mb == _meminfo_mb()
    assert local.shares == "local"


def test_group_data_applies_and_host_data_wins(tmp_path: Path) -> None:
    path = tmp_path / "inventory.py"
    path.write_text(
        "db = (['db1', ('db2', {'cpus': 16})], {'cpus': 8, 'memory_mb': 32768})\n"
        "app = [('app1', {'cpus': 4, 'memory_mb': 8192, 'shares': 'local'}), 'db1']\n"
        "_private = [('ignored', {})]\n"
        "PORT = 22\n"
    )
    inventory = load_inventory(path)
    assert inventory.names == ["db1", "db2", "app1"]
    db1 = get_host(inventory, "db1")
    assert (db1.cpus, db1.memory_mb, db1.groups) == (8, 32768, ("db", "app"))
    assert get_host(inventory, "db2").cpus == 16
    assert get_host(inventory, "app1").shares == "local"
