"""Commands that run the stack and measure it: demo, run, up, down."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from harness import catalog
from harness.cli.app import (
    INVENTORY_OPTION,
    OPTIMIZATION_IDS,
    RUNTIME_OPTION,
    MeasureProfileChoice,
    ModeChoice,
    OutputFormat,
    RuntimeChoice,
    app,
    console,
    err_console,
    log_to_stderr,
)  # fmt: skip
from harness.results import load_results

DEMO_HOST = "@local"
DEMO_BUNDLE_DIR = Path(".run/bundle")
# The demo measures each optimization alone only with the scenarios whose windows take
# seconds; those of minutes (ladders, scraping, the soak) it measures end to end, so that
# it ends within about 15 minutes on 2 cores.
DEMO_ISOLATE_SCENARIOS = ("api", "frontend")
# ... and of those only the optimizations a quick window tells from the baseline alone: in
# the last demo db_indexes, async_db and pg_tuning read "no-change" alone (project list
# p95 1.2-1.4 s against the baseline's 1.5 s, its N+1 statements swamp them), and their
# 12 windows cost about 150 s. They are measured end to end, and alone by
# `chrono-bench run --mode isolate --optimizations ID`.
DEMO_ISOLATE_OPTIMIZATIONS = ("stats_aggregate", "redis_cache", "frontend_split")
SCENARIO_NAMES = ", ".join(catalog.SCENARIOS)


@app.command("demo")
def demo(inventory: Path = INVENTORY_OPTION) -> None:
    """The README's demo: this machine's budget and bundle, then the benchmark (quick)."""
    from harness.budget.allocation import allocate
    from harness.budget.inventory import get_host, load_inventory
    from harness.budget.table import allocation_table
    from harness.render.bundle import render_bundle

    budget = allocate(get_host(load_inventory(inventory), DEMO_HOST))
    bundle = render_bundle(budget, DEMO_BUNDLE_DIR)
    console.print(allocation_table(budget))
    console.print(f"bundle written to {bundle}")
    _demo_benchmark(inventory)


def _demo_benchmark(inventory: Path) -> None:
    """The stack on this machine, seeded quick, measured end to end and in isolation."""
    import time

    from harness.report import write_report_of
    from harness.report.summary import left_out_lines
    from harness.report.terminal import print_summary
    from harness.run.session import RunOptions, run_benchmarks

    log_to_stderr()
    options = RunOptions(
        modes=("endtoend", "isolate"), profile="quick", inventory=inventory,
        isolate_scenarios=DEMO_ISOLATE_SCENARIOS,
        isolate_optimizations=DEMO_ISOLATE_OPTIMIZATIONS,
    )  # fmt: skip
    # each run's results.json read once, for its summary, its left-out lines and the report
    runs = [(run_dir, load_results(run_dir)) for run_dir in run_benchmarks(options, console)]
    # The figures first: they stand even if drawing the report fails.
    for run_dir, results in runs:
        print_summary(console, results)
        for line in left_out_lines(results):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        console.print(f"results: {run_dir / 'results.json'}", markup=False, soft_wrap=True)
    # one report, in the end-to-end run's folder (reports/latest), each optimization
    # alone from the isolate run after the report's ten rows
    started = time.monotonic()
    files = write_report_of(runs)
    console.print(f"report: {files.html} (summary: {files.summary}), written in "
                  f"{time.monotonic() - started:.1f} s", markup=False, soft_wrap=True)  # fmt: skip


@app.command("run")
def run_command(
    optimizations: str = typer.Option(
        "all", "--optimizations", help=f"all, or ids separated by commas: {OPTIMIZATION_IDS}"
    ),
    mode: ModeChoice | None = typer.Option(
        None,
        "--mode",
        help="isolate: baseline vs baseline+O for each O; ladder: cumulative; "
        "endtoend: all off vs all on; optimized: all on alone, what `gate` compares with a "
        "baseline (default: optimized with --profile ci, else isolate)",
    ),
    repeats: int | None = typer.Option(
        None, "--repeats", help="windows per variant (default: the profile's)"
    ),
    profile: MeasureProfileChoice = typer.Option(
        MeasureProfileChoice.quick,
        "--profile",
        help="quick (the demo), ci (the api "
        "scenario alone, for the gate, within 10 minutes) or full",
    ),
    runtime: RuntimeChoice = RUNTIME_OPTION,
    host: str | None = typer.Option(
        None,
        "--host",
        help="compose: a deployed inventory host whose engine runs the stack, reached over "
        "SSH, with that host's budget (default: this machine's engine)",
    ),
    pin: bool = typer.Option(
        True, "--pin/--no-pin", help="load generator and stack on separate cores (local)"
    ),
    reports_dir: Path = typer.Option(Path("reports"), "--reports-dir"),
    inventory: Path = INVENTORY_OPTION,
    load_workers: int = typer.Option(
        0, "--load-workers", help="locust as a master with N workers (0: one locust process)"
    ),
    load_hosts: str = typer.Option(
        "", "--load-hosts", help="inventory hosts or groups (e.g. loadgen) that run the workers"
    ),
    listen: str = typer.Option(
        "",
        "--listen",
        help="address of this machine the load hosts reach: the API and locust's master "
        "listen there (default with --load-hosts: @local's chrono_address)",
    ),
    output: OutputFormat = typer.Option(
        OutputFormat.table, "--format", help="table (the summary) or json on stdout"
    ),
    scenarios: str = typer.Option(
        "",
        "--scenarios",
        help=f"only these scenarios, separated by commas: {SCENARIO_NAMES} (default: all "
        "the profile runs); what they leave unmeasured is listed as not measured",
    ),
) -> None:
    """Measure optimizations before and after; results in reports/<run-id>/results.json."""
    from harness.report.terminal import print_summary, summary_json
    from harness.run.session import RunOptions, run_benchmarks

    log_to_stderr()
    if mode is None:
        mode = ModeChoice.optimized if profile is MeasureProfileChoice.ci else ModeChoice.isolate
    options = RunOptions(
        optimizations=optimizations, modes=(mode.value,), repeats=repeats,
        profile=profile.value, runtime=runtime.value, pin=pin, reports_dir=reports_dir,
        inventory=inventory, load_workers=load_workers, load_hosts=load_hosts, listen=listen,
        host=host, scenarios=tuple(s for s in scenarios.split(",") if s) or None,
    )  # fmt: skip
    # with --format json the progress goes to stderr and stdout holds only the JSON
    [run_dir] = run_benchmarks(options, err_console if output is OutputFormat.json else console)
    if output is OutputFormat.json:
        sys.stdout.write(summary_json(run_dir))
        return
    print_summary(console, load_results(run_dir))
    console.print(f"results: {run_dir / 'results.json'}", markup=False, soft_wrap=True)


@app.command("up")
def up_command(
    optimizations: str = typer.Option(
        "",
        "--optimizations",
        help=f"optimizations on: all, none, or ids separated by commas: {OPTIMIZATION_IDS}",
    ),
    seed: bool = typer.Option(True, "--seed/--no-seed", help="load the quick benchmark data"),
    pin: bool = typer.Option(
        False, "--pin/--no-pin", help="stack on all but the last core (local)"
    ),
    runtime: RuntimeChoice = RUNTIME_OPTION,
    inventory: Path = INVENTORY_OPTION,
) -> None:
    """Start the whole stack and hold it until Ctrl-C or `chrono-bench down`."""
    from harness.run.hold import STATE_FILE, serve_stack

    log_to_stderr()
    serve_stack(
        optimizations=optimizations, seed=seed, pin=pin, runtime=runtime.value,
        inventory=inventory,
        state_file=STATE_FILE, console=console,
    )  # fmt: skip


@app.command("down")
def down_command() -> None:
    """Stop the stack `chrono-bench up` holds (and anything a killed `up` left behind)."""
    from harness.run.hold import STATE_FILE, bring_down

    state = bring_down(STATE_FILE)
    console.print(f"stack in {state.run_dir} stopped", markup=False, soft_wrap=True)
