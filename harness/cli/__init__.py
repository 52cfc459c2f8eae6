"""The `chrono-bench` command line: one subcommand per step of the flow in docs/design.md."""

from __future__ import annotations

import signal
import sys

import typer

try:  # typer 0.2x carries its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer, on click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

# the command modules register their commands on `app` when imported, in the flow's
# order (budget, render, seed, ..., run, report, gate), which `--help` lists
# isort: off
from harness.cli import stack_commands, bench_commands, gate_commands  # noqa: F401

# isort: on
from harness.cli.app import app, console, err_console
from harness.errors import UserError

__all__ = ["app", "main"]


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
