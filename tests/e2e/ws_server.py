"""A real WebSocket server in this process on a real port, and a small real ``websockets`` client."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgpack
import websockets
from sanic import Sanic

from entrypoints.container import build_container
from entrypoints.http.app import create_ws_app, install_lifecycle
from entrypoints.http.ws.deflate import StreamProtocol
from entrypoints.settings import load_settings
from tests.e2e.conftest import free_port


@asynccontextmanager
async def ws_server(tmp_path: Path, *overrides: str, port: int | None = None) -> AsyncIterator[tuple[Sanic, str]]:
    """The WebSocket app with the container's lifecycle; yields the app and ``ws://host:port``."""
    base = ["state.url=memory://", f"system.data_dir={tmp_path}", "api.auth.enabled=false"]
    settings = load_settings(env={}, cwd=tmp_path, home=tmp_path, overrides=[*base, *overrides]).settings
    container = build_container(settings, executor="inline")
    app = create_ws_app(container, settings, name=f"ws_{uuid.uuid4().hex[:8]}")
    install_lifecycle(app, container)
    app.config.TOUCHUP = False  # Sanic's touch-up fails on the second app served in one process
    port = port or free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False, protocol=StreamProtocol
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield app, f"ws://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()


class Client:
    """A real ``websockets`` client speaking the protocol (JSON or msgpack)."""

    def __init__(self, conn: websockets.ClientConnection, fmt: str = "json") -> None:
        self.conn = conn
        self.fmt = fmt
        self.hello: dict[str, Any] = {}

    @classmethod
    async def connect(cls, url: str, fmt: str = "json", *, tiny_window: bool = False, **kw: Any) -> Client:
        """``tiny_window``: a 4 KB receive buffer (no kernel autotuning), so a client that stops reading
        fills the server's buffers within a few hundred KB, as a slow one over a real network does."""
        if tiny_window:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            host, port = url.split("//")[1].split("/")[0].split(":")
            sock.connect((host, int(port)))
            kw = {"sock": sock, "max_queue": 4, "max_size": None, "compression": None, **kw}
        conn = await websockets.connect(url + ("?format=msgpack" if fmt == "msgpack" else ""), **kw)
        client = cls(conn, fmt)
        client.hello = await client.recv()
        assert client.hello["type"] == "hello", client.hello
        return client

    async def send(self, payload: Any) -> None:
        if self.fmt == "msgpack":
            await self.conn.send(msgpack.packb(payload))
        else:
            await self.conn.send(json.dumps(payload))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.conn.recv(), timeout)
        if isinstance(raw, bytes):
            decoded: dict[str, Any] = msgpack.unpackb(raw)
            return decoded
        loaded: dict[str, Any] = json.loads(raw)
        return loaded

    async def expect(self, type_: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next message of ``type_`` (data messages by their type), skipping heartbeats."""
        while True:
            message = await self.recv(timeout)
            if message.get("type") == type_:
                return message
            if message.get("type") not in ("ping",):
                raise AssertionError(f"expected {type_}, got {message}")

    async def data(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The next ``n`` data messages (those with a channel and a seq)."""
        out: list[dict[str, Any]] = []
        while len(out) < n:
            message = await self.recv(timeout)
            if "seq" in message and "channel" in message and message.get("type") != "snapshot":
                out.append(message)
        return out

    async def subscribe(self, *channels: str, **extra: Any) -> dict[str, Any]:
        await self.send({"action": "subscribe", "channels": list(channels), **extra})
        return await self.expect("subscribed")

    async def close(self) -> None:
        await self.conn.close()
