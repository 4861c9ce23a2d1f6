"""Authentication, authorisation, rate limits, CORS and security headers for a Sanic app.

``install_auth(app, container, settings)`` is the one call the app factory makes (HTTP_CONTRACT.md):

* a CORS preflight is answered first (browsers send no credentials on it);
* every routed request gets ``request.ctx.principal`` from ``Authorization: Bearer <jwt>`` or
  ``X-API-Key``, checked against the route's ``ctx_role`` (a route without one is refused), with
  401/403 problem responses; with ``api.auth.enabled: false`` the principal is the local admin;
* then the rate limit of its endpoint class, per principal or client address;
* every response gets the security headers, CORS headers for allowed origins and the rate-limit headers;
* auth off is refused unless the server binds a loopback address; the first start with no user logs
  how to create the first admin.

It also mounts ``/api/v1/auth``, ``/api/v1/users`` and ``/api/v1/keys``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any

from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse, HTTPResponse

from entrypoints.http.auth.bodies import BadBodyError
from entrypoints.http.auth.config import HttpAuthConfig, config_from_settings
from entrypoints.http.auth.guard import forbidden, resolve, unauthorized
from entrypoints.http.auth.headers import add_security_headers, decorate_cors, install_cors, not_a_preflight
from entrypoints.http.auth.ratelimit import RateLimits
from entrypoints.http.auth.safety import announce_first_start, check_bind
from entrypoints.http.problems import problem
from gpt_trader_core.domain.auth import AuthenticationError, LockedOutError, PermissionDeniedError
from gpt_trader_core.services.auth import Authentication

__all__ = ["authentication", "install_auth"]

FIRST_START_TASK = "auth-first-start"


async def authentication(app: Sanic) -> Authentication:
    """The app's ``Authentication`` use case, resolved from the container once."""
    auth: Authentication | None = getattr(app.ctx, "auth", None)
    if auth is None:
        auth = await app.ctx.auth_container.services.auth()
        app.ctx.auth = auth
    return auth


def install_auth(app: Sanic, container: Any, settings: Any, *, config: HttpAuthConfig | None = None) -> None:
    from entrypoints.http.api import auth as auth_routes
    from entrypoints.http.api import keys, users

    config = config or config_from_settings(settings)
    if settings is not None:
        check_bind(settings.api.host, auth_enabled=config.enabled)
    limits = RateLimits(config.rate_limits, redis_url=config.redis_url) if config.rate_limits_enabled else None
    app.ctx.auth_container = container
    app.ctx.auth_config = config
    app.ctx.rate_limits = limits

    install_cors(app, config.cors_origins)
    wildcard = "*" in config.cors_origins

    # Registration order: after the app's request-id middleware, before anything that does work.
    @app.on_request
    async def authenticate(request: Request) -> HTTPResponse | None:
        if request.route is None:  # no such route: Sanic answers 404/405 next
            return None
        if getattr(request.route.ctx, "preflight", False):  # sanic-ext's OPTIONS route answers it
            if "access-control-request-method" not in request.headers:
                raise not_a_preflight(request)
            return None
        refused = await resolve(request, await authentication(request.app), enabled=config.enabled)
        if refused is not None or limits is None:
            return refused
        return await limits.check(request)

    async def decorate(request: Request, response: BaseHTTPResponse) -> None:
        add_security_headers(request, response, tls=config.tls)
        rate_headers = getattr(request.ctx, "rate_headers", None)
        if rate_headers:
            for name, value in rate_headers.items():
                response.headers.setdefault(name, value)
        decorate_cors(response, wildcard=wildcard)

    # Response hooks run in reverse order: priority 1 puts this one after sanic-ext's CORS hook. One
    # hook for all our headers: each middleware Sanic calls costs about a microsecond per request.
    app.middleware(decorate, "response", priority=1)

    async def first_start(app: Sanic) -> None:
        auth = await authentication(app)
        await announce_first_start(auth)
        await auth.prepare()

    @app.after_server_start
    async def start_first_start(app: Sanic) -> None:
        # A task, not awaited here: the Argon2 warm-up must not hold up (or be cut by) start and stop.
        if config.enabled:
            app.ctx.auth_first_start = asyncio.create_task(first_start(app), name=FIRST_START_TASK)

    @app.before_server_stop
    async def stop_first_start(app: Sanic) -> None:
        task = getattr(app.ctx, "auth_first_start", None)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @app.after_server_stop
    async def release(app: Sanic) -> None:
        if limits is not None:
            await limits.close()
        # The use case holds the state store the app just released: rebuild it at the next start.
        if container is not None:
            app.ctx.auth = None
            container.services.auth.reset()

    @app.exception(BadBodyError)
    async def bad_body(request: Request, error: BadBodyError) -> HTTPResponse:
        return error.response

    @app.exception(AuthenticationError)
    async def not_authenticated(request: Request, error: AuthenticationError) -> HTTPResponse:
        if isinstance(error, LockedOutError):
            retry = str(max(1, math.ceil(error.retry_after)))
            return problem(
                429, "Too Many Requests", str(error), type_="/problems/locked-out", headers={"Retry-After": retry}
            )
        return unauthorized(str(error))

    @app.exception(PermissionDeniedError)
    async def not_allowed(request: Request, error: PermissionDeniedError) -> HTTPResponse:
        return forbidden(str(error))

    app.blueprint(auth_routes.bp)
    app.blueprint(users.bp)
    app.blueprint(keys.bp)
