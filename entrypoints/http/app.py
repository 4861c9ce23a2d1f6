"""Sanic app factories: the HTTP API and the WebSocket server, both over the same container."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from entrypoints import logs
from entrypoints.container import start_resources, stop_resources
from entrypoints.http.errors import install_error_handlers

log = logging.getLogger("gpt_trader.server")


def _base_app(name: str, container: Any, settings: Any) -> Sanic:
    app = Sanic(name, configure_logging=False)
    # sanic-ext (OpenAPI, CORS) arrives with the REST API; until then the app does not load it.
    app.config.AUTO_EXTEND = False
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = settings.api.shutdown_timeout
    app.config.KEEP_ALIVE_TIMEOUT = 5
    app.ctx.container = container
    app.ctx.started = time.monotonic()
    install_error_handlers(app)

    @app.on_request
    async def bind_request_id(request: Request) -> None:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        request.ctx.request_id = rid
        logs.request_id.set(rid)

    @app.on_response
    async def echo_request_id(request: Request, response: HTTPResponse) -> None:
        rid = getattr(request.ctx, "request_id", None)
        if rid:
            response.headers["x-request-id"] = rid

    return app


def install_lifecycle(app: Sanic, container: Any) -> None:
    """Start the container's resources before serving, release them after the server stopped."""

    @app.before_server_start
    async def start(app: Sanic) -> None:
        started = time.perf_counter()
        await start_resources(container)
        # Sessions a crashed process left running continue from their first uncommitted bar.
        app.ctx.sessions = await container.services.sessions()
        app.ctx.health = await container.services.health(sessions=app.ctx.sessions)
        recovered = await app.ctx.sessions.recover()
        if recovered:
            log.info("recovered %d trading session(s): %s", len(recovered), ", ".join(recovered))
        log.info("%s ready in %.0f ms", app.name, (time.perf_counter() - started) * 1000)

    @app.before_server_stop
    async def stop_sessions(app: Sanic) -> None:
        # Each session finishes its current bar (already persisted) and pauses; the next start resumes it.
        await app.ctx.sessions.suspend_all(timeout=app.config.GRACEFUL_SHUTDOWN_TIMEOUT)

    @app.after_server_stop
    async def stop(app: Sanic) -> None:
        await stop_resources(container)
        log.info("%s stopped, resources released", app.name)


def create_api_app(container: Any, settings: Any, *, name: str = "gpt_trader_api") -> Sanic:
    from entrypoints.http import system

    app = _base_app(name, container, settings)
    app.blueprint(system.bp)
    # monitoring: GET /metrics + /api/v1/system/metrics, request metrics middleware, "monitoring" task
    from entrypoints.http import metrics

    app.blueprint(metrics.bp)
    metrics.install(app, container)
    # the plan's "WebSocket upgrade support": the streams on the API's port too (same origin as its pages)
    from entrypoints.http.ws import install_ws

    install_ws(app, settings)
    return app


def create_ws_app(container: Any, settings: Any, *, name: str = "gpt_trader_ws") -> Sanic:
    from entrypoints.http import system, ws

    app = _base_app(name, container, settings)
    app.blueprint(system.bp)
    ws.install_ws(app, settings)
    return app
