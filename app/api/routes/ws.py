"""WebSocket progress: a user's dashboard and one scrape session, fed from Redis pub/sub.

Auth is the `token` query parameter (browsers cannot set headers on a WebSocket). A bad
token, another user's id or session is answered by accepting and closing with 1008, so
the client sees the code instead of a bare HTTP 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, WebSocket, WebSocketDisconnect

from app.api.deps import MAX_ID, ContextDep, TokenUser, user_from_token
from app.core.security import InvalidTokenError
from app.services import scrape
from app.ws.manager import POLICY_VIOLATION
from app.ws.relay import envelope, progress_channel, user_channel

router = APIRouter(prefix="/ws", tags=["websocket"])


async def _reject(ws: WebSocket, reason: str) -> None:
    await ws.accept()
    await ws.close(code=POLICY_VIOLATION, reason=reason)


def _authenticate(token: str | None, context: ContextDep) -> TokenUser | None:
    if not token:
        return None
    try:
        return user_from_token(token, context.settings)
    except InvalidTokenError:
        return None


async def _serve(ws: WebSocket, context: ContextDep, user: TokenUser, channel: str) -> None:
    client = await context.ws.connect(ws, user_id=user.id, channel=channel)
    if client is None:
        return
    try:
        await ws.send_json(envelope("connected", {"channel": channel}))
        while True:
            text = await ws.receive_text()
            if text.strip().lower() in {"ping", '{"type":"ping"}', '{"type": "ping"}'}:
                await context.ws.reply(client, envelope("pong", {}))
    except WebSocketDisconnect:
        pass
    finally:
        await context.ws.disconnect(client)


@router.websocket("/dashboard/{user_id}")
async def dashboard(
    ws: WebSocket,
    context: ContextDep,
    user_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    token: Annotated[str | None, Query()] = None,
) -> None:
    user = _authenticate(token, context)
    if user is None or user.id != user_id:
        await _reject(ws, "invalid token")
        return
    await _serve(ws, context, user, user_channel(user_id))


@router.websocket("/scrape/{scrape_session_id}")
async def scrape_progress(
    ws: WebSocket,
    context: ContextDep,
    scrape_session_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    token: Annotated[str | None, Query()] = None,
) -> None:
    user = _authenticate(token, context)
    if user is None:
        await _reject(ws, "invalid token")
        return
    async with context.db.connection() as conn:
        owned = await scrape.get_session(conn=conn, session_id=scrape_session_id, user_id=user.id)
    if owned is None:
        await _reject(ws, "unknown scrape session")
        return
    await _serve(ws, context, user, progress_channel(scrape_session_id))
