"""Request and response schemas of the API (pydantic), shared by routes, cache and search."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from app.core.security import BCRYPT_MAX_PASSWORD_BYTES

MAX_PER_PAGE = 100
# A host name as CDX accepts it: labels of letters, digits and hyphens, at least one dot.
DOMAIN_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class ProjectStatus(StrEnum):
    no_index = "no_index"
    indexing = "indexing"
    indexed = "indexed"
    error = "error"
    paused = "paused"


class DomainStatus(StrEnum):
    active = "active"
    paused = "paused"
    completed = "completed"
    error = "error"


class MatchType(StrEnum):
    exact = "exact"
    prefix = "prefix"
    domain = "domain"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UserCreate(Strict):
    email: EmailStr
    password: Annotated[str, Field(min_length=8, max_length=72)]
    full_name: Annotated[str | None, Field(max_length=200)] = None

    @field_validator("password")
    @classmethod
    def _bcrypt_limit(cls, value: str) -> str:
        # bcrypt reads at most 72 bytes, and bcrypt 5 refuses longer input outright.
        if len(value.encode()) > BCRYPT_MAX_PASSWORD_BYTES:
            raise ValueError(f"password must be at most {BCRYPT_MAX_PASSWORD_BYTES} bytes in UTF-8")
        return value


class UserRead(BaseModel):
    id: int
    email: str
    full_name: str | None
    is_active: bool
    is_verified: bool
    created_at: dt.datetime


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class ProjectCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str | None, Field(max_length=500)] = None
    process_documents: bool = True


# Partial updates: a field left out keeps its value. Columns that cannot be empty are typed
# without None, so an explicit null is a 422 rather than a NOT NULL violation; nullable
# columns accept null to clear them.
class ProjectUpdate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)] = None  # type: ignore[assignment]
    description: Annotated[str | None, Field(max_length=500)] = None
    process_documents: bool = None  # type: ignore[assignment]
    status: ProjectStatus = None  # type: ignore[assignment]


class ProjectRead(BaseModel):
    id: int
    user_id: int
    name: str
    description: str | None
    index_name: str | None
    process_documents: bool
    status: ProjectStatus
    created_at: dt.datetime
    updated_at: dt.datetime


class ProjectStats(BaseModel):
    domain_count: int
    total_pages: int
    scraped_pages: int
    last_scraped: dt.datetime | None


class ProjectReadWithStats(ProjectRead, ProjectStats):
    pass


def _check_dates(start: dt.date | None, end: dt.date | None) -> None:
    if start is not None and end is not None and start > end:
        raise ValueError("from_date must not be after to_date")


class DomainCreate(Strict):
    domain_name: Annotated[str, Field(min_length=3, max_length=253)]
    match_type: MatchType = MatchType.domain
    url_path: Annotated[str | None, Field(max_length=2000)] = None
    max_pages: Annotated[int | None, Field(ge=1, le=1_000_000)] = None
    active: bool = True
    from_date: dt.date | None = None
    to_date: dt.date | None = None

    @field_validator("domain_name")
    @classmethod
    def _host_name(cls, value: str) -> str:
        value = value.lower()
        if not DOMAIN_NAME.match(value):
            raise ValueError("domain_name must be a host name such as example.com")
        return value

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _check_dates(self.from_date, self.to_date)
        return self


class DomainUpdate(Strict):
    match_type: MatchType = None  # type: ignore[assignment]
    url_path: Annotated[str | None, Field(max_length=2000)] = None
    max_pages: Annotated[int | None, Field(ge=1, le=1_000_000)] = None
    active: bool = None  # type: ignore[assignment]
    status: DomainStatus = None  # type: ignore[assignment]
    from_date: dt.date | None = None
    to_date: dt.date | None = None

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _check_dates(self.from_date, self.to_date)
        return self


class DomainRead(BaseModel):
    id: int
    project_id: int
    domain_name: str
    match_type: str
    url_path: str | None
    max_pages: int | None
    active: bool
    status: str
    from_date: dt.date | None
    to_date: dt.date | None
    total_pages: int
    scraped_pages: int
    failed_pages: int
    last_scraped: dt.datetime | None
    created_at: dt.datetime


class PageRead(BaseModel):
    id: int
    domain_id: int
    original_url: str
    wayback_url: str | None
    title: str | None
    unix_timestamp: str
    mime_type: str | None
    status_code: int | None
    meta_description: str | None
    language: str | None
    word_count: int | None
    capture_date: dt.datetime | None
    content_hash: str | None
    processed: bool
    indexed: bool
    scraped_at: dt.datetime | None


class PageList(BaseModel):
    items: list[PageRead]
    total: int
    page: int
    per_page: int


class ScrapeSessionRead(BaseModel):
    id: int
    project_id: int
    status: str
    total_urls: int
    completed_urls: int
    failed_urls: int
    started_at: dt.datetime | None
    created_at: dt.datetime
    enqueued_domains: list[int]


SortBy = Literal["relevance", "date_desc", "date_asc", "words_desc", "words_asc"]


class SearchQuery(BaseModel):
    """A search over the pages of the projects in `project_ids` (already access-checked)."""

    q: str | None = None
    project_ids: list[int]
    domain: int | None = None
    language: str | None = None
    mime_type: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort_by: SortBy = "relevance"
    page: int = 1
    per_page: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


class SearchHit(BaseModel):
    page_id: int
    project_id: int
    domain_id: int
    title: str | None
    original_url: str
    wayback_url: str | None
    unix_timestamp: str
    capture_date: dt.datetime | None
    mime_type: str | None
    language: str | None
    word_count: int | None
    status_code: int | None


class SearchResponse(BaseModel):
    query: str | None
    total: int
    page: int
    per_page: int
    hits: list[SearchHit]
    # Like Meilisearch's facetDistribution: facet -> value (as a string) -> count.
    facets: dict[str, dict[str, int]]


class WsMessage(BaseModel):
    type: str
    data: dict[str, Any]
    timestamp: dt.datetime
