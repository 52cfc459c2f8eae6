"""WebSocket progress: auth, delivery from Redis pub/sub, per-user limits of ws_manager."""

from __future__ import annotations

import contextlib

import pytest
from starlette.websockets import WebSocketDisconnect

from app.ws.relay import publish_progress
from tests.app.conftest import wait_for_relay


def closed_with(ws) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    return closed.value.code


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/ws/dashboard/{user}?token=garbage",
        "/api/v1/ws/dashboard/{user}",
        "/api/v1/ws/dashboard/{other}?token={token}",
        "/api/v1/ws/scrape/424242?token={token}",
    ],
)
def test_bad_token_or_foreign_target_closes_1008(ws_env, path):
    build, _ = ws_env
    client, _, token, user_id = build()
    url = path.format(user=user_id, other=user_id + 1, token=token)
    with client.websocket_connect(url) as ws:
        assert closed_with(ws) == 1008


@pytest.mark.parametrize("manager_on", [False, True])
def test_progress_published_on_redis_reaches_the_client(ws_env, manager_on):
    build, broker = ws_env
    client, headers, token, user_id = build(ws_manager=manager_on)
    project = client.post("/api/v1/projects/", json={"name": "p"}, headers=headers).json()
    session = client.post(f"/api/v1/projects/{project['id']}/scrape", headers=headers).json()
    url = f"/api/v1/ws/scrape/{session['id']}?token={token}"
    with (
        client.websocket_connect(url) as ws,
        client.websocket_connect(f"/api/v1/ws/dashboard/{user_id}?token={token}") as dashboard,
    ):
        assert ws.receive_json()["type"] == "connected"
        assert dashboard.receive_json()["type"] == "connected"
        wait_for_relay(broker)
        publish_progress(
            broker, scrape_session_id=session["id"], user_id=user_id,
            kind="progress_update", data={"pages_done": 7},
        )  # fmt: skip
        message = ws.receive_json()
        assert message["type"] == "progress_update"
        assert message["data"] == {"scrape_session_id": session["id"], "pages_done": 7}
        assert {"timestamp"} <= message.keys()
        assert dashboard.receive_json()["data"]["pages_done"] == 7


@pytest.mark.parametrize(("manager_on", "sixth_code"), [(True, 1008), (False, None)])
def test_sixth_connection_of_a_user(ws_env, manager_on, sixth_code):
    build, _ = ws_env
    client, _, token, user_id = build(ws_manager=manager_on)
    url = f"/api/v1/ws/dashboard/{user_id}?token={token}"
    with contextlib.ExitStack() as stack:
        for _ in range(5):
            ws = stack.enter_context(client.websocket_connect(url))
            assert ws.receive_json()["type"] == "connected"
        sixth = stack.enter_context(client.websocket_connect(url))
        if sixth_code is None:
            assert sixth.receive_json()["type"] == "connected"  # the original never says no
        else:
            assert closed_with(sixth) == sixth_code
    # Closed connections free their slots.
    with client.websocket_connect(url) as again:
        assert again.receive_json()["type"] == "connected"
