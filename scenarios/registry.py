"""The scenarios a run can use, and what each needs from the stack it runs on."""

from __future__ import annotations

import math
from collections.abc import Callable

from app.seed import seed
from harness.budget.allocation import Budget
from scenarios.api import ApiScenario
from scenarios.base import Scenario
from scenarios.concurrency import ConcurrencyScenario
from scenarios.frontend import FrontendScenario
from scenarios.profiles import MeasureProfile, corpus_for, upstream_for
from scenarios.scrape import ScrapeScenario
from scenarios.soak import SoakScenario
from scenarios.stress import StressScenario
from scenarios.websocket import WebsocketScenario


def build_scenarios(budget: Budget | None = None) -> dict[str, Scenario]:
    """Every scenario; the stress scenario only with the budget its hog is sized from."""
    scenarios: list[Scenario] = [
        ApiScenario(),
        ConcurrencyScenario(),
        ScrapeScenario(),
        # the API's memory budget is one of a websocket step's SLOs
        WebsocketScenario(budget["api"].memory_mb if budget is not None else None),
        SoakScenario(),
        FrontendScenario(),
    ]
    if budget is not None:
        host_cpus = math.ceil(budget.host.cpus)
        scenarios.append(
            StressScenario(
                host_cpus,
                budget["worker"].memory_mb,
                host_memory_mb=budget.host.memory_mb,
                pool=int(budget["worker"].settings["worker_concurrency"]),
            )
        )
    return {scenario.name: scenario for scenario in scenarios}


def seed_for(profile: MeasureProfile) -> Callable[[str], object]:
    """The benchmark data at the profile's scale (quick or full)."""
    full = profile.name == "full"
    return lambda dsn: seed(dsn, "full" if full else "quick")


__all__ = ["build_scenarios", "corpus_for", "seed_for", "upstream_for"]
