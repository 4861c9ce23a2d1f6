"""The WebSocket server: ``/ws/v1/system/events`` sends heartbeats (channels come with the API issue).

At most ``websocket.max_connections`` clients are served at once; one more is accepted and closed at
once with code 1013 (try again later) and a reason naming the limit, so it can retry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from sanic import Blueprint, Request, Sanic
from sanic.server.websockets.impl import WebsocketImplProtocol

bp = Blueprint("ws", url_prefix="/ws/v1")
log = logging.getLogger("gpt_trader.websocket")

#: RFC 6455 "Try Again Later": the server is at its connection limit.
TRY_AGAIN_LATER = 1013


class ConnectionLimit:
    """Counts the open connections of one server (one event loop: no lock needed)."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.open = 0

    def enter(self) -> bool:
        """Take a place; False when all ``maximum`` are taken."""
        if self.open >= self.maximum:
            return False
        self.open += 1
        return True

    def leave(self) -> None:
        self.open -= 1


@bp.before_server_start
async def limit_connections(app: Sanic[Any, Any]) -> None:
    app.ctx.ws_connections = ConnectionLimit(app.ctx.container.settings().websocket.max_connections)


@bp.websocket("/system/events")
async def system_events(request: Request, ws: WebsocketImplProtocol) -> None:
    connections: ConnectionLimit = request.app.ctx.ws_connections
    if not connections.enter():
        log.warning("websocket refused: %d connections open (websocket.max_connections)", connections.open)
        await ws.close(TRY_AGAIN_LATER, f"server busy: {connections.maximum} connections open; try again later")
        return
    try:
        interval = request.app.ctx.heartbeat_interval
        await ws.send(json.dumps({"type": "hello", "server_time": time.time()}))
        while True:
            await asyncio.sleep(interval)
            await ws.send(json.dumps({"type": "ping", "timestamp": time.time()}))
    finally:
        connections.leave()
