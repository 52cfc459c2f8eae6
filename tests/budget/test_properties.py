"""Property: every host at or above the floor gets a budget that fits it and holds its
connections, under every share plan."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.budget.allocation import HOST_FLOOR_CPUS, HOST_FLOOR_MEMORY_MB, MILLI, allocate
from harness.budget.inventory import HostSpec
from harness.budget.shares import SERVICES, SHARE_PLANS

MAX_CPUS = 256
MAX_MEMORY_MB = 4 * 1024 * 1024

cpus = st.one_of(
    st.integers(HOST_FLOOR_CPUS, MAX_CPUS),
    st.floats(HOST_FLOOR_CPUS, MAX_CPUS, allow_nan=False, allow_infinity=False),
)
memory_mb = st.integers(HOST_FLOOR_MEMORY_MB, MAX_MEMORY_MB)
plans = st.sampled_from(sorted(SHARE_PLANS))


@settings(max_examples=400, deadline=None)
@given(cpus=cpus, memory_mb=memory_mb, shares=plans)
def test_budget_fits_every_host_above_the_floor(cpus: float, memory_mb: int, shares: str) -> None:
    host = HostSpec(name="h", cpus=cpus, memory_mb=memory_mb)
    budget = allocate(host, shares)
    services = budget.services.values()

    assert list(budget.services) == list(SERVICES)
    for alloc in services:
        assert 0 < alloc.reservation_cpus <= alloc.cpus <= cpus
        assert 0 < alloc.reservation_mb <= alloc.memory_mb
        assert all(isinstance(value, str) for value in alloc.settings.values())
    assert sum(round(alloc.reservation_cpus * MILLI) for alloc in services) <= cpus * MILLI
    assert sum(alloc.reservation_mb for alloc in services) <= memory_mb
    assert sum(alloc.memory_mb for alloc in services) <= memory_mb - budget.os_headroom_mb

    connections = budget.connections
    assert connections.demand + connections.reserved == connections.max_connections
    assert connections.max_connections <= connections.ceiling
    assert budget["postgres"].settings["max_connections"] == str(connections.max_connections)
    api_workers = int(budget["api"].settings["workers"])
    assert connections.clients["api"] == api_workers * int(budget["api"].settings["db_pool_max"])


@settings(max_examples=200, deadline=None)
@given(cpus=cpus, memory_mb=memory_mb)
def test_more_memory_never_shrinks_a_service(cpus: float, memory_mb: int) -> None:
    small = allocate(HostSpec(name="h", cpus=cpus, memory_mb=memory_mb), "default")
    large = allocate(HostSpec(name="h", cpus=cpus, memory_mb=memory_mb * 2), "default")
    for name in SERVICES:
        assert large[name].memory_mb >= small[name].memory_mb
