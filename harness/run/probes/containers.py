"""resource_limits: the containers' limits as the engine holds them (docker inspect)."""

from __future__ import annotations

from collections.abc import Mapping

from harness.budget.allocation import Budget
from harness.run.probes.base import ProbeContext, ProbeError, Reading
from harness.runtime.compose.stack import ComposeStack

BYTES_PER_MIB = 1024 * 1024
NANO_CPUS = 1e9
# compose writes cpus with two decimals
CPUS_TOLERANCE = 0.01

# service -> (HostConfig.Memory bytes, HostConfig.NanoCpus); 0 means no limit
Limits = Mapping[str, tuple[int, int]]


def judge_limits(limits: Limits, budget: Budget, on: bool) -> Reading:
    """Off: no container of a budgeted service has a limit; on: each has the budget's."""
    wrong: list[str] = []
    for service, (memory, nano_cpus) in sorted(limits.items()):
        allocation = budget[service]
        if on:
            if memory != allocation.memory_mb * BYTES_PER_MIB:
                wrong.append(f"{service} memory {memory // BYTES_PER_MIB} MiB "
                             f"(budget {allocation.memory_mb})")  # fmt: skip
            if abs(nano_cpus / NANO_CPUS - allocation.cpus) > CPUS_TOLERANCE:
                wrong.append(
                    f"{service} cpus {nano_cpus / NANO_CPUS:g} (budget {allocation.cpus:g})"
                )
        elif memory or nano_cpus:
            wrong.append(f"{service} limited to {memory // BYTES_PER_MIB} MiB, "
                         f"{nano_cpus / NANO_CPUS:g} cpus")  # fmt: skip
    figures: dict[str, float | str] = {
        f"{service}_memory_limit_mib": float(memory // BYTES_PER_MIB)
        for service, (memory, _) in sorted(limits.items())
    }
    what = "the budget's limits" if on else "no limits"
    if not limits:
        return Reading(False, "no container of a budgeted service found", figures)
    if wrong:
        return Reading(False, f"not {what}: {'; '.join(wrong[:3])}", figures)
    return Reading(True, f"{len(limits)} containers, {what}", figures)


def resource_limits(context: ProbeContext, on: bool) -> Reading:
    target = context.target
    if not isinstance(target, ComposeStack):
        raise ProbeError("containers and their limits exist on the compose runtime only")
    limits: dict[str, tuple[int, int]] = {}
    for service in sorted(set(target.services()) & set(target.budget.services)):
        host = target.container(service).attrs["HostConfig"]
        limits[service] = (int(host.get("Memory") or 0), int(host.get("NanoCpus") or 0))
    return judge_limits(limits, target.budget, on)
