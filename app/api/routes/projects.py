"""Projects: list with statistics, CRUD, statistics, pages, and starting a scrape."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from pydantic import TypeAdapter

from app.api.deps import MAX_ID, CacheDep, ContextDep, CurrentUser, SessionDep, SettingsDep
from app.api.responses import JSON, cached_json, render
from app.cache import invalidate_user
from app.models import (
    MAX_PER_PAGE,
    PageList,
    ProjectCreate,
    ProjectRead,
    ProjectReadWithStats,
    ProjectStats,
    ProjectUpdate,
    ScrapeSessionRead,
)
from app.services import pages, projects, scrape, stats

router = APIRouter(prefix="/projects", tags=["projects"])

ProjectId = Annotated[int, Path(ge=1, le=MAX_ID)]
NOT_FOUND = "Project not found"
LIST_ADAPTER = TypeAdapter(list[ProjectReadWithStats])
DETAIL_ADAPTER = TypeAdapter(ProjectReadWithStats)
STATS_ADAPTER = TypeAdapter(ProjectStats)
PAGES_ADAPTER = TypeAdapter(PageList)
MAX_PAGE_NUMBER = 1_000_000


def not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)


async def _invalidate(context: ContextDep, user_id: int) -> None:
    if context.cache is not None:
        await invalidate_user(context.redis, user_id)


@router.get("/", response_model=list[ProjectReadWithStats])
async def list_projects(
    request: Request,
    user: CurrentUser,
    db: SessionDep,
    cache: CacheDep,
    settings: SettingsDep,
    skip: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """The user's projects, newest first, each with domain and page statistics."""
    if settings.canary_delay_ms:
        await asyncio.sleep(settings.canary_delay_ms / 1000)

    async def compute() -> bytes:
        async with db.connection() as conn:
            rows = await stats.list_with_stats(
                conn=conn, user_id=user.id, skip=skip, limit=limit,
                aggregate=settings.stats_aggregate,
            )  # fmt: skip
        return render(LIST_ADAPTER, rows)

    return await cached_json(
        request, cache, user_id=user.id, name="projects",
        params={"skip": skip, "limit": limit}, compute=compute,
    )  # fmt: skip


@router.post("/", response_model=ProjectRead, status_code=status.HTTP_201_CREATED)
async def create_project(
    body: ProjectCreate, user: CurrentUser, db: SessionDep, context: ContextDep
) -> ProjectRead:
    async with db.connection() as conn:
        try:
            row = await projects.create_project(conn=conn, user_id=user.id, data=body)
        except projects.OwnerMissingError as error:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "User no longer exists") from error
    await _invalidate(context, user.id)
    return ProjectRead.model_validate(row)


@router.get("/{project_id}", response_model=ProjectReadWithStats)
async def get_project(
    project_id: ProjectId, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> Response:
    async with db.connection() as conn:
        row = await stats.project_with_stats(
            conn=conn, project_id=project_id, user_id=user.id,
            aggregate=settings.stats_aggregate,
        )  # fmt: skip
    if row is None:
        raise not_found()
    return Response(render(DETAIL_ADAPTER, row), media_type=JSON)


@router.put("/{project_id}", response_model=ProjectRead)
async def update_project(
    project_id: ProjectId, body: ProjectUpdate, user: CurrentUser, db: SessionDep,
    context: ContextDep,
) -> ProjectRead:  # fmt: skip
    async with db.connection() as conn:
        row = await projects.update_project(
            conn=conn, project_id=project_id, user_id=user.id, data=body
        )
    if row is None:
        raise not_found()
    await _invalidate(context, user.id)
    return ProjectRead.model_validate(row)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_project(
    project_id: ProjectId, user: CurrentUser, db: SessionDep, context: ContextDep
) -> Response:
    async with db.connection() as conn:
        deleted = await projects.delete_project(conn=conn, project_id=project_id, user_id=user.id)
    if not deleted:
        raise not_found()
    await _invalidate(context, user.id)
    await anyio.to_thread.run_sync(context.search.delete_project, project_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{project_id}/stats", response_model=ProjectStats)
async def project_stats(
    request: Request, project_id: ProjectId, user: CurrentUser, db: SessionDep,
    cache: CacheDep, settings: SettingsDep,
) -> Response:  # fmt: skip
    async def compute() -> bytes:
        async with db.connection() as conn:
            row = await stats.project_with_stats(
                conn=conn, project_id=project_id, user_id=user.id,
                aggregate=settings.stats_aggregate,
            )  # fmt: skip
        if row is None:
            raise not_found()
        return render(STATS_ADAPTER, row)

    return await cached_json(
        request, cache, user_id=user.id, name="stats",
        params={"project_id": project_id}, compute=compute,
    )  # fmt: skip


@router.get("/{project_id}/pages", response_model=PageList)
async def project_pages(
    project_id: ProjectId,
    user: CurrentUser,
    db: SessionDep,
    domain_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE_NUMBER)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> Response:
    async with db.connection() as conn:
        if await projects.get_project(conn=conn, project_id=project_id, user_id=user.id) is None:
            raise not_found()
        rows, total = await pages.list_pages(
            conn=conn, project_id=project_id, domain_id=domain_id,
            offset=(page - 1) * per_page, limit=per_page,
        )  # fmt: skip
    body: dict[str, Any] = {"items": rows, "total": total, "page": page, "per_page": per_page}
    return Response(render(PAGES_ADAPTER, body), media_type=JSON)


@router.post(
    "/{project_id}/scrape", response_model=ScrapeSessionRead, status_code=status.HTTP_202_ACCEPTED
)
async def start_scrape(
    project_id: ProjectId, user: CurrentUser, db: SessionDep, context: ContextDep
) -> ScrapeSessionRead:
    """Create a scrape session, mark the project indexing, enqueue one task per domain."""
    async with db.connection() as conn:
        if await projects.get_project(conn=conn, project_id=project_id, user_id=user.id) is None:
            raise not_found()
        session, domain_ids = await scrape.create_session(conn=conn, project_id=project_id)
    await _invalidate(context, user.id)
    settings = context.settings
    await anyio.to_thread.run_sync(
        lambda: scrape.enqueue_scrape(
            broker_url=settings.redis_broker_url, queue=settings.scrape_queue,
            session_id=session["id"], domain_ids=domain_ids,
        )
    )  # fmt: skip
    return ScrapeSessionRead.model_validate({**session, "enqueued_domains": domain_ids})
