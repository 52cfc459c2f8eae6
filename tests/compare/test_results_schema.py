"""results.json schema 2: round trip, schema 1 read as 2, and the faults load_results names."""

from __future__ import annotations

import json

import pytest

from harness.errors import UserError
from harness.metrics import METRICS, REPORT_METRICS
from harness.results import OPTIMIZATIONS, dump_results, load_results, validate_results
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
    ("unknown schema", lambda r: r.update(schema=3), "schema version 3 is not supported"),
    ("untyped environment key", lambda r: r["environment"].update(gpu="none"), "gpu"),
]  # fmt: skip


@pytest.mark.parametrize(("breaks", "phrase"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_faults_are_one_sentence_user_errors(breaks, phrase):
    results = json.loads(json.dumps(_results()))
    breaks(results)
    with pytest.raises(UserError) as error:
        validate_results(results, source="r.json")
    assert phrase in str(error.value) and "\n" not in str(error.value)


def test_schema_1_is_read_as_schema_2():
    """Schema 1 labelled memory MB (values in MiB) and let the environment hold any key."""
    results = json.loads(json.dumps(make_results(
        samples_for("streaming_fetch", "worker_memory_mb", spread(900, 5), spread(400, 5))
    )))  # fmt: skip
    results["schema"] = 1
    for sample in results["samples"]:
        sample["unit"] = "MB"
    results["environment"]["placement"] = {"pinned": False}
    results["environment"]["an_old_note"] = "dropped"
    read = validate_results(results, source="old.json")
    assert read["schema"] == 2
    assert {sample["unit"] for sample in read["samples"]} == {"MiB"}
    assert [s["value"] for s in read["samples"]] == [s["value"] for s in results["samples"]]
    assert read["environment"]["placement"] == {"pinned": False}
    assert "an_old_note" not in read["environment"]
