"""One resource budget: a host's cpus and memory -> each service's allocation and settings.

Shares come from a share plan (harness.budget.shares) stated on the report's 8-cpu / 16 GB host;
they scale with the host's cpus and memory, never below each service's floor, and the
result is validated against the host: every error is a UserError naming the host and
the numbers. Each service's settings are derived by its module in harness.budget.settings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from harness.budget.connections import connection_budget, pool_clients
from harness.budget.inventory import HostSpec
from harness.budget.records import Connections, ServiceAllocation
from harness.budget.settings import api, celery, meilisearch, postgres, prometheus, redis
from harness.budget.settings.units import cpus_text
from harness.budget.shares import (
    REFERENCE_CPUS,
    REFERENCE_MEMORY_MB,
    SCALED_SERVICES,
    SERVICES,
    SHARE_PLANS,
    Share,
    SharePlan,
)
from harness.errors import UserError

# Allocations are rounded down to these steps: 0.05 cpu, 16 MB.
CPU_STEP_MILLI = 50
MEMORY_STEP_MB = 16
MILLI = 1000
# Memory left to the kernel, the container engine and sshd: 1/16 of the host, at least
# 384 MB (a minimal Debian with dockerd and containerd).
OS_HEADROOM_FRACTION_DIVISOR = 16
OS_HEADROOM_MIN_MB = 384
# The smallest host the default share plan is meant to run on (and tested down to).
HOST_FLOOR_CPUS = 2
HOST_FLOOR_MEMORY_MB = 4096


@dataclass(frozen=True)
class Budget:
    """The validated allocation of one host."""

    host: HostSpec
    shares: str
    os_headroom_mb: int
    services: dict[str, ServiceAllocation]
    connections: Connections

    def __getitem__(self, service: str) -> ServiceAllocation:
        return self.services[service]

    def to_dict(self) -> dict[str, Any]:
        """The `chrono-bench budget --format json` document (docs/design.md)."""
        return {
            "host": {
                "name": self.host.name,
                "cpus": self.host.cpus,
                "memory_mb": self.host.memory_mb,
            },
            "shares": self.shares,
            "os_headroom_mb": self.os_headroom_mb,
            "services": {name: alloc.to_dict() for name, alloc in self.services.items()},
            "connections": self.connections.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def allocate(
    host: HostSpec,
    shares: str | None = None,
    *,
    services: Collection[str] | None = None,
    external_clients: Mapping[str, int] | None = None,
) -> Budget:
    """The budget of `host` under the share plan `shares` (the host's own when None).

    `services` are the services the host holds (default: the whole stack); they share the
    host as the whole stack shares the reference host (see `_concentration`). A host with
    PostgreSQL also serves `external_clients`, the pools of other hosts (harness.render.topology).
    """
    placed = _placed(host, services)
    shares_name = shares if shares is not None else host.shares
    if shares_name not in SHARE_PLANS:
        raise UserError(
            f"budget: unknown share plan '{shares_name}' for host '{host.name}' "
            f"(share plans: {', '.join(SHARE_PLANS)})"
        )
    plan = SHARE_PLANS[shares_name]
    service_shares = _shares(host, plan, placed)
    headroom_mb = os_headroom_mb(host.memory_mb)
    _check_fit(host, service_shares, headroom_mb)

    allocations = _with_settings(service_shares, plan)
    if "postgres" not in allocations:
        # The pools this host opens on another host's PostgreSQL: no server to size here.
        demand = Connections(pool_clients(allocations), reserved=0, max_connections=0, ceiling=0)
        return Budget(host, shares_name, headroom_mb, allocations, demand)
    connections = connection_budget(allocations, external_clients or {})
    if connections.max_connections > connections.ceiling:
        clients = ""
        if external_clients:
            clients = "; pools: " + ", ".join(
                f"{name} {count}" for name, count in connections.clients.items()
            )
        raise UserError(
            f"budget: PostgreSQL on host '{host.name}' needs max_connections "
            f"{connections.max_connections} ({connections.demand} for the clients' pools, "
            f"{connections.reserved} reserved) but its {allocations['postgres'].memory_mb} MB "
            f"safely hold {connections.ceiling}{clients}"
        )
    allocations["postgres"] = replace(
        allocations["postgres"],
        settings=postgres.postgres_settings(
            memory_mb=allocations["postgres"].memory_mb,
            cpus=allocations["postgres"].cpus,
            max_connections=connections.max_connections,
        ),
    )
    return Budget(
        host=host,
        shares=shares_name,
        os_headroom_mb=headroom_mb,
        services=allocations,
        connections=connections,
    )


def os_headroom_mb(host_memory_mb: int) -> int:
    """Memory no service may be given on a host of `host_memory_mb`."""
    return max(OS_HEADROOM_MIN_MB, host_memory_mb // OS_HEADROOM_FRACTION_DIVISOR)


def _placed(host: HostSpec, services: Collection[str] | None) -> tuple[str, ...]:
    """The host's services in catalog order; unknown names and stray overrides are errors."""
    if services is None:
        return SERVICES
    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        raise UserError(f"budget: host '{host.name}' is given unknown service '{unknown[0]}'")
    if not services:
        raise UserError(f"budget: host '{host.name}' holds no service of the stack")
    elsewhere = sorted(set(host.overrides) & set(SERVICES) - set(services))
    if elsewhere:
        raise UserError(
            f"budget: host '{host.name}' sets service '{elsewhere[0]}', which its roles "
            f"do not place there (it holds {', '.join(s for s in SERVICES if s in services)})"
        )
    return tuple(name for name in SERVICES if name in services)


def _concentration(plan: SharePlan, placed: Collection[str]) -> tuple[Fraction, Fraction]:
    """How much larger than the reference split the placed services' shares grow.

    The whole stack takes the reference split of the reference host; a host holding only
    some services gives them the same fraction of itself, in the split's proportions:
    a dedicated database host gives PostgreSQL what the whole stack would get. 1 and 1
    for the whole stack. (cpus, memory), from the limits of the scaled services.
    """
    scaled = [name for name in SCALED_SERVICES if name in placed]
    if not scaled:
        return Fraction(1), Fraction(1)
    cpus_milli = {name: round(share.cpus * MILLI) for name, share in plan.reference.items()}
    memory_mb = {name: share.memory_mb for name, share in plan.reference.items()}
    return (
        Fraction(sum(cpus_milli[name] for name in SCALED_SERVICES),
                 sum(cpus_milli[name] for name in scaled)),
        Fraction(sum(memory_mb[name] for name in SCALED_SERVICES),
                 sum(memory_mb[name] for name in scaled)),
    )  # fmt: skip


def _shares(
    host: HostSpec, plan: SharePlan, placed: tuple[str, ...] = SERVICES
) -> dict[str, Share]:
    """Each service's limits and reservations on `host`, overrides applied and checked."""
    unknown = sorted(set(host.overrides) - set(SERVICES))
    if unknown:
        raise UserError(
            f"budget: host '{host.name}' sets unknown service '{unknown[0]}' "
            f"(services: {', '.join(SERVICES)})"
        )
    host_milli = round(host.cpus * MILLI)
    memory_mb = host.memory_mb
    if plan.memory_cap_mb is not None:
        memory_mb = min(memory_mb, plan.memory_cap_mb)
    cpu_factor, memory_factor = _concentration(plan, placed)

    shares: dict[str, Share] = {}
    for name in placed:
        if name in SCALED_SERVICES:
            share = _scaled(
                plan.reference[name],
                plan.floors[name],
                host_milli * cpu_factor,
                memory_mb * memory_factor,
            )
            if cpu_factor > 1:
                # a cpu limit is a cap: no service can use more than the host has
                share = replace(
                    share,
                    cpus=min(share.cpus, host.cpus),
                    reservation_cpus=min(share.reservation_cpus, host.cpus),
                )
        else:
            share = plan.fixed[name]
        override = host.overrides.get(name, {})
        share = Share(
            cpus=override.get("cpus", share.cpus),
            reservation_cpus=override.get("reservation_cpus", share.reservation_cpus),
            memory_mb=int(override.get("memory_mb", share.memory_mb)),
            reservation_mb=int(override.get("reservation_mb", share.reservation_mb)),
        )
        floor = plan.floors.get(name)
        if floor is not None:
            _check_floor(host.name, name, share, floor)
        _check_reservation_within_limit(host.name, name, share)
        shares[name] = share
    return shares


def _scaled(
    reference: Share, floor: Share, host_milli: int | Fraction, memory_mb: int | Fraction
) -> Share:
    """`reference` scaled from the reference host to this one, rounded down, floored."""

    def cpus(reference_cpus: float, floor_cpus: float) -> float:
        milli = math.floor(round(reference_cpus * MILLI) * host_milli / (REFERENCE_CPUS * MILLI))
        milli = milli // CPU_STEP_MILLI * CPU_STEP_MILLI
        return max(milli / MILLI, floor_cpus)

    def memory(reference_mb: int, floor_mb: int) -> int:
        scaled = math.floor(reference_mb * memory_mb / REFERENCE_MEMORY_MB)
        return max(scaled // MEMORY_STEP_MB * MEMORY_STEP_MB, floor_mb)

    return Share(
        cpus=cpus(reference.cpus, floor.cpus),
        reservation_cpus=cpus(reference.reservation_cpus, floor.reservation_cpus),
        memory_mb=memory(reference.memory_mb, floor.memory_mb),
        reservation_mb=memory(reference.reservation_mb, floor.reservation_mb),
    )


def _check_floor(host: str, service: str, share: Share, floor: Share) -> None:
    if share.cpus < floor.cpus:
        raise UserError(
            f"budget: {service} on host '{host}' gets {cpus_text(share.cpus)} cpus, "
            f"under its floor of {cpus_text(floor.cpus)}"
        )
    if share.memory_mb < floor.memory_mb:
        raise UserError(
            f"budget: {service} on host '{host}' gets {share.memory_mb} MB, "
            f"under its floor of {floor.memory_mb} MB"
        )


def _check_reservation_within_limit(host: str, service: str, share: Share) -> None:
    if share.reservation_cpus > share.cpus:
        raise UserError(
            f"budget: {service} on host '{host}' reserves {cpus_text(share.reservation_cpus)} "
            f"cpus but is limited to {cpus_text(share.cpus)}"
        )
    if share.reservation_mb > share.memory_mb:
        raise UserError(
            f"budget: {service} on host '{host}' reserves {share.reservation_mb} MB "
            f"but is limited to {share.memory_mb} MB"
        )


def _check_fit(host: HostSpec, shares: dict[str, Share], headroom_mb: int) -> None:
    """Reservations fit the host; memory limits fit it less the OS headroom.

    cpu limits are caps, not promises: they may add up to more than the host (the
    report's split has 10 cpus of limits on 8), but none may exceed the host's cpus.
    """
    host_cpus = cpus_text(host.cpus)
    for name, share in shares.items():
        if share.cpus > host.cpus:
            raise UserError(
                f"budget: {name} has a limit of {cpus_text(share.cpus)} cpus "
                f"but host '{host.name}' has {host_cpus}"
            )
    reserved_milli = sum(round(share.reservation_cpus * MILLI) for share in shares.values())
    if reserved_milli > round(host.cpus * MILLI):
        raise UserError(
            f"budget: services reserve {cpus_text(reserved_milli / MILLI)} cpus "
            f"but host '{host.name}' has {host_cpus}"
        )
    reserved_mb = sum(share.reservation_mb for share in shares.values())
    if reserved_mb > host.memory_mb:
        raise UserError(
            f"budget: services reserve {reserved_mb} MB "
            f"but host '{host.name}' has {host.memory_mb} MB"
        )
    limits_mb = sum(share.memory_mb for share in shares.values())
    available_mb = host.memory_mb - headroom_mb
    if limits_mb > available_mb:
        raise UserError(
            f"budget: memory limits add up to {limits_mb} MB but host '{host.name}' has "
            f"{host.memory_mb} MB less {headroom_mb} MB for the OS ({available_mb} MB)"
        )


def _with_settings(shares: dict[str, Share], plan: SharePlan) -> dict[str, ServiceAllocation]:
    """Allocations with every service's derived settings but PostgreSQL's (it needs the
    connection budget, which needs the others')."""
    derivations: dict[str, Any] = {
        "api": lambda: api.api_settings(
            cpus=shares["api"].cpus,
            memory_mb=shares["api"].memory_mb,
            workers_per_cpu=plan.api_workers_per_cpu,
        ),
        "worker": lambda: celery.celery_settings(
            cpus=shares["worker"].cpus,
            memory_mb=shares["worker"].memory_mb,
            processes_per_cpu=plan.celery_processes_per_cpu,
        ),
        "redis_cache": lambda: redis.redis_cache_settings(
            memory_mb=shares["redis_cache"].memory_mb
        ),
        "redis_broker": lambda: redis.redis_broker_settings(
            memory_mb=shares["redis_broker"].memory_mb
        ),
        "meilisearch": lambda: meilisearch.meilisearch_settings(
            cpus=shares["meilisearch"].cpus, memory_mb=shares["meilisearch"].memory_mb
        ),
        "prometheus": lambda: prometheus.prometheus_settings(
            scrape_interval_s=plan.prometheus_scrape_interval_s,
            retention_days=plan.prometheus_retention_days,
        ),
    }
    derived: dict[str, dict[str, str]] = {
        name: derive() for name, derive in derivations.items() if name in shares
    }
    return {
        name: ServiceAllocation(
            name=name,
            cpus=share.cpus,
            reservation_cpus=share.reservation_cpus,
            memory_mb=share.memory_mb,
            reservation_mb=share.reservation_mb,
            settings=derived.get(name, {}),
        )
        for name, share in shares.items()
    }
