"""RFC 9457 ``application/problem+json`` for every refusal, mapped once for the whole app.

``GptTraderError`` → its ``http_status`` with the one-line message; request validation (see
``requests.py``) → 400/415 with ``errors[]`` naming each bad field; Sanic's 404/405/413 → problems
too; anything else → 500 that says nothing internal (the log has the traceback and the request id).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse

from entrypoints.http.requests import RequestInvalidError
from entrypoints.http.respond import Response
from gpt_trader_core.errors import GptTraderError

log = logging.getLogger("gpt_trader.http")

CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://gpt-trader.dev/problems/"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str | None = None,
    errors: Sequence[Mapping[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    instance: str | None = None,
) -> HTTPResponse:
    """One problem response (``type`` defaults to ``about:blank`` as RFC 9457 says)."""
    body: dict[str, Any] = {"type": type_ or "about:blank", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [dict(e) for e in errors]
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, headers=dict(headers or {}), content_type=CONTENT_TYPE
    )


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install_problems(app: Sanic[Any, Any]) -> None:
    @app.exception(RequestInvalidError)
    async def invalid_request(request: Request, error: RequestInvalidError) -> HTTPResponse:
        kind = {415: "unsupported-media-type", 413: "too-large"}.get(error.status, "invalid-request")
        return problem(
            error.status,
            _title(error.status),
            error.detail,
            type_=TYPE_BASE + kind,
            errors=error.errors,
            instance=request.path,
        )

    @app.exception(GptTraderError)
    async def domain_error(request: Request, error: GptTraderError) -> HTTPResponse:
        # 400 is this edge's answer to a malformed request; a well-formed one the domain refuses is 422.
        status = 422 if error.http_status == 400 else error.http_status
        if status >= 500:  # a broken definition on our side: log it, tell nothing
            log.error("server-side error on %s %s: %s", request.method, request.path, error)
            return problem(500, "Internal Server Error", "internal error; the server log has the details")
        return problem(
            status,
            _title(status),
            str(error),
            type_=TYPE_BASE + error.code.replace("_", "-"),
            instance=request.path,
        )

    @app.exception(SanicException)
    async def http_error(request: Request, error: SanicException) -> HTTPResponse:
        status = error.status_code
        if status >= 500:
            log.error("server error on %s %s: %s", request.method, request.path, error)
            return problem(status, _title(status), "internal error; the server log has the details")
        headers = dict(getattr(error, "headers", None) or {})
        detail = {
            404: f"no resource at {request.path}; the API is described at /api/v1/openapi.json",
            413: "the request body is too large",
        }.get(status, str(error))
        return problem(status, _title(status), detail, headers=headers, instance=request.path)

    @app.exception(Exception)
    async def unexpected(request: Request, error: Exception) -> HTTPResponse:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "Internal Server Error", "internal error; the server log has the details")
