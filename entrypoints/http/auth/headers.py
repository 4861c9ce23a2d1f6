"""CORS from the ``api.cors_origins`` allow-list, and the security headers of every response."""

from __future__ import annotations

from typing import Any

from sanic import Request, Sanic
from sanic.exceptions import MethodNotAllowed
from sanic.response import BaseHTTPResponse
from sanic_ext import Extend
from sanic_ext.config import PRIORITY
from sanic_ext.extensions.http.extension import HTTPExtension

ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-API-Key", "Idempotency-Key", "X-Request-Id")
EXPOSED_HEADERS = (
    "Location",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "X-Request-Id",
)
#: Responses that carry or concern credentials are never stored by caches or browsers.
NO_STORE_PREFIXES = ("/api/v1/auth/", "/api/v1/users", "/api/v1/keys")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # The dashboard loads only its own files; nobody may frame any page of ours.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
}


def install_cors(app: Sanic, origins: tuple[str, ...]) -> None:
    """sanic-ext's CORS, and nothing else of sanic-ext, from the ``api.cors_origins`` allow-list.

    Only its HTTP extension is loaded (the OpenAPI document is ours, openapi.py): at start it adds an
    OPTIONS route to every path, which answers preflights, and a response hook adds the CORS headers
    for listed origins. The OPTIONS routes are made public here, before the guard sees them.
    """
    wildcard = "*" in origins
    Extend(
        app,
        extensions=[HTTPExtension],
        built_in_extensions=False,
        config={
            "cors_origins": "*" if wildcard else [origin.rstrip("/") for origin in origins],
            "cors_send_wildcard": wildcard,
            "cors_always_send": False,  # no Origin, no CORS headers
            "cors_allow_headers": list(ALLOWED_HEADERS),
            "cors_expose_headers": list(EXPOSED_HEADERS),
            "cors_methods": list(ALLOWED_METHODS),
            "cors_max_age": 600,
            "http_auto_head": False,
            "http_auto_trace": False,
        },
    )

    _only_with_origin(app)

    async def preflight_routes_are_public(app: Sanic) -> None:
        for group in app.router.groups.values():
            for route in group:
                if route.methods == {"OPTIONS"} and getattr(route.handler, "__auto_handler__", False):
                    # Browsers send no credentials on a preflight: it is answered before auth and rate limits.
                    route.ctx.role = "public"
                    route.ctx.preflight = True
                    route.ctx.allow = sorted(set(group.methods) - {"OPTIONS"})

    # After sanic-ext's own start listeners (PRIORITY), which add the OPTIONS routes.
    app.before_server_start(preflight_routes_are_public, priority=PRIORITY - 1)


#: sanic-ext's response hook that adds the CORS headers (``sanic_ext.extensions.http.cors.add_cors``).
SANIC_EXT_CORS_HOOK = "add_cors.<locals>._add_cors_headers"


def _only_with_origin(app: Sanic) -> None:
    """Call sanic-ext's CORS hook only for requests that carry an ``Origin``.

    With ``cors_always_send`` off the hook adds nothing to an answer without one (it would only log that
    a preflight lacks its method), yet it runs for every request: same headers, a call less per request.
    """
    for middleware in app.response_middleware:
        hook = middleware.func
        if getattr(hook, "__qualname__", "") == SANIC_EXT_CORS_HOOK:

            async def gated(request: Request, response: BaseHTTPResponse, hook: Any = hook) -> None:
                # a coroutine like the hook: Sanic's isawaitable() answers fastest for one
                if "origin" in request.headers:
                    await hook(request, response)

            gated.__qualname__ = f"{SANIC_EXT_CORS_HOOK}[with Origin]"
            middleware.func = gated


def not_a_preflight(request: Request) -> MethodNotAllowed:
    """A plain OPTIONS (no Access-Control-Request-Method) gets the 405 it got before sanic-ext."""
    allowed = request.route.ctx.allow if request.route is not None else []
    return MethodNotAllowed(f"Method OPTIONS not allowed for URL {request.path}", "OPTIONS", allowed)


def decorate_cors(response: BaseHTTPResponse, *, wildcard: bool) -> None:
    """Complete sanic-ext's CORS headers: our canonical name case, a 405's ``Allow`` without its OPTIONS
    routes, and ``Vary: Origin`` on every answer."""
    headers = response.headers
    if "access-control-allow-origin" in headers:  # sanic-ext sends these two only along with it
        for header, names in (
            ("access-control-allow-headers", ALLOWED_HEADERS),
            ("access-control-expose-headers", EXPOSED_HEADERS),
        ):
            value = headers.get(header)
            if value and value != "*":  # sanic-ext lowercases the names; answer them as we spell them
                sent = {name.strip().lower() for name in value.split(",")}
                headers[header] = ", ".join(n for n in names if n.lower() in sent)
    if response.status == 405 and (allow := headers.get("allow")):
        # OPTIONS only serves CORS preflights: not one of our operations
        headers["Allow"] = ", ".join(m.strip() for m in allow.split(",") if m.strip() != "OPTIONS")
    if not wildcard:  # the answer depends on the Origin even when it carries no CORS header
        headers["Vary"] = "Origin"


def add_security_headers(request: Request, response: BaseHTTPResponse, *, tls: bool) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if tls:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.path.startswith(NO_STORE_PREFIXES) or response.status in (401, 403):
        response.headers["Cache-Control"] = "no-store"
