"""Commands of the budget and the bundle: budget, render, seed, images build, deploy."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from harness.cli.app import (
    HOST_OPTION,
    INVENTORY_OPTION,
    SHARES_OPTION,
    OutputFormat,
    SearchBackendChoice,
    app,
    console,
    err_console,
    log_to_stderr,
)  # fmt: skip
from harness.errors import UserError


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

    log_to_stderr()
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
