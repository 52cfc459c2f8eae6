"""Starting a scrape: a session, the project's status, one Celery task per active domain.

The worker (app/worker, the pipeline issue) consumes `app.worker.tasks.scrape_domain`;
the API only needs the broker, so it sends the task by name without importing the worker.
"""

from __future__ import annotations

from functools import lru_cache

import celery

from app.db.pool import Conn, Row
from app.models import ProjectStatus

SCRAPE_TASK = "app.worker.tasks.scrape_domain"
SESSION_COLUMNS = (
    "id, project_id, status, total_urls, completed_urls, failed_urls, started_at, created_at"
)


async def create_session(*, conn: Conn, project_id: int) -> tuple[Row, list[int]]:
    """A pending session and the ids of the project's active domains; project -> indexing."""
    async with conn.transaction():
        session = await conn.fetch_one(
            f"INSERT INTO scrape_sessions (project_id, status, started_at)"
            f" VALUES (%s, 'pending', now()) RETURNING {SESSION_COLUMNS}",
            (project_id,),
        )
        domains = await conn.fetch_all(
            "SELECT id FROM domains WHERE project_id = %s AND active ORDER BY id", (project_id,)
        )
        await conn.execute(
            "UPDATE projects SET status = %s, updated_at = now() WHERE id = %s",
            (ProjectStatus.indexing.value, project_id),
        )
    assert session is not None
    return session, [row["id"] for row in domains]


async def get_session(*, conn: Conn, session_id: int, user_id: int) -> Row | None:
    return await conn.fetch_one(
        "SELECT s.id, s.project_id FROM scrape_sessions s JOIN projects p ON p.id = s.project_id"
        " WHERE s.id = %s AND p.user_id = %s",
        (session_id, user_id),
    )


@lru_cache(maxsize=4)
def _producer(broker_url: str) -> celery.Celery:
    return celery.Celery("chrono-api", broker=broker_url)


def enqueue_scrape(
    *, broker_url: str, queue: str, session_id: int, domain_ids: list[int]
) -> list[str]:
    """Send one task per domain; returns the task ids. Blocking (kombu), run in a thread."""
    producer = _producer(broker_url)
    return [
        producer.send_task(
            SCRAPE_TASK,
            kwargs={"domain_id": domain_id, "scrape_session_id": session_id},
            queue=queue,
        ).id
        for domain_id in domain_ids
    ]
