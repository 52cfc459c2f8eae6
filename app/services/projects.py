"""Projects: CRUD scoped to their owner. Statistics are in app/services/stats.py."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from app.db.pool import Conn, Row
from app.db.updates import set_clause
from app.models import ProjectCreate, ProjectStatus, ProjectUpdate

PROJECT_COLUMNS = (
    "id, user_id, name, description, index_name, process_documents, status, created_at, updated_at"
)
# Newest first as the original listed them; id breaks ties so every variant agrees.
PROJECT_ORDER = "created_at DESC, id DESC"


class OwnerMissingError(Exception):
    """The token's user no longer exists."""


async def list_projects(*, conn: Conn, user_id: int, skip: int, limit: int) -> list[Row]:
    return await conn.fetch_all(
        f"SELECT {PROJECT_COLUMNS} FROM projects WHERE user_id = %s"
        f" ORDER BY {PROJECT_ORDER} OFFSET %s LIMIT %s",
        (user_id, skip, limit),
    )


async def get_project(*, conn: Conn, project_id: int, user_id: int) -> Row | None:
    """The project when `user_id` owns it; None both when absent and when foreign."""
    return await conn.fetch_one(
        f"SELECT {PROJECT_COLUMNS} FROM projects WHERE id = %s AND user_id = %s",
        (project_id, user_id),
    )


async def create_project(*, conn: Conn, user_id: int, data: ProjectCreate) -> Row:
    try:
        async with conn.transaction():
            row = await conn.fetch_one(
                f"INSERT INTO projects (user_id, name, description, process_documents)"
                f" VALUES (%s, %s, %s, %s) RETURNING {PROJECT_COLUMNS}",
                (user_id, data.name, data.description, data.process_documents),
            )
            assert row is not None
            row = await conn.fetch_one(
                f"UPDATE projects SET index_name = 'project_' || id WHERE id = %s"
                f" RETURNING {PROJECT_COLUMNS}",
                (row["id"],),
            )
    except psycopg.errors.ForeignKeyViolation as error:
        raise OwnerMissingError(user_id) from error
    assert row is not None
    return row


async def update_project(
    *, conn: Conn, project_id: int, user_id: int, data: ProjectUpdate
) -> Row | None:
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if not changes:
        return await get_project(conn=conn, project_id=project_id, user_id=user_id)
    assignments = set_clause(changes)
    query = sql.SQL(
        "UPDATE projects SET {assignments}, updated_at = now()"
        " WHERE id = %(project_id)s AND user_id = %(user_id)s RETURNING {columns}"
    ).format(assignments=assignments, columns=sql.SQL(PROJECT_COLUMNS))
    params = {**changes, "project_id": project_id, "user_id": user_id}
    return await conn.fetch_one(query, params)


async def delete_project(*, conn: Conn, project_id: int, user_id: int) -> bool:
    deleted = await conn.execute(
        "DELETE FROM projects WHERE id = %s AND user_id = %s", (project_id, user_id)
    )
    return deleted > 0


async def set_status(*, conn: Conn, project_id: int, status: ProjectStatus) -> None:
    await conn.execute(
        "UPDATE projects SET status = %s, updated_at = now() WHERE id = %s",
        (status.value, project_id),
    )


async def user_project_ids(*, conn: Conn, user_id: int) -> list[int]:
    rows = await conn.fetch_all(
        "SELECT id FROM projects WHERE user_id = %s ORDER BY id", (user_id,)
    )
    return [row["id"] for row in rows]
