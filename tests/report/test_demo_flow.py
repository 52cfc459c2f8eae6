"""What the demo does after its runs: summaries, left-out lines and one report, each
run's results.json read once for all of them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import harness.results
import harness.run.session
from harness.cli import bench_commands
from tests.report.synthetic import write_demo_runs

WHY = "this run measures alone only stats_aggregate; run --mode isolate --optimizations ID"


def test_the_demo_reads_each_runs_results_once(tmp_path, monkeypatch, capsys) -> None:
    run_dirs = write_demo_runs(tmp_path / "reports", {"db_indexes": WHY})
    monkeypatch.setattr(harness.run.session, "run_benchmarks", lambda options, console: run_dirs)
    reads: Counter[Path] = Counter()
    read_json = harness.results._read_json

    def counted(path: Path) -> object:
        reads[path] += 1
        return read_json(path)

    monkeypatch.setattr(harness.results, "_read_json", counted)
    bench_commands._demo_benchmark(tmp_path / "inventory.yml")
    assert reads == {run_dir / "results.json": 1 for run_dir in run_dirs}
    out = capsys.readouterr().out
    assert f"not measured in this isolate run: db_indexes: {WHY}" in out
    assert "run 20261206-190000-iso001 (isolate, quick)" in out
    assert (run_dirs[0] / "summary.md").exists()
