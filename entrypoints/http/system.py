"""``/api/v1/system``: liveness and readiness."""

from __future__ import annotations

import time

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from entrypoints.serialization import to_plain

bp = Blueprint("system", url_prefix="/api/v1/system")


@bp.get("/health/live")
async def live(request: Request) -> HTTPResponse:
    """The process and its event loop answer."""
    return json({"status": "alive", "uptime_s": round(time.monotonic() - request.app.ctx.started, 3)})


@bp.get("/health")
async def health(request: Request) -> HTTPResponse:
    """Readiness: every component (state store, cache, executor) answers; 503 otherwise."""
    report = await request.app.ctx.health.check()
    body = {
        "status": report.status,
        "components": to_plain(report.components),
        "uptime_s": round(time.monotonic() - request.app.ctx.started, 3),
    }
    return json(body, status=200 if report.ok else 503)
