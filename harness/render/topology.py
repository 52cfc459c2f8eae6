"""Roles: which host of the inventory runs which services, and each host's own budget.

The pyinfra groups `db`, `app`, `worker` and `loadgen` of inventory.py are roles; a host
may be in several. Roles are in force once a host is in `app` or `worker` (an inventory
with only a `db` group, or none, keeps one whole stack per host). Then exactly one host
holds `db`, exactly one `app`, and at least one `worker`:

    db       PostgreSQL and its exporter
    app      the API, both Redis instances, Meilisearch, Prometheus, the Redis exporters
    worker   the Celery workers
    loadgen  no service: locust workers (harness/load/hosts.py)

Each host's budget shares it among its own services only (harness.budget.allocation), its bundle's
compose holds only them, and every connection string names the host a service is on
(its `chrono_address`, else its `ssh_hostname`). PostgreSQL's max_connections covers the
pools of every host that connects to it, and is checked against the database host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from harness.budget.allocation import Budget, allocate
from harness.budget.connections import pool_clients
from harness.budget.inventory import HostSpec, Inventory, get_host
from harness.budget.records import ServiceAllocation
from harness.budget.shares import SERVICES
from harness.errors import UserError
from harness.render.bundle import API_PORT, RenderOptions, render_bundle
from harness.render.secrets import ENV_FILE_NAME, ensure_env_file, write_private

ROLES = ("db", "app", "worker", "loadgen")
STACK_ROLES = ("db", "app", "worker")
SERVICES_BY_ROLE: dict[str, tuple[str, ...]] = {
    "db": ("postgres", "postgres_exporter"),
    # The broker sits with the API rather than with a worker host: several worker hosts
    # share it, and the API enqueues on it.
    "app": (
        "api",
        "redis_cache",
        "redis_broker",
        "meilisearch",
        "prometheus",
        "redis_cache_exporter",
        "redis_broker_exporter",
    ),
    "worker": ("worker",),
    "loadgen": (),
}
# The port each service is published on, on its host's address, for the other hosts.
# Distinct per service: the two Redis instances (and their exporters) share a host.
SERVICE_PORTS: dict[str, int] = {
    "postgres": 5432, "redis_cache": 6379, "redis_broker": 6380, "api": API_PORT,
    "meilisearch": 7700, "prometheus": 9090, "worker": 9101, "postgres_exporter": 9187,
    "redis_cache_exporter": 9121, "redis_broker_exporter": 9122,
}  # fmt: skip
# Host data keys for a host's address as the other hosts reach it.
ADDRESS_KEYS = ("chrono_address", "ssh_hostname")
LOCAL_ADDRESS = "127.0.0.1"


@dataclass(frozen=True)
class HostPlan:
    """One host: its roles, the services they place there, its budget (None: no service)."""

    spec: HostSpec
    roles: tuple[str, ...]
    services: tuple[str, ...]
    budget: Budget | None
    address: str

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class Topology:
    """Every host of an inventory with its roles; `multi_host` when roles are in force."""

    hosts: tuple[HostPlan, ...]
    multi_host: bool

    def host(self, name: str) -> HostPlan:
        for plan in self.hosts:
            if plan.name == name:
                return plan
        raise UserError(f"topology: no host '{name}' ({', '.join(h.name for h in self.hosts)})")

    def with_role(self, role: str) -> list[HostPlan]:
        return [plan for plan in self.hosts if role in plan.roles]

    def host_of(self, service: str) -> HostPlan:
        """The host a service of the stack runs on (multi-host inventories only)."""
        return next(plan for plan in self.hosts if service in plan.services and plan.roles)

    def endpoint(self, service: str) -> str:
        """`address:port` where other hosts reach `service`."""
        return f"{self.host_of(service).address}:{SERVICE_PORTS[service]}"


def host_address(spec: HostSpec) -> str:
    """The address other hosts reach `spec` at."""
    for key in ADDRESS_KEYS:
        value = spec.data.get(key)
        if isinstance(value, str) and value:
            return value
    return LOCAL_ADDRESS if spec.name.startswith("@") else spec.name


def roles_of(spec: HostSpec) -> tuple[str, ...]:
    return tuple(role for role in ROLES if role in spec.groups)


def roles_in_force(inventory: Inventory) -> bool:
    return any({"app", "worker"} & set(spec.groups) for spec in inventory.hosts)


def plan_topology(inventory: Inventory, shares: str | None = None) -> Topology:
    """Every host's services and budget; every problem is a UserError naming a host."""
    if not roles_in_force(inventory):
        return Topology(tuple(_whole_stack(spec, shares) for spec in inventory.hosts), False)
    _check_roles(inventory)
    placed = {spec.name: _services(roles_of(spec)) for spec in inventory.hosts}
    plans = {
        spec.name: HostPlan(spec, roles_of(spec), placed[spec.name], None, host_address(spec))
        for spec in inventory.hosts
    }
    [db] = [spec for spec in inventory.hosts if "db" in spec.groups]
    external: dict[str, int] = {}
    for spec in inventory.hosts:
        if spec is db or not placed[spec.name]:
            continue
        budget = allocate(spec, shares, services=placed[spec.name])
        plans[spec.name] = replace(plans[spec.name], budget=budget)
        for client, count in pool_clients(budget.services).items():
            external[f"{client} on '{spec.name}'"] = count
    budget = allocate(db, shares, services=placed[db.name], external_clients=external)
    plans[db.name] = replace(plans[db.name], budget=budget)
    # Hosts in no role group are whole stacks of their own, as without roles.
    for spec in inventory.hosts:
        if not roles_of(spec):
            plans[spec.name] = _whole_stack(spec, shares)
    return Topology(tuple(plans[spec.name] for spec in inventory.hosts), multi_host=True)


def _whole_stack(spec: HostSpec, shares: str | None) -> HostPlan:
    """A host outside the stack roles: the whole stack on its own, or only load (loadgen)."""
    roles = roles_of(spec)
    if roles == ("loadgen",):
        return HostPlan(spec, roles, (), None, host_address(spec))
    return HostPlan(spec, roles, SERVICES, allocate(spec, shares), host_address(spec))


def host_budget(inventory: Inventory, name: str | None, shares: str | None = None) -> Budget:
    """The budget of one host (the first when None), from its roles when they are in force."""
    spec = get_host(inventory, name)
    plan = plan_topology(inventory, shares).host(spec.name)
    if plan.budget is None:
        raise UserError(
            f"budget: host '{spec.name}' holds no service of the stack (roles: "
            f"{', '.join(plan.roles)}): it only generates load"
        )
    return plan.budget


def host_render_options(
    topology: Topology, name: str, options: RenderOptions | None = None
) -> RenderOptions:
    """`options` for one host's bundle: its services, the others' addresses and settings."""
    options = options or RenderOptions()
    plan = topology.host(name)
    if not topology.multi_host or not plan.roles or plan.roles == ("loadgen",):
        return options
    elsewhere = [service for service in SERVICES if service not in plan.services]
    peers: dict[str, ServiceAllocation] = {}
    for service in ("api", "worker"):
        if service not in plan.services:
            budget = topology.host_of(service).budget
            assert budget is not None
            peers[service] = budget.services[service]
    workers = [
        f"{other.address}:{SERVICE_PORTS['worker']}"
        for other in topology.with_role("worker")
        if other is not plan
    ]
    return replace(
        options,
        placed=frozenset(plan.services),
        scrape_targets={"worker": workers} if "prometheus" in plan.services else {},
        remote={service: topology.endpoint(service) for service in elsewhere},
        peers=peers,
        api_bind=plan.address,
        api_port=SERVICE_PORTS["api"],
        published_ports={
            service: SERVICE_PORTS[service] for service in plan.services if service != "api"
        },
    )


def render_host(
    topology: Topology,
    name: str,
    out_dir: Path,
    options: RenderOptions | None = None,
    *,
    secrets_dir: Path | None = None,
) -> Path:
    """Write host `name`'s bundle: only its services, connection strings to the others.

    The hosts of one stack share its secrets (the API logs in to the database host with
    the password PostgreSQL was given there): with roles in force, `secrets_dir` holds
    the one `.env` every host's bundle gets a copy of.
    """
    plan = topology.host(name)
    if plan.budget is None:
        raise UserError(f"render: host '{name}' holds no service of the stack (only loadgen)")
    if topology.multi_host and plan.roles:
        if secrets_dir is None:
            raise UserError(f"render: host '{name}' shares its stack's secrets: give a directory")
        secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        ensure_env_file(secrets_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        shared = (secrets_dir / ENV_FILE_NAME).read_text()
        if (
            not (out_dir / ENV_FILE_NAME).exists()
            or (out_dir / ENV_FILE_NAME).read_text() != shared
        ):
            write_private(out_dir / ENV_FILE_NAME, shared)
    return render_bundle(plan.budget, out_dir, options=host_render_options(topology, name, options))


def _services(roles: tuple[str, ...]) -> tuple[str, ...]:
    wanted = {service for role in roles for service in SERVICES_BY_ROLE[role]}
    return tuple(service for service in SERVICES if service in wanted)


def _check_roles(inventory: Inventory) -> None:
    """One database host, one app host, at least one worker host."""
    for role in STACK_ROLES:
        hosts = [spec.name for spec in inventory.hosts if role in spec.groups]
        if not hosts:
            raise UserError(
                f"inventory: no host in group '{role}' of '{inventory.path}' (with roles, "
                f"one host must hold each of {', '.join(STACK_ROLES)})"
            )
        if role != "worker" and len(hosts) > 1:
            raise UserError(
                f"inventory: hosts '{hosts[0]}' and '{hosts[1]}' are both in group '{role}' "
                f"of '{inventory.path}': one host holds the {role} role"
            )


def endpoints_of(topology: Topology) -> Mapping[str, str]:
    """Every placed service's `address:port` (for the harness reaching into the stack)."""
    if not topology.multi_host:
        return {}
    return {
        service: topology.endpoint(service)
        for service in SERVICES
        if any(service in plan.services and plan.roles for plan in topology.hosts)
    }
