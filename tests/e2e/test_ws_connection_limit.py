"""``websocket.max_connections``: a real WebSocket server (in this process, on a real port) and real
``websockets`` clients; the connection beyond the limit is closed with 1013 and the reason."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from entrypoints.container import build_container
from entrypoints.http.app import create_ws_app
from entrypoints.settings import load_settings
from tests.e2e.conftest import free_port


@pytest.fixture
async def ws_url(tmp_path: Path) -> AsyncIterator[str]:
    overrides = ["websocket.max_connections=2", "state.url=memory://", f"system.data_dir={tmp_path}"]
    settings = load_settings(env={}, cwd=tmp_path, home=tmp_path, overrides=overrides).settings
    app = create_ws_app(build_container(settings, executor="inline"), settings, name=f"ws_{uuid.uuid4().hex[:8]}")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"ws://127.0.0.1:{port}/ws/v1/system/events"
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()


async def _hello(url: str) -> websockets.ClientConnection:
    client = await websockets.connect(url)
    assert json.loads(await asyncio.wait_for(client.recv(), 5))["type"] == "hello"
    return client


async def _once_a_place_is_free(url: str, timeout: float = 10.0) -> websockets.ClientConnection:
    """A connection that got its hello: the server frees a place when it notices a close (soon, not at once)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await _hello(url)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1013
            assert asyncio.get_running_loop().time() < deadline, "the closed connection's place was never freed"
            await asyncio.sleep(0.05)


async def test_connections_beyond_the_limit_are_closed_with_1013(ws_url: str) -> None:
    first, second = await _hello(ws_url), await _hello(ws_url)
    async with websockets.connect(ws_url) as third:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(third.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    assert "2 connections open; try again later" in closed.value.rcvd.reason
    await first.close()
    fourth = await _once_a_place_is_free(ws_url)
    for client in (second, fourth):
        await client.close()
