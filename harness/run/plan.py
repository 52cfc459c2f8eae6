"""The measurement plan: which variant runs which scenarios when, and whose samples they are.

Comparisons often share a variant: in isolate mode every "before" is the baseline, in a
ladder each "after" is the next "before", and end to end shares the baseline with
isolate. Each round (one repeat) visits every distinct variant once, in order of first
appearance, and runs the union of the scenarios its comparisons need; the samples go
to every comparison the window belongs to. Each optimization still sees its variants
alternate in time (before, after, before, after, ...), with fewer restarts and windows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from harness import catalog
from harness.runtime.variants import Comparison, Variant

VariantName = Literal["before", "after"]


@dataclass(frozen=True)
class Destination:
    """A comparison of one run that a window belongs to, as its before or after."""

    run: int
    optimization: str
    variant: VariantName
    scenarios: tuple[str, ...]


@dataclass(frozen=True)
class WindowSet:
    """One variant applied, its scenarios run once, in round `repeat`."""

    repeat: int
    variant: Variant
    destinations: tuple[Destination, ...]

    def scenarios(self, live: set[tuple[int, str]] | None = None) -> list[str]:
        """The scenarios the (still measured) destinations need, in a fixed order."""
        needed = {
            name
            for d in self.destinations
            if live is None or (d.run, d.optimization) in live
            for name in d.scenarios
        }
        return [name for name in catalog.SCENARIOS if name in needed]


def measured_by(optimization: str, available: Collection[str] | None = None) -> tuple[str, ...]:
    """The scenarios that measure `optimization`, among those `available` (default all)."""
    names = catalog.scenarios_of(optimization)
    return tuple(n for n in names if available is None or n in available)


def build_plan(
    runs: Sequence[Sequence[Comparison]],
    repeats: int,
    available: Collection[str] | None = None,
    run_scenarios: Sequence[Collection[str]] | None = None,
) -> list[WindowSet]:
    """Rounds of window sets for the runs' comparisons (runs are indexed by position).

    Only `available` scenarios run (default: all of them), and of those only a run's own
    `run_scenarios` where given; a comparison none of whose scenarios is available is
    left out of the plan.
    """
    order: list[Variant] = []
    destinations: dict[Variant, list[Destination]] = {}
    for run, pairs in enumerate(runs):
        for pair in pairs:
            scenarios = measured_by(pair.optimization, available)
            if run_scenarios is not None:
                scenarios = tuple(s for s in scenarios if s in run_scenarios[run])
            if not scenarios:
                continue
            sides: tuple[tuple[VariantName, Variant], ...] = (
                ("before", pair.before),
                ("after", pair.after),
            )
            for name, variant in sides:
                if name == "before" and pair.before == pair.after:
                    continue  # a variant measured alone (the optimized mode): after only
                if variant not in destinations:
                    order.append(variant)
                    destinations[variant] = []
                destinations[variant].append(Destination(run, pair.optimization, name, scenarios))
    return [
        WindowSet(repeat, variant, tuple(destinations[variant]))
        for repeat in range(repeats)
        for variant in order
    ]


def window_count(plan: Sequence[WindowSet], live: set[tuple[int, str]] | None = None) -> int:
    """Scenario windows in the plan (what the progress display counts)."""
    return sum(len(window_set.scenarios(live)) for window_set in plan)
