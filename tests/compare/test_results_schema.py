"""results.json schema 1: round trip, and the faults load_results names."""

from __future__ import annotations

import json

import pytest

from harness.errors import UserError
from harness.results import (
    METRICS,
    OPTIMIZATIONS,
    REPORT_METRICS,
    dump_results,
    load_results,
    validate_results,
)
from tests.report.synthetic import make_results, samples_for, spread


def _results():
    return make_results(samples_for("stats_aggregate", "api_p95_ms", spread(200, 5),
                                    spread(100, 5)))  # fmt: skip


def test_catalogs_follow_design():
    assert len(REPORT_METRICS) == 10 and REPORT_METRICS[0] == "api_p95_ms"
    assert METRICS["cache_hit_rate"].claim is not None
    assert METRICS["ws_connections"].better == "higher"
    assert len(OPTIMIZATIONS) == 12


def test_dump_then_load_round_trips(tmp_path):
    results = _results()
    dump_results(results, tmp_path / "run" / "results.json")
    assert load_results(tmp_path / "run") == results
    assert not list((tmp_path / "run").glob(".results-*"))  # no temporary file left


# (what is broken, how to break it, phrase of the message)
FAULTS = [
    ("unknown metric", lambda r: r["samples"][0].update(metric="p95"), "unknown metric 'p95'"),
    ("wrong unit", lambda r: r["samples"][0].update(unit="s"), "is in 'ms', not 's'"),
    ("unknown optimization", lambda r: r["samples"][0].update(optimization="turbo"),
     "unknown 'turbo'"),
    ("valid but NaN", lambda r: r["samples"][0].update(value=float("nan")), "finite value"),
    ("missing field", lambda r: r.pop("host"), "host: Field required"),
    ("bad variant", lambda r: r["samples"][0].update(variant="during"), "samples[0].variant"),
    ("typo in a sample", lambda r: r["samples"][0].update(vaild=True), "vaild"),
    ("unknown schema", lambda r: r.update(schema=2), "schema version 2 is not supported"),
]  # fmt: skip


@pytest.mark.parametrize(("breaks", "phrase"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_faults_are_one_sentence_user_errors(breaks, phrase):
    results = json.loads(json.dumps(_results()))
    breaks(results)
    with pytest.raises(UserError) as error:
        validate_results(results, source="r.json")
    assert phrase in str(error.value) and "\n" not in str(error.value)
