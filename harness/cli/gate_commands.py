"""Commands that read finished runs: report, gate, baseline save."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from harness.cli.app import (
    LATEST_RUN_ARGUMENT,
    RUN_HELP,
    OutputFormat,
    app,
    console,
    log_to_stderr,
)  # fmt: skip
from harness.errors import UserError

if TYPE_CHECKING:
    from harness.gate.policy import Policy

baseline_app = typer.Typer(help="Store runs as baselines for the gate.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")
BASELINES_DIR = Path("baselines")


@app.command("report")
def report_command(
    run: str = LATEST_RUN_ARGUMENT,
    companions: list[str] = typer.Option(
        [],
        "--with",
        help="another run of the same session (e.g. the demo's isolate run) "
        "whose optimizations the report adds after the run's own (repeatable)",
    ),
    output: OutputFormat = typer.Option(
        OutputFormat.table, "--format", help="table (the summary) or json (the files written)"
    ),
) -> None:
    """Write a run's summary.md, index.html, PNGs and results.csv into its folder."""
    import json
    import time

    from harness.report import write_report
    from harness.results import resolve_run

    started = time.monotonic()
    files = write_report(resolve_run(run), [resolve_run(other) for other in companions])
    seconds = time.monotonic() - started
    if output is OutputFormat.json:
        data = {"html": str(files.html), "summary": str(files.summary), "csv": str(files.csv),
                "images": [str(p) for p in files.images], "seconds": round(seconds, 2)}  # fmt: skip
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    console.print(files.summary.read_text(encoding="utf-8"), markup=False, highlight=False,
                  soft_wrap=True)  # fmt: skip
    console.print(f"report written to {files.html} in {seconds:.1f} s", markup=False,
                  soft_wrap=True)  # fmt: skip


class GateFormat(StrEnum):
    markdown = "markdown"
    json = "json"


@app.command("gate")
def gate_command(
    run: str = LATEST_RUN_ARGUMENT,
    baseline: Path | None = typer.Option(
        None,
        "--baseline",
        help="a folder saved by `baseline save`, or a results.json (same host budget, "
        "profile and runtime as the run, or exit 2)",
    ),
    within: bool = typer.Option(
        False, "--within", help="no baseline: compare after with before inside the run"
    ),
    policy: Path | None = typer.Option(
        None,
        "--policy",
        help="gate policy JSON (default: harness/gate/policy.json; its "
        "schema: harness/gate/policy.schema.json)",
    ),
    junit: Path | None = typer.Option(
        None, "--junit", help="write the junit XML here (default: junit.xml in the run folder)"
    ),
    output: GateFormat = typer.Option(
        GateFormat.markdown, "--format", help="markdown (the summary) or json on stdout"
    ),
    self_test: bool = typer.Option(
        False,
        "--self-test",
        help="run the canary for real at the ci profile (three ci runs, about 22 "
        "minutes): an A/A pair must pass and a +50 % p95 regression fail",
    ),
    canary_ms: float | None = typer.Option(
        None,
        "--canary-ms",
        help="--self-test: the canary's delay (default: half the baseline's p95)",
    ),
) -> None:
    """Gate a run against a baseline: exit 0 pass, 1 regression, 2 invalid or not comparable.

    Writes junit.xml and a Markdown summary, appended to $GITHUB_STEP_SUMMARY or printed as
    a GitLab log section where CI sets those.
    """
    import json

    from harness.gate.comparable import machine_notes, require_comparable
    from harness.gate.outputs import gate_json, publish_summary, write_gate_outputs
    from harness.gate.policy import load_policy
    from harness.gate.rules import run_gate
    from harness.results import load_results, pooled_latencies, resolve_run, results_folder

    rules = load_policy(policy)
    if self_test:
        _gate_self_test(rules, canary_ms)
        return
    if (baseline is None) == (not within):
        raise UserError("gate: give either --baseline FILE or --within, not both or neither.")
    run_dir = resolve_run(run)
    results = load_results(run_dir)
    reference = None if baseline is None else load_results(baseline)
    if reference is not None:
        require_comparable(results, reference)
    latencies = pooled_latencies(run_dir, results["samples"])
    baseline_latencies = (
        None if baseline is None or reference is None
        else pooled_latencies(results_folder(baseline), reference["samples"])
    )  # fmt: skip
    result = run_gate(results, reference, rules, latencies, baseline_latencies)
    if reference is not None:
        result.notes.extend(machine_notes(results, reference))
    try:
        junit_path, summary_path = write_gate_outputs(result, run_dir, results["run_id"], junit)
    except OSError as error:
        raise UserError(f"gate: cannot write {error.filename}: {error.strerror}.") from None
    summary = summary_path.read_text(encoding="utf-8")
    if output is GateFormat.json:
        sys.stdout.write(json.dumps(gate_json(result, results["run_id"]), indent=2) + "\n")
    else:
        console.print(summary, markup=False, highlight=False, soft_wrap=True)
        console.print(f"gate summary: {summary_path}\njunit: {junit_path}", markup=False,
                      soft_wrap=True)  # fmt: skip
    publish_summary(summary, sys.stdout)
    raise typer.Exit(result.exit_code)


def _gate_self_test(policy: Policy, canary_ms: float | None) -> None:
    from harness.gate.selftest import describe, run_self_test

    log_to_stderr()
    test = run_self_test(policy, Path("reports"), console, canary_ms)
    console.print(describe(test), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(test.exit_code)


@baseline_app.command("save")
def baseline_save_command(
    run: str = typer.Argument(..., help=RUN_HELP),
    name: str | None = typer.Option(None, "--name", help="baseline name (default: the run id)"),
    directory: Path = typer.Option(BASELINES_DIR, "--dir", help="where baselines are kept"),
) -> None:
    """Store a run's results.json and its windows' request latencies in baselines/<name>/
    for `gate --baseline`."""
    import shutil

    from harness.results import LATENCIES_DIR, RESULTS_FILE, dump_results, load_results, resolve_run

    run_dir = resolve_run(run)
    results = load_results(run_dir)
    target = directory / (name or results["run_id"])
    dump_results(results, target / RESULTS_FILE)
    if (run_dir / LATENCIES_DIR).is_dir():
        shutil.copytree(run_dir / LATENCIES_DIR, target / LATENCIES_DIR, dirs_exist_ok=True)
    console.print(f"baseline saved to {target}", markup=False, soft_wrap=True)
