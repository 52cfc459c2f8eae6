"""Measurement profiles: how hard and how long each scenario drives the stack.

`quick` is sized so `make demo` (end-to-end plus every optimization in isolation) ends
within 15 minutes on a 2-core machine; `full` gives tighter intervals for real runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import UserError
from harness.upstream.corpus import CorpusConfig


@dataclass(frozen=True)
class MeasureProfile:
    name: str
    repeats: int
    # Unmeasured load before an optimization's repeats: fills PostgreSQL's buffers.
    warmup_s: float
    # api: closed-loop users with the report's think time.
    api_users: int
    api_duration_s: float
    api_wait_s: tuple[float, float]
    # concurrency: users added per step, each step held this long, up to the maximum.
    ramp_step_users: int
    ramp_step_s: float
    ramp_max_users: int
    # scrape: domains on the stand-in, captures per domain, and how long to wait.
    scrape_domains: int
    scrape_pages_per_domain: int
    scrape_timeout_s: float
    # websocket: connections added per step, held per step, up to the maximum.
    ws_step: int
    ws_step_s: float
    ws_max: int
    # Only these scenarios run (None: every scenario the runtime can run).
    scenarios: tuple[str, ...] | None = None


PROFILES = {
    "quick": MeasureProfile(
        name="quick",
        # Four per variant: the fewest with which a rank test can reach p < 0.05.
        repeats=4,
        warmup_s=4.0,
        api_users=4,
        # Short windows: a round of the demo visits 13 variants, each switch restarting
        # processes for seconds; `full` is the profile for figures to rely on.
        api_duration_s=5.0,
        api_wait_s=(0.5, 1.5),
        ramp_step_users=10,
        ramp_step_s=2.0,
        ramp_max_users=40,
        scrape_domains=4,
        scrape_pages_per_domain=40,
        scrape_timeout_s=40.0,
        ws_step=100,
        ws_step_s=1.5,
        ws_max=300,
    ),
    # For the CI gate: only the api scenario, whose metrics the gate's policy holds to
    # account, in many short windows so that the windows' own noise allows detecting a
    # 20 % p95 regression (harness/gate/policy.json) within 10 minutes on 2 cores.
    "ci": MeasureProfile(
        name="ci",
        repeats=14,
        warmup_s=5.0,
        # A window's p95 is noisy when it is one of its few slowest requests: at ~30
        # project lists per second, 15 s windows hold ~450, and the logins at a window's
        # start weigh little. Measured here on 2 shared cores: 6 s windows of ~85 gave
        # window-to-window sd 0.6 in log p95, three of them pooled 0.15.
        api_users=8,
        api_duration_s=15.0,
        api_wait_s=(0.05, 0.15),
        ramp_step_users=10,
        ramp_step_s=2.0,
        ramp_max_users=40,
        scrape_domains=4,
        scrape_pages_per_domain=40,
        scrape_timeout_s=40.0,
        ws_step=100,
        ws_step_s=1.5,
        ws_max=300,
        scenarios=("api",),
    ),
    "full": MeasureProfile(
        name="full",
        repeats=7,
        warmup_s=15.0,
        api_users=50,
        api_duration_s=30.0,
        api_wait_s=(1.0, 3.0),
        ramp_step_users=25,
        ramp_step_s=10.0,
        ramp_max_users=300,
        scrape_domains=10,
        scrape_pages_per_domain=200,
        scrape_timeout_s=240.0,
        ws_step=100,
        ws_step_s=5.0,
        ws_max=1000,
    ),
}


def get_profile(name: str) -> MeasureProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UserError(f"unknown profile '{name}': choose {', '.join(PROFILES)}") from None


def corpus_for(profile: MeasureProfile) -> CorpusConfig:
    """The stand-in's archive: enough domains and captures for the scrape scenario."""
    return CorpusConfig(
        domains=profile.scrape_domains, pages_per_domain=profile.scrape_pages_per_domain
    )
