"""Sanic app factories: ``create_app`` builds THE HTTP API (every blueprint under ``/api/v1``, problems,
OpenAPI, docs) and owns the container's resources, so in-process tests and ``gpt-trader serve`` run
the same app; ``create_ws_app`` is the WebSocket server over the same container."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from entrypoints import logs
from entrypoints.container import start_resources, stop_resources
from entrypoints.http.problems import install_problems
from entrypoints.supervisor import cancelled, supervise

log = logging.getLogger("gpt_trader.server")

#: Largest request body (bytes): Sanic answers 413 above it before reading on.
REQUEST_MAX_SIZE = 1_000_000
#: Listen backlog: a burst of 1,000 new connections must queue, not be reset (Sanic's default is 100;
#: the kernel caps it at net.core.somaxconn).
BACKLOG = 2048


def check_bind(host: str, settings: Any) -> None:
    """Refuse to serve beyond this machine without authentication: a non-loopback ``host`` needs the
    auth module installed and ``api.auth.enabled`` (the API's default role would otherwise be admin)."""
    import importlib.util
    import ipaddress

    from gpt_trader_core.errors import ConfigurationError

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return
    if importlib.util.find_spec("entrypoints.http.auth") is None or not settings.api.auth.enabled:
        raise ConfigurationError(
            f"api.host is {host}: without authentication the API would answer anyone on the network as admin; "
            "bind 127.0.0.1 (the default) and put an authenticating proxy in front, or enable api.auth"
        )


def raise_file_limit() -> int:
    """Lift this process's soft open-file limit to the hard one (each connection is a descriptor)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


#: Roles of routes other branches register without ``ctx_role`` (HTTP_CONTRACT.md: default deny otherwise).
_EXTERNAL_ROLES = {"metrics": "viewer", "api/v1/system/metrics": "viewer"}


def _base_app(name: str, container: Any, settings: Any) -> Sanic:
    app = Sanic(name, configure_logging=False)
    # sanic-ext is not loaded: the OpenAPI document is generated from our attrs classes (openapi.py).
    app.config.AUTO_EXTEND = False
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = settings.api.shutdown_timeout
    app.config.KEEP_ALIVE_TIMEOUT = 5
    app.config.REQUEST_MAX_SIZE = REQUEST_MAX_SIZE
    app.ctx.container = container
    app.ctx.settings = settings
    app.ctx.started = time.monotonic()
    install_problems(app)

    @app.on_request
    async def bind_request_id(request: Request) -> None:
        rid = request.headers.get("x-request-id") or os.urandom(8).hex()
        request.ctx.request_id = rid[:128]
        logs.request_id.set(rid[:128])

    @app.on_response
    async def echo_request_id(request: Request, response: HTTPResponse) -> None:
        rid = getattr(request.ctx, "request_id", None) or os.urandom(8).hex()
        response.headers["x-request-id"] = rid

    return app


def install_lifecycle(app: Sanic, container: Any) -> None:
    """Start the container's resources before serving, release them after the server stopped."""

    @app.before_server_start
    async def start(app: Sanic) -> None:
        started = time.perf_counter()
        raise_file_limit()
        await start_resources(container)
        app.ctx.cache = await container.adapters.cache()
        app.ctx.store = await container.adapters.state_store()
        app.ctx.idempotency_locks = {}
        # Sessions a crashed process left running continue from their first uncommitted bar.
        app.ctx.sessions = await container.services.sessions()
        app.ctx.health = await container.services.health(sessions=app.ctx.sessions)
        if app.ctx.sessions.shared_leases:  # several workers: whoever holds a lease runs the session,
            # and sessions of a dead worker are taken over as soon as their lease expires (scale-out)
            app.ctx.leases_task = asyncio.create_task(
                supervise("session-leases", app.ctx.sessions.lead), name="gpt-trader:session-leases"
            )
        else:
            recovered = await app.ctx.sessions.recover()
            if recovered:
                log.info("recovered %d trading session(s): %s", len(recovered), ", ".join(recovered))
        log.info("%s ready in %.0f ms", app.name, (time.perf_counter() - started) * 1000)

    @app.after_server_start
    async def freeze_heap(app: Sanic) -> None:
        # What exists now (modules, routes, the container) lives as long as the process: out of the
        # collector's reach, a full collection walks only what requests allocate. Over the ~100,000
        # start-up objects one took ~50 ms, a stall of every request in flight, about once a second
        # under load (issue 12: the backtest's p95). Not in-process tests: their apps come and go.
        if not Sanic.test_mode:
            gc.collect()
            gc.freeze()

    @app.before_server_stop
    async def stop_sessions(app: Sanic) -> None:
        await cancelled(getattr(app.ctx, "leases_task", None))  # take over nothing more
        # Background jobs (workflows, optimisations, large backtests) stop and are stored as cancelled.
        await (await container.services.jobs()).shutdown()
        if "workflows" in getattr(app.ctx, "built", set()):
            await (await container.services.workflows()).shutdown()
        # Each session finishes its current bar (already persisted) and pauses; the next start resumes it.
        await app.ctx.sessions.suspend_all(timeout=app.config.GRACEFUL_SHUTDOWN_TIMEOUT)

    @app.after_server_stop
    async def stop(app: Sanic) -> None:
        await stop_resources(container)
        # Use cases holding released resources are rebuilt at the next start (``asgi_client`` starts
        # and stops the app around every request).
        for name in ("sessions", "workflows", "monitoring", "jobs"):
            container.services.providers[name].reset()
        app.ctx.monitoring = None
        app.ctx.built = set()
        log.info("%s stopped, resources released", app.name)


def create_app(container: Any, settings: Any, *, name: str = "gpt_trader_api") -> Sanic:
    """The HTTP API over ``container``: every resource blueprint, metrics, OpenAPI and docs, with the
    lifecycle of the container's resources (start before serving, release after stopping)."""
    from entrypoints.http import metrics
    from entrypoints.http.api import group
    from entrypoints.http.auth import install_auth
    from entrypoints.http.docs import document_external_routes, install_docs

    app = _base_app(name, container, settings)
    app.ctx.built = set()
    app.blueprint(group())
    # monitoring: GET /metrics + /api/v1/system/metrics, request metrics middleware, "monitoring" task
    app.blueprint(metrics.bp)
    metrics.install(app, container)
    # the plan's "WebSocket upgrade support": the streams on the API's port too (same origin as its pages)
    from entrypoints.http.ws import install_ws

    install_ws(app, settings)
    install_auth(app, container, settings)  # auth (issue 13): credentials, roles, rate limits, CORS, headers
    install_docs(app)
    document_external_routes(app, _EXTERNAL_ROLES)
    install_lifecycle(app, container)
    # dashboard: /dashboard/ (static files) and, with the auth layer, its cookie login /api/v1/auth/cookie/*
    from entrypoints.dashboard.server import install_dashboard

    install_dashboard(app)
    return app


def create_ws_app(container: Any, settings: Any, *, name: str = "gpt_trader_ws") -> Sanic:
    from entrypoints.http import ws
    from entrypoints.http.api import system

    app = _base_app(name, container, settings)
    app.blueprint(system.health)
    ws.install_ws(app, settings)
    return app
