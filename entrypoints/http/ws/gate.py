"""Who is on a connection: credentials from the handshake or from the first messages, and roles.

A client authenticates with a token (``Authorization: Bearer``, ``?access_token=``, or the plan's
``"auth"`` field of a subscribe / an ``{"action": "auth", "token": ...}`` message) or an API key
(``X-API-Key``, ``?api_key=``, ``{"action": "auth", "api_key": ...}``). The check itself is the auth
use case's (``authenticate_token`` / ``authenticate_key``); with ``api.auth.enabled: false``
(loopback only) every connection is the local admin.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs
from sanic import Request

from gpt_trader_core.errors import GptTraderError

ROLES = ("public", "viewer", "trader", "admin")


class Authenticator(Protocol):
    """The auth use case's verification (``gpt_trader_core.services.auth.Authentication``)."""

    async def authenticate_token(self, token: str) -> Any: ...

    async def authenticate_key(self, key: str) -> Any: ...


@attrs.frozen
class LocalAdmin:
    """The principal of every connection when authentication is off."""

    subject: str = "local"
    role: str = "admin"
    kind: str = "local"


class AuthFailedError(Exception):
    pass


def role_of(principal: Any) -> str:
    role = principal.role
    return str(getattr(role, "value", role))


def allows(principal: Any, needed: str) -> bool:
    """True if ``principal`` holds ``needed`` or a stronger role."""
    return principal is not None and ROLES.index(role_of(principal)) >= ROLES.index(needed)


def sees(principal: Any, owner: str | None) -> bool:
    """True if ``principal`` may see a message with this owner restriction (see ``StreamMessage.owner``):
    everyone when None, else admins and the owner."""
    if owner is None:
        return True
    return principal is not None and (role_of(principal) == "admin" or (bool(owner) and principal.subject == owner))


class Gate:
    def __init__(self, *, enabled: bool, authenticator: Authenticator | None) -> None:
        self.enabled = enabled
        self._auth = authenticator

    async def from_handshake(self, request: Request) -> Any:
        """The principal the handshake's credentials name, None when it carries none."""
        if not self.enabled:
            return LocalAdmin()
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if header and scheme.lower() != "bearer":
            raise AuthFailedError("Authorization must be 'Bearer <access token>'")
        token = token.strip() or request.args.get("access_token") or ""
        key = request.headers.get("x-api-key") or request.args.get("api_key") or ""
        if not token and not key:
            return None
        return await self.check(token=token or None, api_key=key or None)

    async def check(self, *, token: str | None = None, api_key: str | None = None) -> Any:
        """The principal of a token or key; ``AuthFailedError`` with the reason."""
        if not self.enabled:
            return LocalAdmin()
        if bool(token) == bool(api_key):
            raise AuthFailedError("send one credential: a token or an API key")
        if self._auth is None:
            raise AuthFailedError("authentication is enabled but this server has no authentication service")
        try:
            if token:
                return await self._auth.authenticate_token(token)
            return await self._auth.authenticate_key(str(api_key))
        except GptTraderError as exc:
            raise AuthFailedError(str(exc)) from None
