"""Versioned schema migrations and the reversible performance-index step.

Why a small runner rather than Alembic: the service talks to PostgreSQL through psycopg
with plain SQL and has no SQLAlchemy models for Alembic to build on, and the report's
indexes must be switched on and off on the same database (optimization `db_indexes`),
which does not fit a linear revision history. The runner applies
`app/db/migrations/NNNN_name.sql` in order, each in its own transaction under an advisory
lock (several processes may start at once), and records the version in
`schema_migrations`.

    python -m app.db.migrate up            [--dsn DSN]
    python -m app.db.migrate indexes on|off [--dsn DSN]
    python -m app.db.migrate status        [--dsn DSN]

Without --dsn the DSN comes from CHRONO_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
PERFORMANCE_INDEXES_FILE = Path(__file__).parent / "performance_indexes.sql"
# Any constant shared by every process that migrates this database.
ADVISORY_LOCK_KEY = 0x636872_6F6E6F
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
INDEX_NAME = re.compile(r"CREATE INDEX IF NOT EXISTS (\w+)")
ANALYZED_TABLES = ("domains", "pages", "projects", "scrape_pages")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order; a malformed or duplicate name is a bug."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if match is None:
            raise ValueError(f"migration file name {path.name!r} is not NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"two migrations share version {version}")
        found[version] = Migration(version, match.group(2), path)
    return [found[v] for v in sorted(found)]


def _ensure_table(conn: psycopg.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )


def applied_versions(dsn: str) -> list[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        _ensure_table(conn)
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    return [row[0] for row in rows]


def apply_migrations(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply every migration not applied yet; return the versions applied now."""
    done: list[int] = []
    with psycopg.connect(dsn) as conn:
        with conn.transaction():
            _ensure_table(conn)
        for migration in discover(directory):
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
                already = conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = %s", (migration.version,)
                ).fetchone()
                if already:
                    continue
                conn.execute(migration.path.read_text().encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
            log.info("applied migration %04d_%s", migration.version, migration.name)
            done.append(migration.version)
    return done


def performance_index_names() -> list[str]:
    return INDEX_NAME.findall(PERFORMANCE_INDEXES_FILE.read_text())


def set_performance_indexes(dsn: str, enabled: bool) -> None:
    """Create or drop the report's performance indexes, then refresh planner statistics."""
    with psycopg.connect(dsn) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
            if enabled:
                conn.execute(PERFORMANCE_INDEXES_FILE.read_text().encode())
            else:
                for name in performance_index_names():
                    conn.execute(f"DROP INDEX IF EXISTS {name}".encode())
        # Fresh statistics so the planner's choice reflects the indexes, not stale estimates.
        conn.autocommit = True
        for table in ANALYZED_TABLES:
            conn.execute(f"ANALYZE {table}".encode())


def present_performance_indexes(dsn: str) -> list[str]:
    """Which of the report's indexes exist now (what the app reports for db_indexes)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            " AND indexname = ANY(%s) ORDER BY indexname",
            (performance_index_names(),),
        ).fetchall()
    return [row[0] for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.db.migrate", description=__doc__)
    parser.add_argument("--dsn", default=os.environ.get("CHRONO_DATABASE_URL"))
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="apply pending migrations")
    sub.add_parser("status", help="list applied migrations and present performance indexes")
    indexes = sub.add_parser("indexes", help="switch the report's performance indexes")
    indexes.add_argument("state", choices=["on", "off"])
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("no database: pass --dsn or set CHRONO_DATABASE_URL")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "up":
            applied = apply_migrations(args.dsn)
            log.info("%d migration(s) applied", len(applied))
        elif args.command == "indexes":
            set_performance_indexes(args.dsn, args.state == "on")
            log.info("performance indexes %s", args.state)
        else:
            log.info("applied: %s", applied_versions(args.dsn))
            log.info("performance indexes: %s", present_performance_indexes(args.dsn))
    except psycopg.OperationalError as error:
        log.error("cannot reach the database: %s", str(error).strip().splitlines()[0])
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
