"""Password hashing (bcrypt) and access tokens (JWT, HS256)."""

from __future__ import annotations

import datetime as dt

import bcrypt
import jwt

JWT_ALGORITHM = "HS256"
# bcrypt ignores bytes past 72; longer passwords are rejected at the API instead.
BCRYPT_MAX_PASSWORD_BYTES = 72


class InvalidTokenError(Exception):
    """The token is malformed, expired, or not signed by us."""


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def verify_password(password: str, hashed: str) -> bool:
    encoded = password.encode()
    if len(encoded) > BCRYPT_MAX_PASSWORD_BYTES:
        return False
    return bcrypt.checkpw(encoded, hashed.encode())


def create_access_token(*, user_id: int, email: str, secret: str, expire_minutes: int) -> str:
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": str(user_id),
        "email": email,
        "iat": now,
        "exp": now + dt.timedelta(minutes=expire_minutes),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> tuple[int, str]:
    """(user id, email) from a valid token."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["sub", "exp"]}
        )
        return int(claims["sub"]), str(claims.get("email", ""))
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise InvalidTokenError(str(error)) from error
