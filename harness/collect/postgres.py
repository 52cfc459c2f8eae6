"""pg_stat_statements deltas over a window: the server's own count of the app's statements.

This cross-checks the app's statement counter: the app can only count what it sends
through its own code paths, the server counts everything it executed for the app role.
Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) is counted apart: the
app's counter leaves out what psycopg sends itself, so only the rest compares with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from harness.collect import Readings

TOTALS_SQL = r"""
SELECT coalesce(sum(s.calls) FILTER (WHERE NOT s.control), 0)::float8,
       coalesce(sum(s.calls) FILTER (WHERE s.control), 0)::float8,
       coalesce(sum(s.total_exec_time), 0)::float8
FROM (
    SELECT s.calls, s.total_exec_time,
           s.query ~* '^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|START\s+TRANSACTION|END)\y'
               AS control
    FROM pg_stat_statements s
    JOIN pg_database d ON d.oid = s.dbid
    JOIN pg_roles r ON r.oid = s.userid
    WHERE d.datname = %s AND r.rolname = %s
) s
"""


@dataclass(frozen=True)
class StatementTotals:
    """Calls so far for one database and role: statements, transaction control, time."""

    statements: float
    control: float
    exec_time_ms: float


def statement_totals(superuser_dsn: str, database: str, role: str) -> StatementTotals:
    """Statements executed (transaction control apart) and their time so far."""
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        row = conn.execute(TOTALS_SQL, (database, role)).fetchone()
    assert row is not None  # an aggregate always yields a row
    return StatementTotals(float(row[0]), float(row[1]), float(row[2]))


class StatementDelta:
    """Statements the app role ran in the app database between `begin()` and `end()`."""

    def __init__(self, superuser_dsn: str, *, database: str, role: str) -> None:
        self._dsn = superuser_dsn
        self._database = database
        self._role = role
        self._start = StatementTotals(0.0, 0.0, 0.0)

    def begin(self) -> None:
        self._start = statement_totals(self._dsn, self._database, self._role)

    def end(self) -> Readings:
        now = statement_totals(self._dsn, self._database, self._role)
        return {
            "pg.statements": now.statements - self._start.statements,
            "pg.transaction_control": now.control - self._start.control,
            "pg.exec_time_ms": now.exec_time_ms - self._start.exec_time_ms,
        }
