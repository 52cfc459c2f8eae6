"""Every probe on a real stack: each sees the problem at the baseline and the fix with its
switch on, and each fails, with its reason, when told the wrong state (the after's switch
not applied, or the before already fixed). One stack, two variants."""

from __future__ import annotations

import pytest

from harness.run.probes import Prober
from harness.runtime.local.stack import LocalStack
from harness.runtime.variants import LOCAL_MEASURABLE
from harness.upstream.corpus import build_corpus
from scenarios.profiles import corpus_for, get_profile

pytestmark = pytest.mark.slow
ALL_ON = frozenset(LOCAL_MEASURABLE)
# the archive the seeded stack's stand-in serves (conftest.py)
CORPUS = build_corpus(corpus_for(get_profile("quick")))


def _check(stack: LocalStack, *, on: bool) -> None:
    prober = Prober(corpus=CORPUS)
    prober.begin(stack)
    seen = {}
    for optimization in LOCAL_MEASURABLE:
        right = prober.reading(optimization, on=on)
        wrong = prober.reading(optimization, on=not on)
        seen[optimization] = (right, wrong)
    for optimization, (right, wrong) in seen.items():
        assert right.reading.passed, (optimization, right.reading.detail)
        assert not wrong.reading.passed, (optimization, wrong.reading.detail)
        assert wrong.reading.detail
    counters = prober.cross_check()
    assert counters.reading.passed, counters.reading.detail


def test_probes_at_the_baseline(seeded_stack: LocalStack) -> None:
    seeded_stack.apply(frozenset())
    _check(seeded_stack, on=False)


def test_probes_with_every_switch_on(seeded_stack: LocalStack) -> None:
    seeded_stack.apply(ALL_ON)
    _check(seeded_stack, on=True)
