"""The allocation table `chrono-bench budget` and `demo` print (rich)."""

from __future__ import annotations

from rich.table import Table

from harness.budget.allocation import Budget
from harness.budget.settings.units import cpus_text

# The settings worth a glance in a table; the JSON format has them all.
KEY_SETTINGS = {
    "api": ("workers", "db_pool_min", "db_pool_max"),
    "worker": ("worker_concurrency", "worker_max_memory_per_child", "worker_prefetch_multiplier"),
    "postgres": ("max_connections", "shared_buffers", "effective_cache_size", "work_mem"),
    "redis_cache": ("maxmemory", "maxmemory-policy"),
    "redis_broker": ("maxmemory", "maxmemory-policy", "appendonly"),
    "meilisearch": ("MEILI_MAX_INDEXING_MEMORY", "MEILI_MAX_INDEXING_THREADS"),
    "prometheus": ("scrape_interval", "storage.tsdb.retention.time"),
}


def allocation_table(budget: Budget) -> Table:
    """One row per service: limits, reservations and its key derived settings."""
    host = budget.host
    table = Table(
        title=(
            f"Budget of host '{host.name}': {cpus_text(host.cpus)} cpus, {host.memory_mb} MB "
            f"(shares {budget.shares}, {budget.os_headroom_mb} MB left to the OS)"
        ),
        title_justify="left",
    )
    table.add_column("service", no_wrap=True)
    table.add_column("cpus", justify="right")
    table.add_column("res.", justify="right")
    table.add_column("MB", justify="right")
    table.add_column("res. MB", justify="right")
    table.add_column("key settings", overflow="fold")
    for name, alloc in budget.services.items():
        settings = "\n".join(f"{key}={alloc.settings[key]}" for key in KEY_SETTINGS.get(name, ()))
        table.add_row(
            name,
            cpus_text(alloc.cpus),
            cpus_text(alloc.reservation_cpus),
            str(alloc.memory_mb),
            str(alloc.reservation_mb),
            settings,
        )
    services = budget.services.values()
    table.add_section()
    table.add_row(
        "total",
        cpus_text(sum(alloc.cpus for alloc in services)),
        cpus_text(sum(alloc.reservation_cpus for alloc in services)),
        str(sum(alloc.memory_mb for alloc in services)),
        str(sum(alloc.reservation_mb for alloc in services)),
        "",
    )
    table.caption = connections_text(budget)
    table.caption_justify = "left"
    return table


def connections_text(budget: Budget) -> str:
    """How max_connections adds up."""
    connections = budget.connections
    clients = " + ".join(f"{name} {count}" for name, count in connections.clients.items())
    return (
        f"PostgreSQL max_connections {connections.max_connections} = {clients} "
        f"+ {connections.reserved} reserved (safe ceiling {connections.ceiling})"
    )
