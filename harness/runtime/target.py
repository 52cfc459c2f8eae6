"""What a running stack offers the scenarios and the runner, whatever the runtime."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from harness.budget.allocation import Budget
from harness.runtime.placement import Placement
from harness.runtime.variants import Changes, Variant
from harness.supervision import Startable
from harness.upstream.profiles import UpstreamProfile


class Target(Protocol):
    """A running stack: its endpoints, its processes, and variant switching."""

    runtime: str
    placement: Placement
    database: str
    role: str
    variant: Variant
    # the allocation the stack runs with, and its rendered bundle (app.env, postgresql.conf)
    budget: Budget
    bundle: Path

    @property
    def api_url(self) -> str: ...

    @property
    def prometheus_url(self) -> str: ...

    @property
    def upstream_url(self) -> str: ...

    @property
    def database_url(self) -> str: ...

    def superuser_dsn(self) -> str: ...

    def jwt_secret(self) -> str: ...

    def cache_url(self) -> str: ...

    def broker_url(self) -> str: ...

    def api_pids(self) -> list[int]: ...

    def worker_pids(self) -> list[int]: ...

    def pids_here(self) -> bool: ...

    def apply(self, variant: Variant) -> Changes: ...

    def versions(self) -> dict[str, str]: ...


class StackBase(Startable):
    """What both runtimes' stacks hold from the start: where they run, the budget they
    were sized by, the cores they may use, the variant, the seeding and the upstream."""

    def __init__(
        self,
        run_dir: Path,
        budget: Budget,
        *,
        placement: Placement | None,
        variant: Variant,
        seed: Callable[[str], object] | None,
        upstream: UpstreamProfile,
    ) -> None:
        self.run_dir = run_dir
        self.budget = budget
        self.placement = placement or Placement()
        self.variant = variant
        self.upstream_profile = upstream
        self._seed = seed

    def pids_here(self) -> bool:
        """Whether api_pids() and worker_pids() are this machine's processes, whose CPU
        time a process here can read (a stack on a deployed host's engine: not)."""
        return True
