"""``/api/v1/auth``: log in, rotate the refresh token, log out, who am I."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, json

from entrypoints.http.auth import authentication
from entrypoints.http.auth.bodies import (
    LoginRequest,
    PrincipalView,
    RefreshRequest,
    TokenResponse,
    parse,
    plain,
    token_view,
)
from entrypoints.http.auth.ratelimit import client_address
from entrypoints.http.openapi import Response, doc

bp = Blueprint("auth", url_prefix="/api/v1/auth")
TAG = "auth"


@bp.post("/login", ctx_role="public", ctx_rate="login")
@doc(
    "Log in: an access token (15 min) and a refresh token (30 days, single use)",
    tag=TAG,
    body=LoginRequest,
    responses={200: Response("The token pair", TokenResponse)},
    errors=(400, 401, 429),
)
async def login(request: Request) -> HTTPResponse:
    """``{"username", "password"}`` → an access token (15 min) and a refresh token (30 days)."""
    body = parse(request, LoginRequest)
    auth = await authentication(request.app)
    pair = await auth.login(body.username, body.password, client=client_address(request))
    return json(plain(token_view(pair)))


@bp.post("/refresh", ctx_role="public", ctx_rate="login")
@doc(
    "Exchange a refresh token for a new pair (presenting a used one ends the whole login)",
    tag=TAG,
    body=RefreshRequest,
    responses={200: Response("The next token pair", TokenResponse)},
    errors=(400, 401, 429),
)
async def refresh(request: Request) -> HTTPResponse:
    """``{"refresh_token"}`` → a new pair; the presented token is used up (reuse ends the login)."""
    body = parse(request, RefreshRequest)
    auth = await authentication(request.app)
    return json(plain(token_view(await auth.refresh(body.refresh_token, client=client_address(request)))))


@bp.post("/logout", ctx_role="viewer")
@doc("End this login: its refresh tokens stop working", tag=TAG, responses={204: Response("Logged out")}, errors=(409,))
async def logout(request: Request) -> HTTPResponse:
    """End this login: its refresh tokens stop working (the access token expires on its own)."""
    auth = await authentication(request.app)
    await auth.logout(request.ctx.principal)
    return empty(status=204)


@bp.get("/me", ctx_role="viewer")
@doc("Who the credentials belong to", tag=TAG, responses={200: Response("The caller", PrincipalView)})
async def me(request: Request) -> HTTPResponse:
    """The caller: subject, role and kind (user, api_key or local)."""
    principal = request.ctx.principal
    return json(plain(PrincipalView(principal.subject, principal.role.value, principal.kind)))
