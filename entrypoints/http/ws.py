"""The WebSocket server: ``/ws/v1/system/events`` sends heartbeats (channels come with the API issue)."""

from __future__ import annotations

import asyncio
import json
import time

from sanic import Blueprint, Request
from sanic.server.websockets.impl import WebsocketImplProtocol

bp = Blueprint("ws", url_prefix="/ws/v1")


@bp.websocket("/system/events")
async def system_events(request: Request, ws: WebsocketImplProtocol) -> None:
    interval = request.app.ctx.heartbeat_interval
    await ws.send(json.dumps({"type": "hello", "server_time": time.time()}))
    while True:
        await asyncio.sleep(interval)
        await ws.send(json.dumps({"type": "ping", "timestamp": time.time()}))
