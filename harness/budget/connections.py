"""PostgreSQL's connection budget: max_connections covers every client's pool maximum."""

from __future__ import annotations

from collections.abc import Mapping

from harness.budget.records import Connections, ServiceAllocation
from harness.budget.settings import celery, postgres

# Connections outside the application's pools: postgres_exporter holds one and may open
# a second while a scrape overlaps; the harness's collectors, seeding and psql sessions.
EXPORTER_CONNECTIONS = 2
HARNESS_CONNECTIONS = 5


def pool_clients(services: Mapping[str, ServiceAllocation]) -> dict[str, int]:
    """The most connections the API's and the workers' pools (those present) may open."""
    clients = {}
    if "api" in services:
        settings = services["api"].settings
        clients["api"] = int(settings["workers"]) * int(settings["db_pool_max"])
    if "worker" in services:
        settings = services["worker"].settings
        clients["worker"] = celery.connecting_processes(settings) * int(settings["db_pool_max"])
    return clients


def connection_budget(
    services: dict[str, ServiceAllocation], external_clients: Mapping[str, int]
) -> Connections:
    """max_connections = every client's pool maximum, summed, plus reserved connections."""
    clients = {
        **pool_clients(services),
        **external_clients,
        "postgres_exporter": EXPORTER_CONNECTIONS,
        "harness": HARNESS_CONNECTIONS,
    }
    reserved = postgres.SUPERUSER_RESERVED_CONNECTIONS
    return Connections(
        clients=clients,
        reserved=reserved,
        max_connections=sum(clients.values()) + reserved,
        ceiling=postgres.connection_ceiling(services["postgres"].memory_mb),
    )
