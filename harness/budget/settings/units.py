"""Amounts written the way the services' own config files spell them."""

from __future__ import annotations

from harness.units import KIB_PER_MIB


def pg_memory(kb: int) -> str:
    """A PostgreSQL memory setting: whole megabytes as `NMB`, anything else as `NkB`."""
    if kb % KIB_PER_MIB == 0:
        return f"{kb // KIB_PER_MIB}MB"
    return f"{kb}kB"


def cpus_text(cpus: float) -> str:
    """Cpus as compose and tables show them: `2`, `0.75`, `1.1`."""
    return f"{cpus:.2f}".rstrip("0").rstrip(".")
