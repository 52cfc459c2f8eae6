"""Variants: which optimizations are on, what changing them restarts, and what each mode compares.

A variant is a set of optimization ids. Switching variants touches only what the changed
ids configure: PostgreSQL's config file (`pg_tuning`, a restart), the performance
indexes (`db_indexes`, created or dropped in place), and the environment of the API or
the Celery workers (a restart of the processes that read the changed switches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness import catalog
from harness.errors import UserError
from harness.results import ALL, OPTIMIZATIONS

Variant = frozenset[str]
BASELINE: Variant = frozenset()
# what `--optimizations none` means: the baseline, every optimization off
NONE = "none"

LOCAL_MEASURABLE: tuple[str, ...] = catalog.measurable_on("local")
# Which processes read which switch (the API enqueues scrapes on celery_tuning's queue;
# workers invalidate the API's cache when they store pages; the API serves the frontend
# build frontend_split picks): the catalog's `touches`.
API_SWITCHES = catalog.touched_by("api")
WORKER_SWITCHES = catalog.touched_by("workers")


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
    postgres = bool(changed & catalog.touched_by("postgres"))
    return Changes(
        postgres=postgres,
        indexes=bool(changed & catalog.touched_by("indexes")),
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
    if mode == "optimized":
        # every optimization on, measured alone: the windows a CI gate holds to a baseline
        return [Comparison(ALL, frozenset(optimizations), frozenset(optimizations))]
    if mode == "isolate":
        return [Comparison(o, BASELINE, frozenset({o})) for o in optimizations]
    if mode == "ladder":
        pairs = []
        applied: Variant = BASELINE
        for name in (o for o in catalog.LADDER_ORDER if o in optimizations):
            pairs.append(Comparison(name, applied, applied | {name}))
            applied = applied | {name}
        return pairs
    raise UserError(f"unknown mode '{mode}': choose isolate, ladder, endtoend or optimized")
