"""The probe registry covers the catalog; the container-limits judgement on inspect data."""

from __future__ import annotations

from harness.budget.allocation import allocate
from harness.budget.inventory import get_host, load_inventory
from harness.results import OPTIMIZATIONS
from harness.run.probes import PROBES
from harness.run.probes.containers import BYTES_PER_MIB, judge_limits
from harness.run.session import LOCAL_HOST

BUDGET = allocate(get_host(load_inventory("inventory.py"), LOCAL_HOST))


def test_every_optimization_of_the_catalog_has_a_probe() -> None:
    assert set(PROBES) == set(OPTIMIZATIONS)


def _limits(scale: float) -> dict[str, tuple[int, int]]:
    return {
        name: (int(BUDGET[name].memory_mb * BYTES_PER_MIB * scale), int(BUDGET[name].cpus * 1e9))
        for name in ("api", "worker", "postgres")
    }


def test_container_limits_are_judged_against_the_budget() -> None:
    unlimited = {name: (0, 0) for name in ("api", "worker", "postgres")}
    assert judge_limits(unlimited, BUDGET, on=False).passed
    assert judge_limits(_limits(1.0), BUDGET, on=True).passed
    # the switch not applied: containers without limits
    missed = judge_limits(unlimited, BUDGET, on=True)
    assert not missed.passed and "api memory 0 MiB" in missed.detail
    # the before already limited
    assert not judge_limits(_limits(1.0), BUDGET, on=False).passed
    # a limit that is not the budget's
    wrong = judge_limits(_limits(0.5), BUDGET, on=True)
    assert not wrong.passed and f"(budget {BUDGET['api'].memory_mb})" in wrong.detail
