"""Variants: which optimizations are on, what changing them restarts, and what each mode compares.

A variant is a set of optimization ids. Switching variants touches only what the changed
ids configure: PostgreSQL's config file (`pg_tuning`, a restart), the performance
indexes (`db_indexes`, created or dropped in place), and the environment of the API or
the Celery workers (a restart of the processes that read the changed switches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import UserError
from harness.results import ALL, OPTIMIZATIONS

Variant = frozenset[str]
BASELINE: Variant = frozenset()

# What the local runtime cannot measure: container limits need compose.
LOCAL_UNMEASURABLE = frozenset({"resource_limits"})
LOCAL_MEASURABLE: tuple[str, ...] = tuple(o for o in OPTIMIZATIONS if o not in LOCAL_UNMEASURABLE)
# The report's implementation priority (critical, high, medium, low): the ladder's order.
LADDER_ORDER: tuple[str, ...] = (
    "stats_aggregate",
    "db_indexes",
    "async_db",
    "db_pool",
    "redis_cache",
    "celery_tuning",
    "resource_limits",
    "batch_indexing",
    "ws_manager",
    "frontend_split",
    "streaming_fetch",
    "pg_tuning",
)
# Which processes read which switch (the API enqueues scrapes on celery_tuning's queue;
# workers invalidate the API's cache when they store pages; the API serves the frontend
# build frontend_split picks).
API_SWITCHES = frozenset(
    {"stats_aggregate", "db_indexes", "async_db", "db_pool", "redis_cache", "ws_manager",
     "celery_tuning", "frontend_split"}
)  # fmt: skip
WORKER_SWITCHES = frozenset({"celery_tuning", "batch_indexing", "streaming_fetch", "redis_cache"})


@dataclass(frozen=True)
class Changes:
    """What moving from one variant to another must touch."""

    postgres: bool
    indexes: bool
    api: bool
    workers: bool

    @property
    def any(self) -> bool:
        return self.postgres or self.indexes or self.api or self.workers


def changes(current: Variant, target: Variant) -> Changes:
    changed = current ^ target
    # A PostgreSQL restart drops every pooled connection: the app processes restart too.
    postgres = "pg_tuning" in changed
    return Changes(
        postgres=postgres,
        indexes="db_indexes" in changed,
        api=postgres or bool(changed & API_SWITCHES),
        workers=postgres or bool(changed & WORKER_SWITCHES),
    )


@dataclass(frozen=True)
class Comparison:
    """One before/after pair: `optimization` is an id, or `all` in end-to-end mode."""

    optimization: str
    before: Variant
    after: Variant


def parse_optimizations(text: str, measurable: Sequence[str] = LOCAL_MEASURABLE) -> list[str]:
    """`all` or a comma-separated list of ids, in catalog order; unknown ids are errors."""
    if text.strip() == ALL:
        return list(measurable)
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    for name in wanted:
        if name not in OPTIMIZATIONS:
            known = ", ".join(OPTIMIZATIONS)
            raise UserError(f"unknown optimization '{name}': choose from {known}")
        if name not in measurable:
            raise UserError(f"optimization '{name}' cannot be measured by this runtime")
    return [name for name in OPTIMIZATIONS if name in wanted]


def comparisons(mode: str, optimizations: Sequence[str]) -> list[Comparison]:
    """The before/after pairs a mode measures for the chosen optimizations."""
    if mode == "endtoend":
        return [Comparison(ALL, BASELINE, frozenset(optimizations))]
    if mode == "isolate":
        return [Comparison(o, BASELINE, frozenset({o})) for o in optimizations]
    if mode == "ladder":
        pairs = []
        applied: Variant = BASELINE
        for name in (o for o in LADDER_ORDER if o in optimizations):
            pairs.append(Comparison(name, applied, applied | {name}))
            applied = applied | {name}
        return pairs
    raise UserError(f"unknown mode '{mode}': choose isolate, ladder or endtoend")
