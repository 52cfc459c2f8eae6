"""One probe per optimization of the catalog, run on the live stack before measuring.

`PROBES` maps each optimization id to its probe (`base.Probe`); `Prober` runs them for
the variant the stack is in, once per variant and round, and turns any failure to read
into a failed reading with the reason. What each probe checks is in its module.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import psycopg
import redis

from harness.run.probes import (
    cache,
    containers,
    database,
    frontend,
    loop,
    scraping,
    statements,
    websocket,
    workers,
)
from harness.run.probes.base import Probe, ProbeContext, ProbeError, Reading, expectation
from harness.runtime.target import Target
from harness.upstream.corpus import Corpus

LOG = logging.getLogger(__name__)

PROBES: dict[str, Probe] = {
    "stats_aggregate": statements.stats_aggregate,
    "db_indexes": database.db_indexes,
    "async_db": loop.async_db,
    "db_pool": database.db_pool,
    "pg_tuning": database.pg_tuning,
    "redis_cache": cache.redis_cache,
    "celery_tuning": workers.celery_tuning,
    "batch_indexing": scraping.batch_indexing,
    "streaming_fetch": scraping.streaming_fetch,
    "ws_manager": websocket.ws_manager,
    "resource_limits": containers.resource_limits,
    "frontend_split": frontend.frontend_split,
}
# Probes that scrape (about 10 s each here) run the first time a variant is applied only:
# every round would add a scrape per variant to each round.
FIRST_ROUND_ONLY = frozenset({"batch_indexing", "streaming_fetch"})
# What a stack that misbehaves can raise while a probe reads it.
READ_ERRORS = (ProbeError, httpx.HTTPError, psycopg.Error, redis.RedisError, OSError, KeyError)


@dataclass(frozen=True)
class Timed:
    reading: Reading
    duration_s: float


class Prober:
    """Runs probes against one stack; `begin` starts a new variant or round."""

    def __init__(
        self, probes: dict[str, Probe] | None = None, corpus: Corpus | None = None
    ) -> None:
        self.probes = PROBES if probes is None else probes
        self.corpus = corpus
        self._context: ProbeContext | None = None
        self._done: dict[tuple[str, bool], Timed] = {}

    def begin(self, target: Target) -> None:
        self._context = ProbeContext(target, self.corpus)
        self._done = {}

    @staticmethod
    def due(optimization: str, repeat: int) -> bool:
        """Whether the optimization's probe runs in this round."""
        return repeat == 0 or optimization not in FIRST_ROUND_ONLY

    def reading(self, optimization: str, on: bool) -> Timed:
        """The optimization's probe, run once per `begin` and switch state."""
        key = (optimization, on)
        if key not in self._done:
            self._done[key] = self._timed(lambda c: self._probe(optimization)(c, on))
            LOG.info("probe %s (%s): %s", optimization, expectation(on), self._done[key])
        return self._done[key]

    def cross_check(self) -> Timed:
        """The app's statement counter against pg_stat_statements (statements.py)."""
        return self._timed(
            lambda c: statements.cross_check(
                c.memo(statements.STATEMENTS_MEMO, lambda: statements.count_statements(c))
            )
        )

    def _probe(self, optimization: str) -> Probe:
        probe = self.probes.get(optimization)
        if probe is None:
            raise ProbeError(f"no probe for {optimization}")
        return probe

    def _timed(self, run: Callable[[ProbeContext], Reading]) -> Timed:
        if self._context is None:
            raise RuntimeError("Prober.begin() was not called")
        started = time.monotonic()
        try:
            reading = run(self._context)
        except READ_ERRORS as error:
            reading = Reading(False, f"could not read: {error}".splitlines()[0])
        return Timed(reading, time.monotonic() - started)
