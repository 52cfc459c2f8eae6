"""SQL statements per `GET /api/v1/projects/`: the N+1 probe and the counter cross-check.

Both counters count the same statements. The app counts what its cursors execute
(`app/db/counting.py`: every `execute`, each row of an `executemany`), not the
transaction control psycopg sends itself; pg_stat_statements counts every statement the
app role ran in the app database, BEGIN and COMMIT included (`track_utility`). The
server side therefore leaves out transaction control (BEGIN, COMMIT, ROLLBACK,
SAVEPOINT, RELEASE), which the N+1 path sends twice per project: that was the 400 of the
demo's "app 2,401 vs pg_stat_statements 2,801" (100 projects, two transactions each).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.cache import generation_key
from harness.collect.postgres import statement_totals
from harness.run.probes.base import API, STATEMENTS_HEADER, ProbeContext, ProbeError, Reading

# The API's default page of the project list (its `limit` query parameter).
LIST_LIMIT = 100
# The report's N+1: at least four statements per project beside the list's own.
STATEMENTS_PER_PROJECT = 4
# Other clients of the app role (a health check) may run a statement meanwhile.
CROSS_CHECK_TOLERANCE_SHARE = 0.01
CROSS_CHECK_TOLERANCE_MIN = 2
STATEMENTS_MEMO = "statements"


@dataclass(frozen=True)
class StatementCount:
    """One uncached `GET /api/v1/projects/` counted by the app and by the server."""

    projects: int
    app: float
    server: float
    server_control: float

    @property
    def tolerance(self) -> float:
        return max(CROSS_CHECK_TOLERANCE_MIN, CROSS_CHECK_TOLERANCE_SHARE * self.app)

    @property
    def agree(self) -> bool:
        return math.isfinite(self.app) and abs(self.app - self.server) <= self.tolerance

    def figures(self) -> dict[str, float | str]:
        return {
            "projects": float(self.projects),
            "app_statements": self.app,
            "pg_statements": self.server,
            "pg_transaction_control": self.server_control,
        }


def count_statements(context: ProbeContext) -> StatementCount:
    """Count one list request both ways; the user's cache entries are orphaned first so
    that a cached variant computes the answer too."""
    target = context.target
    user_id, projects = context.bench_user()
    context.redis_cache().incr(generation_key(user_id))
    with context.client() as client:
        before = statement_totals(target.superuser_dsn(), target.database, target.role)
        response = client.get(f"{API}/projects/")
        after = statement_totals(target.superuser_dsn(), target.database, target.role)
    if response.status_code != 200:
        raise ProbeError(f"GET {API}/projects/ answered {response.status_code}")
    app = float(response.headers.get(STATEMENTS_HEADER, "nan"))
    if not math.isfinite(app):
        raise ProbeError(f"the API sent no {STATEMENTS_HEADER} header")
    return StatementCount(
        projects=min(len(projects), LIST_LIMIT),
        app=app,
        server=after.statements - before.statements,
        server_control=after.control - before.control,
    )


def cross_check(count: StatementCount) -> Reading:
    """The app's counter against pg_stat_statements, within the stated tolerance."""
    detail = (
        f"statements per GET {API}/projects/: app {count.app:.0f}, pg_stat_statements "
        f"{count.server:.0f} (+{count.server_control:.0f} BEGIN/COMMIT, not counted by the "
        f"app)"
    )
    if count.agree:
        return Reading(True, f"{detail}; agree within {count.tolerance:.0f}", count.figures())
    return Reading(
        False, f"{detail}: they differ by more than {count.tolerance:.0f}", count.figures()
    )


def stats_aggregate(context: ProbeContext, on: bool) -> Reading:
    """Off: at least 1 + 4 N statements for N projects; on: exactly one."""
    count: StatementCount = context.memo(STATEMENTS_MEMO, lambda: count_statements(context))
    n = count.projects
    figures = count.figures()
    if on:
        ok = count.app == 1
        return Reading(ok, f"{count.app:.0f} statement(s) for {n} projects (fix: 1)", figures)
    least = 1 + STATEMENTS_PER_PROJECT * n
    ok = n > 0 and count.app >= least
    return Reading(
        ok, f"{count.app:.0f} statements for {n} projects (N+1: at least {least})", figures
    )
