"""Users: registration and lookup."""

from __future__ import annotations

import psycopg

from app.db.pool import Conn, Row

USER_COLUMNS = "id, email, hashed_password, full_name, is_active, is_verified, created_at"


class EmailTakenError(Exception):
    """Another user has registered this e-mail address."""


async def create_user(
    *, conn: Conn, email: str, hashed_password: str, full_name: str | None
) -> Row:
    try:
        row = await conn.fetch_one(
            f"INSERT INTO users (email, hashed_password, full_name) VALUES (%s, %s, %s)"
            f" RETURNING {USER_COLUMNS}",
            (email.lower(), hashed_password, full_name),
        )
    except psycopg.errors.UniqueViolation as error:
        raise EmailTakenError(email) from error
    assert row is not None  # INSERT ... RETURNING always returns the row
    return row


async def get_user_by_email(*, conn: Conn, email: str) -> Row | None:
    return await conn.fetch_one(
        f"SELECT {USER_COLUMNS} FROM users WHERE email = %s", (email.lower(),)
    )


async def get_user(*, conn: Conn, user_id: int) -> Row | None:
    return await conn.fetch_one(f"SELECT {USER_COLUMNS} FROM users WHERE id = %s", (user_id,))
