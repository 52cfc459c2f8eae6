"""Meilisearch: its defaults read the machine's RAM and cpus, not the container's limit."""

from __future__ import annotations

import math

from harness.units import MIB

# Indexing may take half the limit; search and the LMDB map keep the other half.
INDEXING_MEMORY_PERCENT = 50


def meilisearch_settings(*, cpus: float, memory_mb: int) -> dict[str, str]:
    """Environment settings, as Meilisearch reads them (memory in bytes)."""
    # MEILI_MAX_INDEXING_MEMORY <= 50 % of the limit
    indexing_memory_bytes = memory_mb * MIB * INDEXING_MEMORY_PERCENT // 100
    return {
        "MEILI_MAX_INDEXING_MEMORY": str(indexing_memory_bytes),
        # MEILI_MAX_INDEXING_THREADS = its cpus
        "MEILI_MAX_INDEXING_THREADS": str(max(1, math.floor(cpus))),
    }
