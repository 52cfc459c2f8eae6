"""Pages of a project, paginated. Callers check that the user owns the project first."""

from __future__ import annotations

from app.db.pool import Conn, Row

PAGE_COLUMNS = (
    "pages.id, pages.domain_id, pages.original_url, pages.wayback_url, pages.title,"
    " pages.unix_timestamp, pages.mime_type, pages.status_code, pages.meta_description,"
    " pages.language, pages.word_count, pages.capture_date, pages.content_hash,"
    " pages.processed, pages.indexed, pages.scraped_at"
)


async def list_pages(
    *, conn: Conn, project_id: int, domain_id: int | None, offset: int, limit: int
) -> tuple[list[Row], int]:
    """(pages in id order, total) of one project, optionally of one of its domains."""
    where = "domains.project_id = %(project_id)s"
    if domain_id is not None:
        where += " AND pages.domain_id = %(domain_id)s"
    params = {"project_id": project_id, "domain_id": domain_id, "offset": offset, "limit": limit}
    source = f"FROM pages JOIN domains ON domains.id = pages.domain_id WHERE {where}"
    total = await conn.fetch_one(f"SELECT count(*) AS n {source}", params)
    rows = await conn.fetch_all(
        f"SELECT {PAGE_COLUMNS} {source} ORDER BY pages.id OFFSET %(offset)s LIMIT %(limit)s",
        params,
    )
    return rows, total["n"] if total else 0
