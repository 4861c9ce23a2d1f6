"""Domain errors → HTTP responses, mapped once for the whole app."""

from __future__ import annotations

import logging

from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse, json

from gpt_trader_core.errors import GptTraderError

log = logging.getLogger("gpt_trader.http")


def error_body(code: str, message: str, status: int) -> HTTPResponse:
    return json({"error": {"code": code, "message": message}}, status=status)


def install_error_handlers(app: Sanic) -> None:
    @app.exception(GptTraderError)
    async def domain_error(request: Request, error: GptTraderError) -> HTTPResponse:
        return error_body(error.code, str(error), error.http_status)

    @app.exception(SanicException)
    async def http_error(request: Request, error: SanicException) -> HTTPResponse:
        return error_body("http_error", str(error), error.status_code)

    @app.exception(Exception)
    async def unexpected(request: Request, error: Exception) -> HTTPResponse:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_body("internal", "internal error; the server log has the details", 500)
