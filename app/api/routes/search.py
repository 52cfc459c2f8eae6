"""Search across the user's pages: full text, filters, facets, pagination."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter

from app.api.deps import MAX_ID, CacheDep, CurrentUser, SearchDep, SessionDep
from app.api.responses import cached_json, render
from app.api.routes.projects import MAX_PAGE_NUMBER, not_found
from app.models import MAX_PER_PAGE, SearchQuery, SearchResponse, SortBy
from app.services import projects

router = APIRouter(prefix="/search", tags=["search"])

RESPONSE_ADAPTER = TypeAdapter(SearchResponse)
MAX_QUERY_CHARS = 500


@router.get("/pages", response_model=SearchResponse)
async def search_pages(
    request: Request,
    user: CurrentUser,
    db: SessionDep,
    cache: CacheDep,
    backend: SearchDep,
    q: Annotated[str | None, Query(max_length=MAX_QUERY_CHARS)] = None,
    project: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    domain: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    language: Annotated[str | None, Query(max_length=35)] = None,
    mime_type: Annotated[str | None, Query(max_length=255)] = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    sort_by: SortBy = "relevance",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE_NUMBER)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> Response:
    params = {
        "q": q, "project": project, "domain": domain, "language": language,
        "mime_type": mime_type, "date_from": date_from, "date_to": date_to,
        "sort_by": sort_by, "page": page, "per_page": per_page,
    }  # fmt: skip

    async def compute() -> bytes:
        async with db.connection() as conn:
            if project is not None:
                if (
                    await projects.get_project(conn=conn, project_id=project, user_id=user.id)
                    is None
                ):
                    raise not_found()
                project_ids = [project]
            else:
                project_ids = await projects.user_project_ids(conn=conn, user_id=user.id)
            query = SearchQuery(
                project_ids=project_ids,
                **{key: value for key, value in params.items() if key != "project"},  # type: ignore[arg-type]
            )
            result = await backend.search(conn=conn, query=query)
        return render(RESPONSE_ADAPTER, result)

    return await cached_json(
        request, cache, user_id=user.id, name="search", params=params, compute=compute
    )
