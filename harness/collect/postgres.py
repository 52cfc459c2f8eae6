"""pg_stat_statements deltas over a window: the server's own count of the app's statements.

This cross-checks the app's statement counter: the app can only count what it sends
through its own code paths, the server counts everything it executed for the app role.
"""

from __future__ import annotations

import psycopg

from harness.collect import Readings

TOTALS_SQL = """
SELECT coalesce(sum(s.calls), 0)::float8, coalesce(sum(s.total_exec_time), 0)::float8
FROM pg_stat_statements s
JOIN pg_database d ON d.oid = s.dbid
JOIN pg_roles r ON r.oid = s.userid
WHERE d.datname = %s AND r.rolname = %s
"""


def statement_totals(superuser_dsn: str, database: str, role: str) -> tuple[float, float]:
    """Statements executed and their total time (ms) so far for one database and role."""
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        row = conn.execute(TOTALS_SQL, (database, role)).fetchone()
    assert row is not None  # an aggregate always yields a row
    return float(row[0]), float(row[1])


class StatementDelta:
    """Statements the app role ran in the app database between `begin()` and `end()`."""

    def __init__(self, superuser_dsn: str, *, database: str, role: str) -> None:
        self._dsn = superuser_dsn
        self._database = database
        self._role = role
        self._start = (0.0, 0.0)

    def begin(self) -> None:
        self._start = statement_totals(self._dsn, self._database, self._role)

    def end(self) -> Readings:
        calls, time_ms = statement_totals(self._dsn, self._database, self._role)
        return {
            "pg.statements": calls - self._start[0],
            "pg.exec_time_ms": time_ms - self._start[1],
        }
