"""What a probe is: a short check on the live stack that an optimization's switch really acts.

A probe runs with the stack in one variant and is told whether its optimization is on.
Off, it must see the problem the performance report describes (the "before" reproduces
it); on, it must see the fix in effect. Either way it returns a `Reading`: passed or not,
one line saying what it saw, and the figures it read. A probe never raises for a
misbehaving stack: what it could not read is a failed reading with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import redis
from dotenv import dotenv_values
from prometheus_client.parser import text_string_to_metric_families

from harness.runtime.target import Target
from harness.upstream.corpus import Corpus

API = "/api/v1"
BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "chrono-bench-password"
REQUEST_TIMEOUT_S = 60.0
STATEMENTS_HEADER = "X-DB-Statements"
APP_ENV_FILE = "app.env"

Figure = float | str


@dataclass(frozen=True)
class Reading:
    """What one probe saw; `passed` means the expectation (problem or fix) held."""

    passed: bool
    detail: str
    figures: dict[str, Figure] = field(default_factory=dict)


def expectation(on: bool) -> str:
    return "fix in effect" if on else "problem reproduced"


class ProbeContext:
    """The live stack as probes see it, with the benchmark user's session and ids."""

    def __init__(self, target: Target, corpus: Corpus | None = None) -> None:
        self.target = target
        # the stand-in's archive, for probes that scrape it
        self.corpus = corpus
        self._token: str | None = None
        self._user: tuple[int, list[int]] | None = None
        self._memo: dict[str, Any] = {}

    @contextmanager
    def client(self) -> Iterator[httpx.Client]:
        """An HTTP client to the API, logged in as the benchmark user."""
        with httpx.Client(base_url=self.target.api_url, timeout=REQUEST_TIMEOUT_S) as client:
            if self._token is None:
                response = client.post(
                    f"{API}/auth/login",
                    data={"username": BENCH_EMAIL, "password": BENCH_PASSWORD},
                )
                response.raise_for_status()
                self._token = str(response.json()["access_token"])
            client.headers["Authorization"] = f"Bearer {self._token}"
            yield client

    def token(self) -> str:
        """The benchmark user's access token."""
        with self.client():
            pass
        assert self._token is not None
        return self._token

    def bench_user(self) -> tuple[int, list[int]]:
        """The benchmark user's id and project ids (oldest first)."""
        if self._user is None:
            with psycopg.connect(self.target.superuser_dsn(), dbname=self.target.database) as c:
                rows = c.execute(
                    "SELECT u.id, p.id FROM users u LEFT JOIN projects p ON p.user_id = u.id"
                    " WHERE u.email = %s ORDER BY p.id",
                    (BENCH_EMAIL,),
                ).fetchall()
            if not rows:
                raise ProbeError(f"no benchmark user {BENCH_EMAIL} (was the stack seeded?)")
            self._user = (int(rows[0][0]), [int(r[1]) for r in rows if r[1] is not None])
        return self._user

    def superuser(self) -> psycopg.Connection[Any]:
        """An autocommit superuser connection to the app's database."""
        return psycopg.connect(
            self.target.superuser_dsn(), dbname=self.target.database, autocommit=True
        )

    def redis_cache(self) -> redis.Redis[bytes]:
        return redis.Redis.from_url(self.target.cache_url())

    def app_env(self) -> dict[str, str]:
        """The bundle's app.env: the service settings the budget derived."""
        env = dotenv_values(self.target.bundle / APP_ENV_FILE)
        return {key: value for key, value in env.items() if value is not None}

    def memo(self, name: str, compute: Callable[[], Any]) -> Any:
        """One reading shared by the probes of one variant and round (a costly request)."""
        if name not in self._memo:
            self._memo[name] = compute()
        return self._memo[name]

    def api_metrics(self) -> dict[str, float]:
        """The API's /metrics (merged over its processes), sample name and labels -> value."""
        with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
            response = client.get(f"{self.target.api_url}/metrics")
        response.raise_for_status()
        return parse_metrics(response.text)


class ProbeError(Exception):
    """A probe could not read what it needs; the message is the reading's reason."""


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus exposition text as `name{label="v",...}` -> value (labels sorted)."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values


Probe = Callable[[ProbeContext, bool], Reading]
