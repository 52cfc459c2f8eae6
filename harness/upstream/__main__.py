"""`python -m harness.upstream`: serve a generated archive on loopback.

Every option can also come from the environment as `CHRONO_UPSTREAM_<OPTION>` (for
example `CHRONO_UPSTREAM_LATENCY_MS=50`).
"""

from __future__ import annotations

import logging
import sys

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console

from harness.errors import UserError
from harness.upstream.app import CdxSettings, create_app
from harness.upstream.cdx import DEFAULT_BLOCK_LINES, DEFAULT_MAX_PAGE_SIZE, QUERY_MAX_LINES
from harness.upstream.corpus import CorpusConfig, build_corpus
from harness.upstream.faults import Conditions, FaultKind
from harness.upstream.profiles import UPSTREAM_PROFILES

ENV_PREFIX = "CHRONO_UPSTREAM_"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
err_console = Console(stderr=True)


def _env(name: str) -> str:
    return ENV_PREFIX + name.upper()


@cli.command()
def serve(
    port: int = typer.Option(..., envvar=_env("port"), help="TCP port (0: any free port)"),
    host: str = typer.Option("127.0.0.1", envvar=_env("host"), help="loopback address"),
    seed: int = typer.Option(1, envvar=_env("seed")),
    domains: int = typer.Option(20, envvar=_env("domains"), min=1),
    pages_per_domain: int = typer.Option(20, envvar=_env("pages_per_domain"), min=1),
    captures_per_page: int = typer.Option(5, envvar=_env("captures_per_page"), min=1),
    first_year: int = typer.Option(2016, envvar=_env("first_year")),
    last_year: int = typer.Option(2025, envvar=_env("last_year")),
    huge_rate: float = typer.Option(0.0, envvar=_env("huge_rate"), min=0, max=1),
    huge_before: str = typer.Option("", envvar=_env("huge_before")),
    latency_ms: float = typer.Option(0.0, envvar=_env("latency_ms"), min=0),
    latency_jitter_ms: float = typer.Option(0.0, envvar=_env("latency_jitter_ms"), min=0),
    rate_429: float = typer.Option(0.0, envvar=_env("rate_429")),
    rate_503: float = typer.Option(0.0, envvar=_env("rate_503")),
    rate_reset: float = typer.Option(0.0, envvar=_env("rate_reset")),
    rate_slow: float = typer.Option(0.0, envvar=_env("rate_slow")),
    fault_schedule: str = typer.Option(
        "", envvar=_env("fault_schedule"), help="comma-separated: none,429,503,reset,slow"
    ),
    fault_applies_to: str = typer.Option("all", envvar=_env("fault_applies_to")),
    retry_after_s: int = typer.Option(1, envvar=_env("retry_after_s")),
    reset_after_bytes: int = typer.Option(1024, envvar=_env("reset_after_bytes")),
    slow_chunk_bytes: int = typer.Option(512, envvar=_env("slow_chunk_bytes")),
    slow_chunk_delay_ms: float = typer.Option(50.0, envvar=_env("slow_chunk_delay_ms")),
    fault_seed: int = typer.Option(0, envvar=_env("fault_seed")),
    cdx_block_lines: int = typer.Option(DEFAULT_BLOCK_LINES, envvar=_env("cdx_block_lines"), min=1),
    cdx_max_page_size: int = typer.Option(
        DEFAULT_MAX_PAGE_SIZE, envvar=_env("cdx_max_page_size"), min=1
    ),
    cdx_query_max_lines: int = typer.Option(
        QUERY_MAX_LINES, envvar=_env("cdx_query_max_lines"), min=1
    ),
    profile: str = typer.Option(
        "",
        envvar=_env("profile"),
        help=f"upstream profile: {', '.join(UPSTREAM_PROFILES)} (harness/upstream/profiles.py); "
        "empty: no rate limit, block or profile latency",
    ),
    time_factor: float = typer.Option(
        1.0, envvar=_env("time_factor"), help="divide the profile's every time by this"
    ),
    log_level: str = typer.Option("warning", envvar=_env("log_level")),
) -> None:
    """Serve the Wayback stand-in for one seed until interrupted."""
    if host not in LOOPBACK_HOSTS and not host.startswith("127."):
        raise UserError(f"upstream: host {host!r} is not a loopback address")
    if profile and profile not in UPSTREAM_PROFILES:
        raise UserError(
            f"upstream: unknown profile {profile!r}: choose {' or '.join(UPSTREAM_PROFILES)}"
        )
    if time_factor <= 0:
        raise UserError(f"upstream: time factor {time_factor:g} is not positive")
    if first_year > last_year:
        raise UserError(f"upstream: first year {first_year} is after last year {last_year}")
    try:
        schedule = [FaultKind(item.strip()) for item in fault_schedule.split(",") if item.strip()]
        conditions = Conditions(
            latency_ms=latency_ms,
            latency_jitter_ms=latency_jitter_ms,
            rate_429=rate_429,
            rate_503=rate_503,
            rate_reset=rate_reset,
            rate_slow=rate_slow,
            schedule=schedule,
            applies_to=fault_applies_to,  # type: ignore[arg-type]  # validated by pydantic
            retry_after_s=retry_after_s,
            reset_after_bytes=reset_after_bytes,
            slow_chunk_bytes=slow_chunk_bytes,
            slow_chunk_delay_ms=slow_chunk_delay_ms,
            fault_seed=fault_seed,
        )
    except (ValueError, ValidationError) as error:
        first_line = str(error).splitlines()[-1].strip()
        raise UserError(f"upstream: invalid fault settings: {first_line}") from None
    logging.basicConfig(level=log_level.upper())
    corpus = build_corpus(
        CorpusConfig(
            seed=seed,
            domains=domains,
            pages_per_domain=pages_per_domain,
            captures_per_page=captures_per_page,
            first_year=first_year,
            last_year=last_year,
            huge_rate=huge_rate,
            huge_before=huge_before,
        )
    )
    app = create_app(
        corpus,
        conditions,
        CdxSettings(cdx_block_lines, cdx_max_page_size, cdx_query_max_lines),
        UPSTREAM_PROFILES[profile].scaled(time_factor) if profile else None,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        # Without Date and Server headers, the same request gets the same bytes back.
        date_header=False,
        server_header=False,
    )


def main() -> None:
    """Entry point: user errors become one line on stderr and exit status 2."""
    try:
        cli()
    except UserError as error:
        err_console.print(str(error), markup=False, highlight=False)
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
