"""Registration, login (OAuth2 password form, username = e-mail) and the current user."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import CurrentUser, SessionDep, SettingsDep
from app.core.security import create_access_token, hash_password, verify_password
from app.models import Token, UserCreate, UserRead
from app.services import users

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", response_model=UserRead, status_code=status.HTTP_201_CREATED)
async def register(body: UserCreate, db: SessionDep) -> UserRead:
    # bcrypt is deliberately slow: keep it off the event loop in every variant.
    hashed = await anyio.to_thread.run_sync(hash_password, body.password)
    async with db.connection() as conn:
        try:
            row = await users.create_user(
                conn=conn, email=body.email, hashed_password=hashed, full_name=body.full_name
            )
        except users.EmailTakenError as error:
            raise HTTPException(
                status.HTTP_409_CONFLICT, "A user with this e-mail address already exists"
            ) from error
    return UserRead.model_validate(row)


@router.post("/login", response_model=Token)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], db: SessionDep, settings: SettingsDep
) -> Token:
    async with db.connection() as conn:
        user = await users.get_user_by_email(conn=conn, email=form.username)
    valid = user is not None and await anyio.to_thread.run_sync(
        verify_password, form.password, user["hashed_password"]
    )
    if not valid or user is None or not user["is_active"]:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Incorrect email or password")
    token = create_access_token(
        user_id=user["id"],
        email=user["email"],
        secret=settings.jwt_secret,
        expire_minutes=settings.jwt_expire_minutes,
    )
    return Token(access_token=token)


@router.get("/me", response_model=UserRead)
async def me(user: CurrentUser, db: SessionDep) -> UserRead:
    async with db.connection() as conn:
        row = await users.get_user(conn=conn, user_id=user.id)
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "User no longer exists")
    return UserRead.model_validate(row)
