"""The scenarios a run can use, and what each needs from the stack it runs on."""

from __future__ import annotations

from collections.abc import Callable

from app.seed import seed
from harness.upstream.corpus import CorpusConfig
from scenarios.api import ApiScenario
from scenarios.base import Scenario
from scenarios.concurrency import ConcurrencyScenario
from scenarios.frontend import FrontendScenario
from scenarios.profiles import MeasureProfile


def build_scenarios() -> dict[str, Scenario]:
    scenarios: list[Scenario] = [ApiScenario(), ConcurrencyScenario(), FrontendScenario()]
    return {scenario.name: scenario for scenario in scenarios}


def corpus_for(profile: MeasureProfile) -> CorpusConfig:
    """The stand-in's archive: enough domains and captures for the scrape scenario."""
    return CorpusConfig(
        domains=profile.scrape_domains, pages_per_domain=profile.scrape_pages_per_domain
    )


def seed_for(profile: MeasureProfile) -> Callable[[str], object]:
    """The benchmark data at the profile's scale (quick or full)."""
    full = profile.name == "full"
    return lambda dsn: seed(dsn, "full" if full else "quick")
