"""`chrono-bench gate` and `baseline save` through the CLI: exit codes, junit.xml, summaries,
and bad input as one line with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app, main
from tests.report.synthetic import make_results, samples_for, spread, write_run

CHRONO_BENCH = Path(sys.executable).with_name("chrono-bench")
POLICY = {"regressions": {"default": {"max_regression": 0.10, "required": True}}}


def _run(reports: Path, run_id: str, p95_after: float) -> Path:
    samples = samples_for("db_indexes", "api_p95_ms", spread(200, 24), spread(p95_after, 24))
    samples += samples_for("db_indexes", "api_rps", spread(100, 24), spread(110, 24))
    verification = [{"optimization": "db_indexes", "passed": True, "detail": "equal"}]
    return write_run(reports, make_results(samples, verification, run_id=run_id))


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policy.json").write_text(json.dumps(POLICY))
    _run(tmp_path / "reports", "20261129-100000-base01", 100)
    return tmp_path


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_baseline_save_then_gate_same_code_passes(workspace, monkeypatch):
    step_summary = workspace / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    saved = _invoke("baseline", "save", "20261129-100000-base01", "--name", "main")
    assert saved.exit_code == 0, saved.output
    assert (workspace / "baselines" / "main" / "results.json").is_file()
    run_dir = _run(workspace / "reports", "20261129-110000-pr0001", 101)
    result = _invoke("gate", run_dir.name, "--baseline", "baselines/main",
                     "--policy", "policy.json")  # fmt: skip
    assert result.exit_code == 0, result.output
    suite = ET.parse(run_dir / "junit.xml").getroot()
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "0")
    names = {case.get("name") for case in suite.iter("testcase")}
    assert "regression: db_indexes / api_p95_ms" in names
    assert "verification: db_indexes" in names
    assert str(run_dir / "gate-summary.md") in result.output
    assert "Performance gate: ✅ **passed**" in step_summary.read_text()


def test_gate_catches_a_regression_against_the_baseline(workspace):
    _invoke("baseline", "save", "20261129-100000-base01", "--name", "main")
    run_dir = _run(workspace / "reports", "20261129-120000-pr0002", 140)
    result = _invoke("gate", str(run_dir), "--baseline", "baselines/main",
                     "--policy", "policy.json")  # fmt: skip
    assert result.exit_code == 1, result.output
    failures = ET.parse(run_dir / "junit.xml").getroot().findall(".//failure")
    assert len(failures) == 1 and "regression" in failures[0].get("message", "")
    assert "❌ fail" in (run_dir / "gate-summary.md").read_text()


def test_gate_defaults_to_latest_and_writes_junit_and_json_where_asked(workspace):
    _invoke("baseline", "save", "20261129-100000-base01", "--name", "main")
    run_dir = _run(workspace / "reports", "20261129-120000-pr0003", 140)
    (workspace / "reports" / "latest").symlink_to(run_dir.name)
    junit = workspace / "out" / "gate.xml"
    result = _invoke("gate", "--baseline", "baselines/main", "--policy", "policy.json",
                     "--junit", str(junit), "--format", "json")  # fmt: skip
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["run_id"] == run_dir.name and data["passed"] is False
    failed = [c for c in data["checks"] if c["status"] == "fail"]
    assert [(c["metric"], c["kind"]) for c in failed] == [("api_p95_ms", "regression")]
    assert 0 < failed[0]["detectable_regression"] < 0.10
    assert ET.parse(junit).getroot().get("failures") == "1"


def test_gitlab_job_log_gets_the_summary_in_a_section(workspace, monkeypatch):
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    result = _invoke("gate", "20261129-100000-base01", "--within", "--policy", "policy.json")
    assert "section_start:" in result.stdout and "section_end:" in result.stdout
    assert "Performance gate" in result.stdout


def test_gate_within_a_run(workspace):
    improved = _invoke("gate", "20261129-100000-base01", "--within", "--policy", "policy.json")
    assert improved.exit_code == 0, improved.output
    run_dir = _run(workspace / "reports", "20261129-130000-worse1", 300)  # after 50 % slower
    assert _invoke("gate", str(run_dir), "--within", "--policy", "policy.json").exit_code == 1


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHRONO_BENCH), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def _bad_inputs(root: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (arguments, a phrase the one-line message must contain)."""
    reports = root / "reports"
    (reports / "no-results").mkdir(parents=True)
    (reports / "corrupt").mkdir()
    (reports / "corrupt" / "results.json").write_text('{"schema": 1, "run_id": ')
    future = json.loads((reports / "20261129-100000-base01" / "results.json").read_text())
    future["schema"] = 3
    (reports / "future").mkdir()
    (reports / "future" / "results.json").write_text(json.dumps(future))
    (root / "bad-policy.json").write_text(json.dumps({"limits": {"api_p96_ms": {"max": 1}}}))
    good = "20261129-100000-base01"
    return {
        "missing results.json": (["report", "no-results"], "no such file"),
        "corrupt results.json": (["report", "corrupt"], "not valid JSON"),
        "unknown schema": (["gate", "future", "--within"], "schema version 3"),
        "policy naming an unknown metric": (
            ["gate", good, "--within", "--policy", "bad-policy.json"],
            "unknown metric 'api_p96_ms'",
        ),
        "no such run": (["report", "nope"], "no such run folder"),
        "baseline missing": (["gate", good, "--baseline", "none.json"], "no such file"),
        "neither baseline nor within": (["gate", good], "either --baseline"),
        "baseline of another profile": (
            ["gate", good, "--baseline", str(_other_profile(root))],
            "not comparable",
        ),
    }


def _other_profile(root: Path) -> Path:
    data = json.loads((root / "reports" / "20261129-100000-base01" / "results.json").read_text())
    data["profile"], data["run_id"] = "full", "20261129-090000-full01"
    path = root / "full.json"
    path.write_text(json.dumps(data))
    return path


BAD_INPUT_NAMES = [
    "missing results.json", "corrupt results.json", "unknown schema",
    "policy naming an unknown metric", "no such run", "baseline missing",
    "neither baseline nor within", "baseline of another profile",
]  # fmt: skip


@pytest.mark.parametrize("name", BAD_INPUT_NAMES)
def test_bad_input_is_one_line_and_exit_2(workspace, name, monkeypatch, capsys):
    args, phrase = _bad_inputs(workspace)[name]
    monkeypatch.setattr(sys, "argv", ["chrono-bench", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()  # the console script's wrapper around the typer app
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chrono-bench: "), lines
    assert phrase in lines[0]


def test_installed_command_reports_bad_input_in_one_line(workspace):
    args, phrase = _bad_inputs(workspace)["unknown schema"]
    result = _cli(workspace, *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and phrase in result.stderr
    assert "Traceback" not in result.stderr
