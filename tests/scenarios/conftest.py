"""A seeded local stack shared by the scenario tests of this directory (started once)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from harness.budget.allocation import allocate
from harness.budget.inventory import get_host, load_inventory
from harness.run.session import LOCAL_HOST, stack_directory
from harness.runtime.local.stack import LocalStack
from harness.runtime.placement import plan_placement
from scenarios.profiles import get_profile
from scenarios.registry import corpus_for, seed_for


@pytest.fixture(scope="module")
def seeded_stack() -> Iterator[LocalStack]:
    profile = get_profile("quick")
    run_dir = stack_directory()
    stack = LocalStack(
        run_dir,
        allocate(get_host(load_inventory("inventory.py"), LOCAL_HOST)),
        placement=plan_placement(True),
        corpus=corpus_for(profile),
        seed=seed_for(profile),
    )
    with stack:
        yield stack
    shutil.rmtree(run_dir, ignore_errors=True)
