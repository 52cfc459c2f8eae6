"""The `chrono-bench` typer application, its consoles and the options several commands share."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from harness import catalog

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
OPTIMIZATION_IDS = ", ".join(catalog.IDS)
RUN_HELP = "run folder name under reports/, a path, or latest"
LATEST_RUN_ARGUMENT = typer.Argument("latest", help=RUN_HELP)


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


RUNTIME_OPTION = typer.Option(
    RuntimeChoice.local, "--runtime",
    help="where the stack runs: local processes, or compose (Docker)",
)  # fmt: skip


class MeasureProfileChoice(StrEnum):
    quick = "quick"
    ci = "ci"
    full = "full"


class SearchBackendChoice(StrEnum):
    meilisearch = "meilisearch"
    postgres = "postgres"


def log_to_stderr() -> None:
    """Library logs (warnings and up) on stderr, below the rich progress display."""
    import logging

    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.WARNING, format="%(message)s", handlers=[RichHandler(console=err_console)]
    )
