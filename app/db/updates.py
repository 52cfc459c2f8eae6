"""Partial updates: the SET clause for the fields a request actually sent."""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import sql


def set_clause(names: Iterable[str]) -> sql.Composed:
    """`"a" = %(a)s, "b" = %(b)s`: identifiers quoted, values bound by name."""
    return sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in names
    )
