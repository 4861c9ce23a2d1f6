"""``/api/v1/auth/cookie``: the browser's variant of log in / refresh / log out.

The same ``Authentication`` use case as ``/api/v1/auth``, but the refresh token never reaches script: it
travels in an httpOnly, SameSite=Strict cookie scoped to this path (Secure over HTTPS), and the answers
carry only the short-lived access token, which the dashboard keeps in memory. A page of another site
cannot send the cookie (SameSite=Strict), and script on our page cannot read it (httpOnly).
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, json

from entrypoints.http.auth import authentication
from entrypoints.http.auth.bodies import LoginRequest, parse
from entrypoints.http.auth.guard import unauthorized
from entrypoints.http.auth.ratelimit import client_address
from gpt_trader_core.domain.auth import AuthenticationError, TokenPair

PATH = "/api/v1/auth/cookie"
COOKIE = "gt_refresh"


def _secure(request: Request) -> bool:
    config = getattr(request.app.ctx, "auth_config", None)
    return request.scheme == "https" or bool(getattr(config, "tls", False))


def _answer(request: Request, pair: TokenPair) -> HTTPResponse:
    response = json(
        {"access_token": pair.access_token, "token_type": pair.token_type, "expires_in": pair.expires_in},
        headers={"Cache-Control": "no-store"},
    )
    response.add_cookie(
        COOKIE,
        pair.refresh_token,
        path=PATH,
        httponly=True,
        samesite="Strict",
        secure=_secure(request),
        max_age=pair.refresh_expires_in,
    )
    return response


def _forget(request: Request, response: HTTPResponse) -> HTTPResponse:
    # Expired at once, with the attributes it was set with (a browser matches them to replace it).
    response.add_cookie(COOKIE, "", path=PATH, httponly=True, samesite="Strict", secure=_secure(request), max_age=0)
    return response


def blueprint() -> Blueprint:
    bp = Blueprint("auth_cookie", url_prefix=PATH)

    @bp.post("/login", ctx_role="public", ctx_rate="login")
    async def login(request: Request) -> HTTPResponse:
        """``{"username", "password"}`` → an access token; the refresh token is set as the cookie."""
        body = parse(request, LoginRequest)
        auth = await authentication(request.app)
        return _answer(request, await auth.login(body.username, body.password, client=client_address(request)))

    @bp.post("/refresh", ctx_role="public", ctx_rate="login")
    async def refresh(request: Request) -> HTTPResponse:
        """A new access token for the cookie's refresh token (rotated: the cookie is replaced); 204 when
        there is no cookie (nobody logged in on this browser), 401 and the cookie removed when it is spent."""
        token = request.cookies.get(COOKIE)
        if not token:
            return empty(status=204, headers={"Cache-Control": "no-store"})
        auth = await authentication(request.app)
        try:
            pair = await auth.refresh(token, client=client_address(request))
        except AuthenticationError as error:
            return _forget(request, unauthorized(str(error)))
        return _answer(request, pair)

    @bp.post("/logout", ctx_role="viewer")
    async def logout(request: Request) -> HTTPResponse:
        """End this login (its refresh tokens stop working) and remove the cookie."""
        principal = request.ctx.principal
        if getattr(principal, "session", None) is not None:
            await (await authentication(request.app)).logout(principal)
        return _forget(request, empty(status=204, headers={"Cache-Control": "no-store"}))

    return bp
