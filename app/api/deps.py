"""Dependencies of the routes, as Annotated aliases (the FastAPI full-stack template's way)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from starlette.requests import HTTPConnection

from app.cache import ResponseCache
from app.core.config import Settings
from app.core.context import AppContext
from app.core.security import InvalidTokenError, decode_access_token
from app.db.pool import Database
from app.search import SearchBackend

# The template's absolute ids fit PostgreSQL bigint; larger ones are a 422, not a 500.
MAX_ID = 2**63 - 1

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login")


@dataclass(frozen=True)
class TokenUser:
    """The caller, from the token alone: no database round trip per request."""

    id: int
    email: str


def get_context(conn: HTTPConnection) -> AppContext:
    context: AppContext = conn.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_app_settings(context: ContextDep) -> Settings:
    return context.settings


def get_database(context: ContextDep) -> Database:
    return context.db


def get_cache(context: ContextDep) -> ResponseCache | None:
    return context.cache


def get_search(context: ContextDep) -> SearchBackend:
    return context.search


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
# The pool; routes hold a connection only around database work (see app/db/pool.py).
SessionDep = Annotated[Database, Depends(get_database)]
CacheDep = Annotated[ResponseCache | None, Depends(get_cache)]
SearchDep = Annotated[SearchBackend, Depends(get_search)]


def user_from_token(token: str, settings: Settings) -> TokenUser:
    user_id, email = decode_access_token(token, secret=settings.jwt_secret)
    return TokenUser(id=user_id, email=email)


def get_current_user(
    token: Annotated[str, Depends(oauth2_scheme)], settings: SettingsDep
) -> TokenUser:
    try:
        return user_from_token(token, settings)
    except InvalidTokenError as error:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Could not validate credentials",
            headers={"WWW-Authenticate": "Bearer"},
        ) from error


CurrentUser = Annotated[TokenUser, Depends(get_current_user)]
