"""The WebSocket streaming server: ``install_ws(app, settings)`` mounts it on a Sanic app (the
WebSocket server on ``websocket.port`` and the HTTP API on ``api.port`` both call it).

Paths (the plan's): ``/ws/v1`` (multiplexed: subscribe to any mix of channels),
``/ws/v1/market/stream?symbols=AAPL,MSFT``, ``/ws/v1/portfolio/updates``, ``/ws/v1/trades/live``,
``/ws/v1/system/events``, ``/ws/v1/custom/<name>``; ``?format=msgpack`` for binary msgpack frames.
The protocol is in ``session.py``, channels in ``gpt_trader_core.services.channels``.

Close codes: 1008 authentication missing/refused, rate abuse, or a client too slow for an ordered
channel; 1009 a message above ``websocket.max_message_size``; 1001 the server is going away (resume
with ``last_seq`` on the next start); 1011 an unexpected server error; 1013 ``websocket.max_connections``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sanic import Request, Sanic
from sanic.exceptions import WebsocketClosed
from sanic.response import HTTPResponse
from sanic.response import json as json_response
from sanic.server.websockets.impl import WebsocketImplProtocol
from websockets.exceptions import ConnectionClosed

from entrypoints.http.ws.client import POLICY, Client
from entrypoints.http.ws.frames import FORMATS, ProtocolError, decode
from entrypoints.http.ws.gate import Authenticator, AuthFailedError, Gate
from entrypoints.http.ws.session import Broadcaster, Session
from gpt_trader_core import __version__
from gpt_trader_core.services.streams import StreamHub

__all__ = ["install_ws"]

log = logging.getLogger("gpt_trader.websocket")

#: RFC 6455 "Try Again Later": the server is at its connection limit.
TRY_AGAIN_LATER = 1013
GOING_AWAY = 1001
INTERNAL_ERROR = 1011
STATE_FILE = "streams.json"
#: Kernel send buffer per connection (Linux doubles it): bandwidth enough for streams, memory bounded.
KERNEL_SEND_BUFFER = 256 * 1024


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


class WsState:
    """What the connections of one app share."""

    def __init__(self, hub: StreamHub, settings: Any, gate: Gate) -> None:
        ws = settings.websocket
        self.hub = hub
        self.settings = ws
        self.gate = gate
        self.connections = ConnectionLimit(ws.max_connections)
        self.broadcaster = Broadcaster(hub)
        self.clients: set[Client] = set()
        self.watch: asyncio.Task[None] | None = None
        self.state_file = Path(settings.system.data_dir).expanduser() / STATE_FILE


def install_ws(app: Sanic, settings: Any) -> None:
    """Mount the streaming paths on ``app``. With ``api.auth.enabled`` connections authenticate
    through the container's auth use case (``services.auth``); without it, none can."""
    conf = settings.websocket
    app.config.WEBSOCKET_MAX_SIZE = conf.max_message_size
    app.config.WEBSOCKET_PING_INTERVAL = conf.heartbeat_interval
    app.ctx.heartbeat_interval = conf.heartbeat_interval

    @app.before_server_start
    async def start_streams(app: Sanic) -> None:
        services = app.ctx.container.services
        hub: StreamHub = services.streams()
        checker: Authenticator | None = None
        if settings.api.auth.enabled and "auth" in services.providers:
            checker = await services.auth()  # the auth use case (Authentication) of this container
        gate = Gate(enabled=settings.api.auth.enabled, authenticator=checker)
        app.ctx.ws = WsState(hub, settings, gate)
        if not hub.running:
            if settings.api.auth.enabled:  # non-admins see only their own sessions' and executions' messages
                hub.restrict_to_owners(await app.ctx.container.adapters.state_store())
            if not hub.shared:  # a shared log (Redis) keeps the numbering itself
                hub.restore(_load(app.ctx.ws.state_file))
            await hub.start()
        if hub.shared:
            app.ctx.ws.watch = asyncio.create_task(_watch_bus(app.ctx.ws), name="ws-bus-watch")

    @app.before_server_stop
    async def going_away(app: Sanic) -> None:
        state: WsState = app.ctx.ws
        if state.watch is not None:
            state.watch.cancel()
        for client in list(state.clients):
            client.close_soon(GOING_AWAY, "server going away: reconnect and resume with last_seq")
        if state.hub.running:
            await state.hub.stop()
            saved = state.hub.export()
            if saved and not state.hub.shared:
                _save(state.state_file, saved)

    @app.on_request
    async def check_handshake(request: Request) -> HTTPResponse | None:
        if request.route is None or not getattr(request.route.ctx, "stream", False):
            return None
        origin = request.headers.get("origin")
        if origin and origin not in conf.allowed_origins and urlsplit(origin).netloc != request.host:
            log.warning("websocket refused: origin %s not in websocket.allowed_origins", origin)
            return json_response({"error": f"origin {origin} is not allowed (websocket.allowed_origins)"}, 403)
        if request.args.get("format", "json") not in FORMATS:
            return json_response({"error": "format must be json or msgpack"}, 400)
        return None

    async def multiplexed(request: Request, ws: WebsocketImplProtocol) -> None:
        await _serve(request, ws, [])

    async def market(request: Request, ws: WebsocketImplProtocol) -> None:
        symbols = [s for s in request.args.get("symbols", "").split(",") if s.strip()]
        await _serve(request, ws, [f"market:{s.strip()}" for s in symbols])

    async def portfolio(request: Request, ws: WebsocketImplProtocol) -> None:
        await _serve(request, ws, ["portfolio:updates"])

    async def trades(request: Request, ws: WebsocketImplProtocol) -> None:
        await _serve(request, ws, ["trades:live"])

    async def system(request: Request, ws: WebsocketImplProtocol) -> None:
        await _serve(request, ws, ["system:events"])

    async def custom(request: Request, ws: WebsocketImplProtocol, channel: str) -> None:
        await _serve(request, ws, [f"custom:{channel}"])

    # Role "public" for the HTTP layer: the stream authenticates itself (handshake or first messages).
    for uri, handler in (
        ("/ws/v1", multiplexed),
        ("/ws/v1/market/stream", market),
        ("/ws/v1/portfolio/updates", portfolio),
        ("/ws/v1/trades/live", trades),
        ("/ws/v1/system/events", system),
        ("/ws/v1/custom/<channel:str>", custom),
    ):
        app.add_websocket_route(handler, uri, name=f"ws_{handler.__name__}", ctx_role="public", ctx_stream=True)


async def _serve(request: Request, ws: WebsocketImplProtocol, initial: list[str]) -> None:
    state: WsState = request.app.ctx.ws
    if not state.connections.enter():
        log.warning("websocket refused: %d connections open (websocket.max_connections)", state.connections.open)
        await ws.close(TRY_AGAIN_LATER, f"server busy: {state.connections.maximum} connections open; try again later")
        return
    settings = state.settings
    _bound_kernel_buffer(request)
    client = Client(ws, request.args.get("format", "json"), send_queue=settings.send_queue, rate=settings.rate_limit)
    session = Session(client, state.gate, state.broadcaster, max_subscriptions=settings.max_subscriptions)
    heartbeat: asyncio.Task[None] | None = None
    state.clients.add(client)
    try:
        try:
            client.principal = await state.gate.from_handshake(request)
        except AuthFailedError as refused:
            await ws.close(POLICY, f"authentication refused: {refused}")
            return
        client.start()
        client.control(
            {
                "type": "hello",
                "server": "gpt-trader",
                "version": __version__,
                "heartbeat_interval": settings.heartbeat_interval,
                "auth_required": client.principal is None,
                "auth_timeout": settings.auth_timeout,
                "format": client.fmt,
                "limits": {
                    "max_subscriptions": settings.max_subscriptions,
                    "max_message_size": settings.max_message_size,
                    "rate_limit": settings.rate_limit,
                },
            }
        )
        session.pending = list(initial)
        if client.principal is not None and initial:
            session.pending = []
            await _answer(client, session.subscribe(initial, {}))
        heartbeat = asyncio.create_task(_heartbeat(client, settings.heartbeat_interval), name="ws-heartbeat")
        await _receive(ws, client, session, settings.auth_timeout)
    except (ConnectionClosed, WebsocketClosed, asyncio.CancelledError):
        pass  # the peer or the server closed it
    except Exception:
        log.exception("websocket connection failed")
        client.close_soon(INTERNAL_ERROR, "internal server error")
    finally:
        if heartbeat is not None:
            heartbeat.cancel()
        session.close()
        state.clients.discard(client)
        state.connections.leave()
        await client.stop()


async def _receive(ws: WebsocketImplProtocol, client: Client, session: Session, auth_timeout: float) -> None:
    deadline = time.monotonic() + auth_timeout
    while client.closing is None:
        timeout = None
        if client.principal is None:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                await ws.close(POLICY, f"authentication required within {auth_timeout:g} s of connecting")
                return
        raw = await ws.recv(timeout)
        if raw is None:
            continue
        verdict = client.budget.take()
        if verdict == "abuse":
            client.close_soon(POLICY, f"message rate above {client.budget.rate:g}/s (websocket.rate_limit)")
            return
        if verdict == "over":
            client.control(
                {"type": "error", "code": "rate_limited", "message": f"at most {client.budget.rate:g} messages/s"}
            )
            continue
        try:
            await session.handle(decode(raw))
        except ProtocolError as error:
            client.control({"type": "error", "code": error.code, "message": error.message})
        except AuthFailedError as refused:
            await ws.close(POLICY, f"authentication refused: {refused}")
            return


def _bound_kernel_buffer(request: Request) -> None:
    """Cap the kernel's send buffer of this connection (autotuning lets it grow to megabytes): a
    stalled client then costs at most this much kernel memory, and reaches its bounded queue soon."""
    sock = request.transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SEND_BUFFER)


async def _answer(client: Client, action: Awaitable[None]) -> None:
    try:
        await action
    except ProtocolError as error:
        client.control({"type": "error", "code": error.code, "message": error.message})


async def _watch_bus(state: WsState, every: float = 1.0) -> None:
    """Tell every client when the shared bus (Redis) goes away and when it is back: streams pause
    meanwhile and continue without a gap (the bus's reader resumes from where it stopped)."""
    log_ = state.hub.log
    down: str | None = None
    while log_ is not None:
        await asyncio.sleep(every)
        error = log_.error
        if error == down or (error is not None and down is not None):
            continue
        down = error
        if error is not None:
            payload = {
                "type": "error",
                "code": "bus_unavailable",
                "message": f"the event bus is unavailable ({error}): messages pause and continue in order "
                "when it is back; new subscriptions may be refused until then",
            }
        else:
            payload = {"type": "status", "code": "bus_available", "message": "the event bus is back"}
        for client in list(state.clients):
            if client.principal is not None:
                client.control(payload)


async def _heartbeat(client: Client, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        client.control({"type": "ping", "timestamp": time.time()})


def _load(path: Path) -> dict[str, Any]:
    """The numbering and buffers the previous run saved (none: start from 1)."""
    if not path.exists():
        return {}
    try:
        saved: dict[str, Any] = json.loads(path.read_text())
        return saved
    except (OSError, ValueError):
        log.warning("stream state %s unreadable: channel numbering restarts", path, exc_info=True)
        return {}


def _save(path: Path, state: dict[str, Any]) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, default=str))
    tmp.replace(path)
