"""The WebSocket load's clients against a real websockets server (permessage-deflate on):
what a reader records, how it refuses, how it leaves, and what a stalled client offers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import pytest
import uvloop
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from scenarios.ws_clients import Reader, Stalled
from scenarios.ws_delivery import Publisher

Handler = Callable[[ServerConnection], Awaitable[None]]
Run = Callable[[Awaitable[Any]], Any]


@pytest.fixture(params=[asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run:
    """Each test on asyncio's loop and on uvloop's, which the load generator runs."""
    return request.param  # type: ignore[no-any-return]


def progress(seq: int) -> str:
    return json.dumps({"type": "page_progress", "data": {"seq": seq, "stored": seq}})


async def run_against(
    handler: Handler, client_of: Callable[[str], Reader | Stalled], **serve_kwargs: Any
) -> Reader | Stalled:
    async with serve(handler, "127.0.0.1", 0, **serve_kwargs) as server:
        port = server.sockets[0].getsockname()[1]
        client = client_of(f"ws://127.0.0.1:{port}/api/v1/ws/dashboard/1?token=t")
        client.task = asyncio.create_task(client.hold())
        await asyncio.wait_for(client.ready.wait(), 5)
        if isinstance(client, Reader) and client.opened:
            await asyncio.wait_for(asyncio.shield(client.task), 5)
        else:
            client.task.cancel()
            if isinstance(client, Stalled):
                client.close()
        return client


def test_a_reader_numbers_every_message_fragmented_or_not_and_answers_pings(run: Run) -> None:
    pongs: list[float] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "connected"}))
        await ws.send(progress(0))
        pongs.append(await asyncio.wait_for(await ws.ping(), 2))  # the reader must pong
        await ws.send(iter(chunk for chunk in (progress(1)[:10], progress(1)[10:])))
        await ws.send(json.dumps({"type": "heartbeat"}))  # no number: not a delivery
        await ws.send(progress(2))
        await ws.close()

    reader = run(run_against(handler, lambda url: Reader(1, url)))
    assert isinstance(reader, Reader)
    assert reader.opened and reader.refused is None and reader.dropped
    assert [seq for seq, _ in reader.received] == [0, 1, 2]
    assert len(pongs) == 1


def test_a_reader_refused_by_a_close_or_a_status_says_which(run: Run) -> None:
    async def closes(ws: ServerConnection) -> None:
        await ws.close(1008, "Connection limit exceeded")

    def forbidden(_: ServerConnection, request: Request) -> Response:
        return Response(HTTPStatus.FORBIDDEN, "Forbidden", Headers(), b"")

    async def unreachable(ws: ServerConnection) -> None:
        raise AssertionError("the handshake was refused")

    closed = run(run_against(closes, lambda url: Reader(1, url)))
    assert (closed.opened, closed.refused) == (False, "closed 1008")
    status = run(run_against(unreachable, lambda url: Reader(1, url),
                                     process_request=forbidden))  # fmt: skip
    assert (status.opened, status.refused) == (False, "handshake 403")


def test_a_reader_whose_first_message_is_not_connected_is_refused(run: Run) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send(progress(0))
        await ws.wait_closed()

    reader = run(run_against(handler, lambda url: Reader(1, url)))
    assert (reader.opened, reader.refused) == (False, "first message 'page_progress'")


def test_a_cancelled_reader_leaves_as_a_closed_tab_and_is_not_counted_dropped(run: Run) -> None:
    codes: list[int | None] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "connected"}))
        await ws.wait_closed()
        codes.append(ws.close_code)

    async def scenario() -> Reader:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            reader = Reader(1, f"ws://127.0.0.1:{port}/")
            reader.task = asyncio.create_task(reader.hold())
            await asyncio.wait_for(reader.ready.wait(), 5)
            reader.task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reader.task
            for _ in range(50):
                if codes:
                    break
                await asyncio.sleep(0.05)
            return reader

    reader = run(scenario())
    assert reader.opened and not reader.dropped
    assert codes == [1001]  # going away


def test_a_stalled_client_offers_deflate_as_a_reader_does_and_never_reads(run: Run) -> None:
    offered: list[str | None] = []
    sent = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        offered.append(ws.request.headers.get("Sec-WebSocket-Extensions") if ws.request else None)
        await ws.send(json.dumps({"type": "connected"}))
        sent.set()
        await ws.wait_closed()

    stalled = run(run_against(handler, lambda url: Stalled(1, url)))
    assert stalled.opened and stalled.refused is None
    assert offered and offered[0] is not None and "permessage-deflate" in offered[0]


def test_the_publishers_messages_are_each_users_envelope_to_the_byte() -> None:
    publisher = Publisher("redis://127.0.0.1:1/0", [1, 7, 12345, 10], 4.3)
    built = publisher.envelopes(3, 1796594783.25)
    assert built == [(uid, publisher.envelope(3, uid, 1796594783.25)) for uid in (1, 7, 12345, 10)]
