"""Project statistics, the report's section 1, both ways (switch `stats_aggregate`).

Off reproduces the original `ProjectService.get_project_stats` (chrono-scraper
backend/app/services/projects.py, the code the report quotes): per project four
count/max queries, then `_sync_domain_counters` (load the domains, three counts per
domain, an UPDATE per domain whose counters changed — SQLAlchemy flushes only dirty rows —
and a commit) and `_update_project_status_based_on_state` (load the project and its
domains, two counts, an UPDATE if the status changed, a commit). A read therefore writes,
and `list_with_stats` sends 1 + 24 statements per project of five domains.

On is the report's fix: one statement of LEFT JOINs, GROUP BY and FILTER. It writes
nothing, so it answers identically whenever the stored counters and status already agree
with the pages — as they do after the seed and the pipeline, which maintain them. (Where
they disagree, the off path rewrites them on read: e.g. it turns a project the scrape
endpoint has just set to `indexing` back to `no_index` until pages arrive. That is the
original's behaviour, kept.)
"""

from __future__ import annotations

from typing import Any

from app.db.pool import Conn, Row
from app.models import DomainStatus, ProjectStatus
from app.services.projects import PROJECT_COLUMNS, PROJECT_ORDER, get_project, list_projects

STATS_KEYS = ("domain_count", "total_pages", "scraped_pages", "last_scraped")

# -- off: the original's per-project loop --------------------------------------------------

COUNT_DOMAINS = "SELECT count(id) AS n FROM domains WHERE project_id = %s"
COUNT_PAGES = (
    "SELECT count(pages.id) AS n FROM pages JOIN domains ON domains.id = pages.domain_id"
    " WHERE domains.project_id = %s"
)
COUNT_PROCESSED_PAGES = COUNT_PAGES + " AND pages.processed = true AND pages.indexed = true"
LAST_SCRAPED = (
    "SELECT max(pages.scraped_at) AS last FROM pages"
    " JOIN domains ON domains.id = pages.domain_id WHERE domains.project_id = %s"
)
DOMAIN_COLUMNS = "id, total_pages, scraped_pages, failed_pages, status"


async def _scalar(conn: Conn, query: str, *params: Any) -> Any:
    row = await conn.fetch_one(query, params)
    assert row is not None
    return next(iter(row.values()))


def _domain_status(total: int, processed: int, failed: int) -> DomainStatus:
    if total == 0:
        return DomainStatus.active
    if failed > 0 and processed == 0:
        return DomainStatus.error
    if processed > 0:
        return DomainStatus.completed if processed == total else DomainStatus.active
    return DomainStatus.active


def _project_status(total: int, processed: int, domain_statuses: list[str]) -> ProjectStatus:
    if total == 0:
        return ProjectStatus.no_index
    if processed > 0:
        # The original's two first branches (all done / some done) both end "indexed".
        return ProjectStatus.indexed
    if DomainStatus.error in domain_statuses:
        return ProjectStatus.error
    return ProjectStatus.indexing


async def _sync_domain_counters(conn: Conn, project_id: int) -> None:
    async with conn.transaction():
        domains = await conn.fetch_all(
            f"SELECT {DOMAIN_COLUMNS} FROM domains WHERE project_id = %s", (project_id,)
        )
        for domain in domains:
            total = await _scalar(
                conn, "SELECT count(id) FROM pages WHERE domain_id = %s", domain["id"]
            )
            processed = await _scalar(
                conn,
                "SELECT count(id) FROM pages WHERE domain_id = %s"
                " AND processed = true AND indexed = true",
                domain["id"],
            )
            failed = await _scalar(
                conn,
                "SELECT count(id) FROM pages WHERE domain_id = %s AND error_message IS NOT NULL",
                domain["id"],
            )
            status = _domain_status(total, processed, failed).value
            current = (domain["total_pages"], domain["scraped_pages"], domain["failed_pages"])
            if current != (total, processed, failed) or domain["status"] != status:
                await conn.execute(
                    "UPDATE domains SET total_pages = %s, scraped_pages = %s,"
                    " failed_pages = %s, status = %s WHERE id = %s",
                    (total, processed, failed, status, domain["id"]),
                )


async def _update_project_status(conn: Conn, project_id: int) -> str | None:
    """The project's status after the sync (the original's identity map showed it)."""
    async with conn.transaction():
        project = await conn.fetch_one(
            "SELECT id, status FROM projects WHERE id = %s", (project_id,)
        )
        if project is None:
            return None
        domains = await conn.fetch_all(
            f"SELECT {DOMAIN_COLUMNS} FROM domains WHERE project_id = %s", (project_id,)
        )
        if not domains:
            # The original set a DRAFT status here; no_index is this schema's nearest.
            status = ProjectStatus.no_index
        else:
            total = await _scalar(conn, COUNT_PAGES, project_id)
            processed = await _scalar(conn, COUNT_PROCESSED_PAGES, project_id)
            status = _project_status(total, processed, [d["status"] for d in domains])
        if project["status"] != status.value:
            await conn.execute(
                "UPDATE projects SET status = %s WHERE id = %s", (status.value, project_id)
            )
        return status.value


async def _project_stats_loop(conn: Conn, project: Row) -> Row:
    project_id = project["id"]
    stats = {
        "domain_count": await _scalar(conn, COUNT_DOMAINS, project_id),
        "total_pages": await _scalar(conn, COUNT_PAGES, project_id),
        "scraped_pages": await _scalar(conn, COUNT_PROCESSED_PAGES, project_id),
        "last_scraped": await _scalar(conn, LAST_SCRAPED, project_id),
    }
    await _sync_domain_counters(conn, project_id)
    status = await _update_project_status(conn, project_id)
    return {**project, "status": status or project["status"], **stats}


# -- on: one aggregate statement ------------------------------------------------------------

# Pages are aggregated per project before meeting the project columns: grouping the joined
# rows by every project column (the report's form) sorts all pages of the user, which
# spills to disk at PostgreSQL's default work_mem. Same values, one statement.
AGGREGATE = f"""
WITH chosen AS (
    SELECT {PROJECT_COLUMNS} FROM projects WHERE {{where}}
    ORDER BY {PROJECT_ORDER} OFFSET %(skip)s LIMIT %(limit)s
),
domain_stats AS (
    SELECT domains.project_id, count(domains.id) AS domain_count
    FROM chosen JOIN domains ON domains.project_id = chosen.id
    GROUP BY domains.project_id
),
page_stats AS (
    SELECT domains.project_id,
           count(pages.id) AS total_pages,
           count(pages.id) FILTER (WHERE pages.processed AND pages.indexed) AS scraped_pages,
           max(pages.scraped_at) AS last_scraped
    FROM chosen
    JOIN domains ON domains.project_id = chosen.id
    JOIN pages ON pages.domain_id = domains.id
    GROUP BY domains.project_id
)
SELECT chosen.*,
       coalesce(domain_stats.domain_count, 0) AS domain_count,
       coalesce(page_stats.total_pages, 0) AS total_pages,
       coalesce(page_stats.scraped_pages, 0) AS scraped_pages,
       page_stats.last_scraped
FROM chosen
LEFT JOIN domain_stats ON domain_stats.project_id = chosen.id
LEFT JOIN page_stats ON page_stats.project_id = chosen.id
ORDER BY chosen.created_at DESC, chosen.id DESC
"""
AGGREGATE_FOR_USER = AGGREGATE.format(where="user_id = %(user_id)s")
AGGREGATE_FOR_PROJECT = AGGREGATE.format(where="id = %(project_id)s AND user_id = %(user_id)s")


# -- the interface the routes use -----------------------------------------------------------


async def list_with_stats(
    *, conn: Conn, user_id: int, skip: int, limit: int, aggregate: bool
) -> list[Row]:
    """The user's projects, newest first, each with its statistics."""
    if aggregate:
        params = {"user_id": user_id, "skip": skip, "limit": limit}
        return await conn.fetch_all(AGGREGATE_FOR_USER, params)
    projects = await list_projects(conn=conn, user_id=user_id, skip=skip, limit=limit)
    return [await _project_stats_loop(conn, project) for project in projects]


async def project_with_stats(
    *, conn: Conn, project_id: int, user_id: int, aggregate: bool
) -> Row | None:
    """One project with its statistics; None when absent or foreign."""
    if aggregate:
        params = {"project_id": project_id, "user_id": user_id, "skip": 0, "limit": 1}
        return await conn.fetch_one(AGGREGATE_FOR_PROJECT, params)
    project = await get_project(conn=conn, project_id=project_id, user_id=user_id)
    if project is None:
        return None
    return await _project_stats_loop(conn, project)
