"""Domains of a project. Callers check that the user owns the project first."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from app.db.pool import Conn, Row
from app.db.updates import set_clause
from app.models import DomainCreate, DomainUpdate

DOMAIN_COLUMNS = (
    "id, project_id, domain_name, match_type, url_path, max_pages, active, status,"
    " from_date, to_date, total_pages, scraped_pages, failed_pages, last_scraped, created_at"
)


class DomainExistsError(Exception):
    """The project already has this domain."""


async def list_domains(*, conn: Conn, project_id: int) -> list[Row]:
    return await conn.fetch_all(
        f"SELECT {DOMAIN_COLUMNS} FROM domains WHERE project_id = %s ORDER BY id", (project_id,)
    )


async def get_domain(*, conn: Conn, project_id: int, domain_id: int) -> Row | None:
    return await conn.fetch_one(
        f"SELECT {DOMAIN_COLUMNS} FROM domains WHERE id = %s AND project_id = %s",
        (domain_id, project_id),
    )


async def create_domain(*, conn: Conn, project_id: int, data: DomainCreate) -> Row:
    # The original checked for a duplicate name in code (no unique constraint, whose index
    # would double as the project_id index the db_indexes "before" must lack).
    async with conn.transaction():
        existing = await conn.fetch_one(
            "SELECT id FROM domains WHERE project_id = %s AND domain_name = %s FOR UPDATE",
            (project_id, data.domain_name),
        )
        if existing is not None:
            raise DomainExistsError(data.domain_name)
        row = await conn.fetch_one(
            f"INSERT INTO domains (project_id, domain_name, match_type, url_path, max_pages,"
            f" active, from_date, to_date) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            f" RETURNING {DOMAIN_COLUMNS}",
            (
                project_id,
                data.domain_name,
                data.match_type.value,
                data.url_path,
                data.max_pages,
                data.active,
                data.from_date,
                data.to_date,
            ),
        )
    assert row is not None
    return row


async def update_domain(
    *, conn: Conn, project_id: int, domain_id: int, data: DomainUpdate
) -> Row | None:
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if not changes:
        return await get_domain(conn=conn, project_id=project_id, domain_id=domain_id)
    assignments = set_clause(changes)
    query = sql.SQL(
        "UPDATE domains SET {assignments}, updated_at = now()"
        " WHERE id = %(domain_id)s AND project_id = %(project_id)s RETURNING {columns}"
    ).format(assignments=assignments, columns=sql.SQL(DOMAIN_COLUMNS))
    params = {**changes, "domain_id": domain_id, "project_id": project_id}
    return await conn.fetch_one(query, params)


async def delete_domain(*, conn: Conn, project_id: int, domain_id: int) -> bool:
    deleted = await conn.execute(
        "DELETE FROM domains WHERE id = %s AND project_id = %s", (domain_id, project_id)
    )
    return deleted > 0
