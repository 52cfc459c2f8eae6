"""The migration runner and the reversible performance-index step, on a real PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest

from app.db import migrate

REPORT_INDEXES = [
    "idx_domains_project_id",
    "idx_pages_domain_id_processed_indexed",
    "idx_pages_scraped_at",
    "idx_projects_user_id_created_at",
    "idx_scrape_pages_status_domain_id",
]


def _indexes(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
        return {row[0] for row in rows}


def test_up_applies_every_migration_once(fresh_database):
    dsn = fresh_database()
    first = migrate.apply_migrations(dsn)
    assert first == [m.version for m in migrate.discover()]
    assert migrate.apply_migrations(dsn) == []
    assert migrate.applied_versions(dsn) == first


def test_foreign_keys_are_not_indexed_before_the_index_step(fresh_database):
    dsn = fresh_database()
    migrate.apply_migrations(dsn)
    present = _indexes(dsn)
    assert not present & set(REPORT_INDEXES)
    # The capture key's index (idempotent re-scrape) and full-text GIN exist in both variants.
    assert {"pages_capture_key", "pages_search_vector_gin"} <= present
    assert migrate.present_performance_indexes(dsn) == []


def test_indexes_switch_on_and_off(fresh_database):
    dsn = fresh_database()
    migrate.apply_migrations(dsn)
    assert migrate.performance_index_names() == REPORT_INDEXES
    migrate.set_performance_indexes(dsn, True)
    migrate.set_performance_indexes(dsn, True)  # idempotent
    assert migrate.present_performance_indexes(dsn) == sorted(REPORT_INDEXES)
    migrate.set_performance_indexes(dsn, False)
    assert migrate.present_performance_indexes(dsn) == []


def test_capture_key_makes_rescrape_idempotent(fresh_database):
    dsn = fresh_database()
    migrate.apply_migrations(dsn)
    with psycopg.connect(dsn) as conn:
        user = conn.execute(
            "INSERT INTO users (email, hashed_password) VALUES ('a@x.org', 'h') RETURNING id"
        ).fetchone()[0]
        project = conn.execute(
            "INSERT INTO projects (user_id, name) VALUES (%s, 'p') RETURNING id", (user,)
        ).fetchone()[0]
        domain = conn.execute(
            "INSERT INTO domains (project_id, domain_name) VALUES (%s, 'x.org') RETURNING id",
            (project,),
        ).fetchone()[0]
        insert = (
            "INSERT INTO pages (domain_id, original_url, unix_timestamp, title)"
            " VALUES (%s, 'http://x.org/', '20200101000000', %s)"
            " ON CONFLICT ON CONSTRAINT pages_capture_key DO UPDATE SET title = excluded.title"
        )
        conn.execute(insert, (domain, "first"))
        conn.execute(insert, (domain, "second"))
        rows = conn.execute("SELECT title FROM pages").fetchall()
    assert rows == [("second",)]


def test_malformed_migration_name_is_rejected(tmp_path):
    (tmp_path / "1_bad.sql").write_text("SELECT 1")
    with pytest.raises(ValueError, match="NNNN_name"):
        migrate.discover(tmp_path)


def test_cli_without_dsn_fails_cleanly(monkeypatch):
    monkeypatch.delenv("CHRONO_DATABASE_URL", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        migrate.main(["up"])
    assert exit_info.value.code == 2
