"""Credentials → ``request.ctx.principal``, and the route's role check (default deny)."""

from __future__ import annotations

import logging

from sanic import Request
from sanic.response import HTTPResponse

from entrypoints.http.problems import problem
from gpt_trader_core.domain.auth import LOCAL_ADMIN, AuthenticationError, Principal, Role
from gpt_trader_core.services.auth import Authentication

log = logging.getLogger("gpt_trader.security")

_ROLES = {role.value: role for role in Role}
_CHALLENGE = 'Bearer realm="gpt-trader"'


def required_role(request: Request) -> Role | None:
    """The role the matched route declares (``ctx_role``), ``None`` if it declares none."""
    route = request.route
    return _ROLES.get(getattr(route.ctx, "role", None) or "") if route is not None else None


def unauthorized(detail: str) -> HTTPResponse:
    return problem(
        401,
        "Unauthorized",
        detail,
        type_="/problems/unauthenticated",
        headers={"WWW-Authenticate": _CHALLENGE, "Cache-Control": "no-store"},
    )


def forbidden(detail: str) -> HTTPResponse:
    return problem(403, "Forbidden", detail, type_="/problems/forbidden", headers={"Cache-Control": "no-store"})


async def resolve(request: Request, auth: Authentication, *, enabled: bool) -> HTTPResponse | None:
    """Set ``request.ctx.principal`` for a routed request, or answer 401/403."""
    needed = required_role(request)
    if needed is None:
        log.error("the route of %s declares no role (ctx_role): refused by default", request.path)
        return forbidden("this operation declares no required role and is refused by default")
    if not enabled:
        request.ctx.principal = LOCAL_ADMIN
        return None
    request.ctx.principal = None
    if needed is Role.PUBLIC:
        return None
    header = request.headers.get("authorization")
    key = request.headers.get("x-api-key")
    if not header and not key and request.headers.get("upgrade", "").lower() == "websocket":
        # Browsers cannot set headers on a WebSocket handshake: there the credential may be a query parameter.
        token = request.args.get("access_token")
        header = f"Bearer {token}" if token else None
        key = request.args.get("api_key")
    if header and key:
        return unauthorized("send one credential: either Authorization: Bearer or X-API-Key, not both")
    try:
        principal: Principal
        if key:
            principal = await auth.authenticate_key(key)
        elif header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return unauthorized("Authorization must be 'Bearer <access token>'")
            principal = await auth.authenticate_token(token.strip())
        else:
            return unauthorized("authentication required: log in at /api/v1/auth/login or send an X-API-Key")
    except AuthenticationError as error:
        return unauthorized(str(error))
    request.ctx.principal = principal
    if not principal.role.allows(needed):
        return forbidden(f"this operation needs the {needed.value} role; yours is {principal.role.value}")
    return None
