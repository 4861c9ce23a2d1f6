"""CORS from the ``api.cors_origins`` allow-list, and the security headers of every response."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse

ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, X-API-Key, Idempotency-Key, X-Request-Id"
EXPOSED_HEADERS = "Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Request-Id"
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


class Cors:
    def __init__(self, origins: tuple[str, ...]) -> None:
        self._any = "*" in origins
        self._origins = frozenset(origin.rstrip("/") for origin in origins if origin != "*")

    def allowed(self, origin: str | None) -> str | None:
        """The value for Access-Control-Allow-Origin, or None for an origin not on the list."""
        if not origin:
            return None
        if self._any:
            return "*"
        return origin if origin in self._origins else None

    def preflight(self, request: Request) -> HTTPResponse | None:
        """Answer a CORS preflight (before any auth: browsers send no credentials on it)."""
        if request.method != "OPTIONS" or "access-control-request-method" not in request.headers:
            return None
        response = HTTPResponse(status=204)
        allow = self.allowed(request.headers.get("origin"))
        if allow is not None:  # an unlisted origin gets a 204 without CORS headers: the browser blocks
            response.headers.update(
                {
                    "Access-Control-Allow-Origin": allow,
                    "Access-Control-Allow-Methods": ALLOWED_METHODS,
                    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                    "Access-Control-Max-Age": "600",
                }
            )
        response.headers["Vary"] = "Origin"
        return response

    def decorate(self, request: Request, response: HTTPResponse) -> None:
        allow = self.allowed(request.headers.get("origin"))
        if allow is not None:
            response.headers["Access-Control-Allow-Origin"] = allow
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if not self._any:
            response.headers["Vary"] = "Origin"


def add_security_headers(request: Request, response: HTTPResponse, *, tls: bool) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if tls:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.path.startswith(NO_STORE_PREFIXES) or response.status in (401, 403):
        response.headers["Cache-Control"] = "no-store"
