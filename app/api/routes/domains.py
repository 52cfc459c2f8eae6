"""Domains under a project: list, create, read, update, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status

from app.api.deps import MAX_ID, ContextDep, CurrentUser, SessionDep
from app.api.routes.projects import ProjectId, _invalidate, not_found
from app.db.pool import Conn
from app.models import DomainCreate, DomainRead, DomainUpdate
from app.services import domains, projects

router = APIRouter(prefix="/projects/{project_id}/domains", tags=["domains"])

DomainId = Annotated[int, Path(ge=1, le=MAX_ID)]
DOMAIN_NOT_FOUND = "Domain not found"


async def _own_project(conn: Conn, project_id: int, user_id: int) -> None:
    if await projects.get_project(conn=conn, project_id=project_id, user_id=user_id) is None:
        raise not_found()


@router.get("", response_model=list[DomainRead])
async def list_domains(
    project_id: ProjectId, user: CurrentUser, db: SessionDep
) -> list[DomainRead]:
    async with db.connection() as conn:
        await _own_project(conn, project_id, user.id)
        rows = await domains.list_domains(conn=conn, project_id=project_id)
    return [DomainRead.model_validate(row) for row in rows]


@router.post("", response_model=DomainRead, status_code=status.HTTP_201_CREATED)
async def create_domain(
    project_id: ProjectId, body: DomainCreate, user: CurrentUser, db: SessionDep,
    context: ContextDep,
) -> DomainRead:  # fmt: skip
    async with db.connection() as conn:
        await _own_project(conn, project_id, user.id)
        try:
            row = await domains.create_domain(conn=conn, project_id=project_id, data=body)
        except domains.DomainExistsError as error:
            raise HTTPException(
                status.HTTP_409_CONFLICT, "This project already has that domain"
            ) from error
    await _invalidate(context, user.id)
    return DomainRead.model_validate(row)


@router.get("/{domain_id}", response_model=DomainRead)
async def get_domain(
    project_id: ProjectId, domain_id: DomainId, user: CurrentUser, db: SessionDep
) -> DomainRead:
    async with db.connection() as conn:
        await _own_project(conn, project_id, user.id)
        row = await domains.get_domain(conn=conn, project_id=project_id, domain_id=domain_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, DOMAIN_NOT_FOUND)
    return DomainRead.model_validate(row)


@router.put("/{domain_id}", response_model=DomainRead)
async def update_domain(
    project_id: ProjectId, domain_id: DomainId, body: DomainUpdate, user: CurrentUser,
    db: SessionDep, context: ContextDep,
) -> DomainRead:  # fmt: skip
    async with db.connection() as conn:
        await _own_project(conn, project_id, user.id)
        row = await domains.update_domain(
            conn=conn, project_id=project_id, domain_id=domain_id, data=body
        )
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, DOMAIN_NOT_FOUND)
    await _invalidate(context, user.id)
    return DomainRead.model_validate(row)


@router.delete("/{domain_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_domain(
    project_id: ProjectId, domain_id: DomainId, user: CurrentUser, db: SessionDep,
    context: ContextDep,
) -> Response:  # fmt: skip
    async with db.connection() as conn:
        await _own_project(conn, project_id, user.id)
        deleted = await domains.delete_domain(conn=conn, project_id=project_id, domain_id=domain_id)
    if not deleted:
        raise HTTPException(status.HTTP_404_NOT_FOUND, DOMAIN_NOT_FOUND)
    await _invalidate(context, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
