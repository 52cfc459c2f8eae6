"""The `chrono-bench` command line: one subcommand per step of the flow in docs/design.md."""

from __future__ import annotations

import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

try:  # typer 0.2x carries its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer, on click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

from harness import catalog
from harness.errors import UserError

if TYPE_CHECKING:
    from harness.gate.policy import Policy

app = typer.Typer(
    name="chrono-bench",
    help="Derive the Chrono Scraper stack from one resource budget, run it, and measure "
    "what each optimization of the performance report buys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)
console = Console()

INVENTORY_OPTION = typer.Option(Path("inventory.py"), "--inventory", help="pyinfra inventory file")
HOST_OPTION = typer.Option(None, "--host", help="host of the inventory (default: the first)")
SHARES_OPTION = typer.Option(
    None, "--shares", help="share plan of harness/budget/shares.py (default: the host's own)"
)
DEMO_HOST = "@local"
OPTIMIZATION_IDS = ", ".join(catalog.IDS)
DEMO_BUNDLE_DIR = Path(".run/bundle")
# The demo measures each optimization alone only with the scenarios whose windows take
# seconds; those of minutes (ladders, scraping, the soak) it measures end to end, so that
# it ends within about 15 minutes on 2 cores.
DEMO_ISOLATE_SCENARIOS = ("api", "frontend")


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class ModeChoice(StrEnum):
    isolate = "isolate"
    ladder = "ladder"
    endtoend = "endtoend"
    optimized = "optimized"


class RuntimeChoice(StrEnum):
    local = "local"
    compose = "compose"


class MeasureProfileChoice(StrEnum):
    quick = "quick"
    ci = "ci"
    full = "full"


class SearchBackendChoice(StrEnum):
    meilisearch = "meilisearch"
    postgres = "postgres"


def main() -> None:
    """Entry point: user errors become one line on stderr and exit status 2."""
    # Ctrl-C must stop whatever we start, also when we inherited SIGINT ignored (a shell
    # starts background jobs that way and Python then leaves it ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        # click's own exits (--help, a bad option) are handled here, not by sys.exit in
        # click, so that its usage errors read as one line like ours
        status = app(standalone_mode=False)
        sys.exit(status if isinstance(status, int) else 0)
    except click_errors.NoArgsIsHelpError as error:
        if error.ctx is not None:
            console.print(error.ctx.get_help(), markup=False, highlight=False)
        sys.exit(2)
    except click_errors.UsageError as error:
        command = error.ctx.command_path if error.ctx is not None else "chrono-bench"
        message = error.format_message().replace("Value error, ", "")
        err_console.print(f"{command}: {message} (see {command} --help)",
                          markup=False, highlight=False, soft_wrap=True)  # fmt: skip
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("chrono-bench: interrupted", markup=False)
        sys.exit(130)
    except UserError as error:
        # soft_wrap: the message stays one line however narrow the terminal
        err_console.print(f"chrono-bench: {error}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)


@app.command("budget")
def budget_command(
    inventory: Path = INVENTORY_OPTION,
    host: str | None = HOST_OPTION,
    shares: str | None = SHARES_OPTION,
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Derive a host's resource budget: each service's allocation and settings."""
    from harness.budget.inventory import load_inventory
    from harness.budget.table import allocation_table
    from harness.render.topology import host_budget

    # with roles in the inventory (db, app, worker), the host's own services only
    hosts = load_inventory(inventory)
    budget = host_budget(hosts, host, shares)
    if host is None:
        _say_default_host(hosts.names[0], inventory)
    if output is OutputFormat.json:
        sys.stdout.write(budget.to_json())
    else:
        console.print(allocation_table(budget))


@app.command("render")
def render_command(
    out: Path = typer.Option(..., "--out", help="bundle directory to write"),
    inventory: Path = INVENTORY_OPTION,
    host: str | None = HOST_OPTION,
    shares: str | None = SHARES_OPTION,
    resource_limits: bool = typer.Option(
        True, help="compose limits and reservations from the budget (off: none)"
    ),
    pg_tuning: bool = typer.Option(True, help="budget-derived postgresql.conf (off: stock)"),
    search_backend: SearchBackendChoice = typer.Option(
        SearchBackendChoice.meilisearch, "--search-backend"
    ),
    api_bind: str = typer.Option("127.0.0.1", help="address the API is published on"),
    api_port: int = typer.Option(8000, help="port the API is published on"),
) -> None:
    """Render a host's bundle: compose.yml, service configs, app.env and .env (secrets)."""
    from harness.budget.inventory import get_host, load_inventory
    from harness.render.bundle import RenderOptions
    from harness.render.topology import plan_topology, render_host

    hosts = load_inventory(inventory)
    name = get_host(hosts, host).name
    options = RenderOptions(
        resource_limits=resource_limits,
        pg_tuning=pg_tuning,
        search_backend=search_backend.value,
        api_bind=api_bind,
        api_port=api_port,
    )
    # with roles, the hosts of one stack share its secrets: kept beside the bundle
    secrets_dir = out.parent / ".chrono-stack-secrets"
    try:
        bundle = render_host(
            plan_topology(hosts, shares), name, out, options, secrets_dir=secrets_dir
        )
    except OSError as error:
        where = error.filename or out
        raise UserError(f"render: cannot write {where}: {error.strerror or error}.") from None
    which = f" (the first of {inventory}; --host NAME for another)" if host is None else ""
    console.print(f"bundle for host '{name}'{which} written to {bundle}", markup=False,
                  soft_wrap=True)  # fmt: skip


def _say_default_host(name: str, inventory: Path) -> None:
    """On stderr, so that --format json stays clean: which host was sized, and why."""
    err_console.print(f"host '{name}': the first of {inventory} (--host NAME for another)",
                      markup=False, highlight=False, soft_wrap=True)  # fmt: skip


class SeedScale(StrEnum):
    quick = "quick"
    full = "full"


@app.command("seed")
def seed_command(
    scale: SeedScale = typer.Option(SeedScale.quick, "--scale", help="quick or full (10x pages)"),
    dsn: str | None = typer.Option(
        None, "--dsn", envvar="CHRONO_DATABASE_URL", help="PostgreSQL URL of the app database"
    ),
) -> None:
    """Load the deterministic benchmark data set (replaces all rows) with COPY."""
    import psycopg

    from app.seed import BENCH_EMAIL, seed

    if not dsn:
        raise UserError("seed: no database given: pass --dsn or set CHRONO_DATABASE_URL.")
    try:
        summary = seed(dsn, scale.value)
    except psycopg.OperationalError as error:
        first_line = str(error).strip().splitlines()[0]
        raise UserError(f"seed: cannot reach the database: {first_line}") from error
    console.print(
        f"seeded {summary.scale}: {summary.users} users, {summary.projects} projects, "
        f"{summary.domains} domains, {summary.pages} pages in {summary.seconds:.1f} s "
        f"(benchmark user {BENCH_EMAIL})",
        markup=False,
    )


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

    from harness.report import write_report
    from harness.report.terminal import print_summary
    from harness.run.session import RunOptions, run_benchmarks

    _log_to_stderr()
    options = RunOptions(
        modes=("endtoend", "isolate"), profile="quick", inventory=inventory,
        isolate_scenarios=DEMO_ISOLATE_SCENARIOS,
    )  # fmt: skip
    run_dirs = run_benchmarks(options, console)
    # The figures first: they stand even if drawing the report fails.
    for run_dir in run_dirs:
        print_summary(console, run_dir)
        console.print(f"results: {run_dir / 'results.json'}", markup=False, soft_wrap=True)
    # one report, in the end-to-end run's folder (reports/latest), each optimization
    # alone from the isolate run after the report's ten rows
    started = time.monotonic()
    files = write_report(run_dirs[0], run_dirs[1:])
    console.print(f"report: {files.html} (summary: {files.summary}), written in "
                  f"{time.monotonic() - started:.1f} s", markup=False, soft_wrap=True)  # fmt: skip


def _log_to_stderr() -> None:
    """Library logs (warnings and up) on stderr, below the rich progress display."""
    import logging

    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.WARNING, format="%(message)s", handlers=[RichHandler(console=err_console)]
    )


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
    runtime: RuntimeChoice = typer.Option(
        RuntimeChoice.local,
        "--runtime",
        help="where the stack runs: local processes, or compose (Docker)",
    ),
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
) -> None:
    """Measure optimizations before and after; results in reports/<run-id>/results.json."""
    from harness.report.terminal import print_summary, summary_json
    from harness.run.session import RunOptions, run_benchmarks

    _log_to_stderr()
    if mode is None:
        mode = ModeChoice.optimized if profile is MeasureProfileChoice.ci else ModeChoice.isolate
    options = RunOptions(
        optimizations=optimizations, modes=(mode.value,), repeats=repeats,
        profile=profile.value, runtime=runtime.value, pin=pin, reports_dir=reports_dir,
        inventory=inventory, load_workers=load_workers, load_hosts=load_hosts, listen=listen,
        host=host,
    )  # fmt: skip
    # with --format json the progress goes to stderr and stdout holds only the JSON
    [run_dir] = run_benchmarks(options, err_console if output is OutputFormat.json else console)
    if output is OutputFormat.json:
        sys.stdout.write(summary_json(run_dir))
        return
    print_summary(console, run_dir)
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
    runtime: RuntimeChoice = typer.Option(
        RuntimeChoice.local,
        "--runtime",
        help="where the stack runs: local processes, or compose (Docker)",
    ),
    inventory: Path = INVENTORY_OPTION,
) -> None:
    """Start the whole stack and hold it until Ctrl-C or `chrono-bench down`."""
    from harness.run.hold import STATE_FILE, serve_stack

    _log_to_stderr()
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


baseline_app = typer.Typer(help="Store runs as baselines for the gate.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")
BASELINES_DIR = Path("baselines")


@app.command("report")
def report_command(
    run: str = typer.Argument("latest", help="run folder name under reports/, a path, or latest"),
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
    run: str = typer.Argument("latest", help="run folder name under reports/, a path, or latest"),
    baseline: Path | None = typer.Option(
        None,
        "--baseline",
        help="a results.json saved by `baseline save` (same host budget, "
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
        help="run the canary for real at the ci profile (about 10 "
        "minutes): an A/A pair must pass and a +50 % p95 regression fail",
    ),
    canary_ms: float | None = typer.Option(
        None,
        "--canary-ms",
        help="--self-test: the canary's delay (default: half the baseline's p95)",
    ),
) -> None:
    """Gate a run against a baseline: exit 0 pass, 1 regression, 2 invalid input or a
    baseline that is not comparable. Writes junit.xml and a Markdown summary, appended to
    $GITHUB_STEP_SUMMARY or printed as a GitLab log section where CI sets those."""
    import json

    from harness.gate.comparable import machine_notes, require_comparable
    from harness.gate.outputs import gate_json, publish_summary, write_gate_outputs
    from harness.gate.policy import load_policy
    from harness.gate.rules import run_gate
    from harness.results import load_results, resolve_run

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
    result = run_gate(results, reference, rules)
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

    _log_to_stderr()
    test = run_self_test(policy, Path("reports"), console, canary_ms)
    console.print(describe(test), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(test.exit_code)


@baseline_app.command("save")
def baseline_save_command(
    run: str = typer.Argument(..., help="run folder name under reports/, a path, or latest"),
    name: str | None = typer.Option(None, "--name", help="baseline name (default: the run id)"),
    directory: Path = typer.Option(BASELINES_DIR, "--dir", help="where baselines are kept"),
) -> None:
    """Store a run's results.json as baselines/<name>.json for `gate --baseline`."""
    from harness.results import dump_results, load_results, resolve_run

    results = load_results(resolve_run(run))
    target = directory / f"{name or results['run_id']}.json"
    dump_results(results, target)
    console.print(f"baseline saved to {target}", markup=False, soft_wrap=True)


images_app = typer.Typer(help="The offline image set (Debian packages, no registry).")
app.add_typer(images_app, name="images")


@images_app.command("build")
def images_build_command() -> None:
    """Build the offline image set: a debootstrap base, then postgres, redis, prometheus,
    the exporters and the app; images whose content is unchanged are reused."""
    from rich.table import Table

    from harness.progress import status
    from harness.runtime.compose.dockerd import docker_engine
    from harness.runtime.compose.images import build_images

    _log_to_stderr()
    # no engine answering: one started for the build (root), stopped after it, as
    # `run --runtime compose` does; the images stay in the engine's store
    with docker_engine() as engine, status(console, "building the offline image set") as update:
        reports = build_images(engine.client, progress=update)
    table = Table("image", "outcome", "seconds")
    for report in reports:
        table.add_row(report.tag, report.outcome, f"{report.seconds:.1f}")
    console.print(table)
    console.print("no Meilisearch image offline: this set runs search on PostgreSQL")


@app.command("deploy")
def deploy_command(
    inventory: Path = INVENTORY_OPTION,
    dry: bool = typer.Option(False, "--dry", help="show what would change, change nothing"),
    limit: list[str] = typer.Option([], "--limit", help="only these hosts (repeatable)"),
) -> None:
    """Deploy the stack to the inventory's hosts with pyinfra (deploy/main.py)."""
    from harness.runtime.deploy import run_deploy

    run_deploy(inventory, dry=dry, limit=limit)
