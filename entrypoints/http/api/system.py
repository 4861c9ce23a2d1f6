"""``/api/v1/system``: liveness, readiness, cache statistics and clearing (metrics: ``metrics.py``)."""

from __future__ import annotations

import time

import attrs
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from entrypoints.http import requests
from entrypoints.http.openapi import Response, doc
from entrypoints.http.respond import ok
from entrypoints.presenters.system import (
    CacheClearedView,
    CacheStatsView,
    HealthView,
    LiveView,
    cache_stats_view,
    health_view,
)

health = Blueprint("health", url_prefix="/api/v1/system")
bp = Blueprint("system", url_prefix="/api/v1/system")
TAG = "system"


@attrs.frozen
class CacheClear:
    """Drop the entries of one ``kind`` (e.g. ``market_data``, ``backtest``, ``regime``), or all."""

    kind: str | None = requests.field(None, pattern=r"^[a-z][a-z_]{0,39}$", description="Only this kind of entry")


def _uptime(request: Request) -> float:
    return time.monotonic() - request.app.ctx.started


@health.get("/health/live", ctx_role="public")
@doc("Liveness", tag=TAG, responses={200: Response("Alive", LiveView)})
async def live(request: Request) -> HTTPResponse:
    """The process and its event loop answer."""
    return ok(LiveView("alive", round(_uptime(request), 3)))


@health.get("/health", ctx_role="public")
@doc(
    "Readiness",
    tag=TAG,
    description="Every component (state store, cache, executor, sessions) answers: 200, otherwise 503.",
    responses={200: Response("Ready", HealthView), 503: Response("Degraded", HealthView)},
)
async def readiness(request: Request) -> HTTPResponse:
    report = await request.app.ctx.health.check()
    return ok(health_view(report, _uptime(request)), 200 if report.ok else 503)


@bp.get("/cache/stats", ctx_role="viewer")
@doc("Cache statistics", tag=TAG, responses={200: Response("Counters and entries per kind", CacheStatsView)})
async def cache_stats(request: Request) -> HTTPResponse:
    return ok(cache_stats_view(await request.app.ctx.cache.stats()))


@bp.post("/cache/clear", ctx_role="admin")
@doc(
    "Clear the cache",
    tag=TAG,
    body=CacheClear,
    example={"kind": "market_data"},
    responses={200: Response("Entries dropped", CacheClearedView)},
)
async def cache_clear(request: Request) -> HTTPResponse:
    command = requests.body(request, CacheClear)
    dropped = await request.app.ctx.cache.clear(command.kind)
    return ok(CacheClearedView(command.kind, dropped))
