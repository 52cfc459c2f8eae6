"""The `chrono-bench` command line: one subcommand per step of the flow in DESIGN.md."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from harness.errors import UserError

app = typer.Typer(
    name="chrono-bench",
    help="Derive the Chrono Scraper stack from one resource budget, run it, and measure "
    "what each optimization of the performance report buys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit status 2."""
    try:
        app()
    except UserError as error:
        err_console.print(f"chrono-bench: {error}", markup=False, highlight=False)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        err_console.print("chrono-bench: interrupted", markup=False)
        sys.exit(130)
