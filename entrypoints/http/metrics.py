"""``GET /metrics`` (Prometheus text) and ``GET /api/v1/system/metrics`` (the monitoring snapshot, JSON).

``install(app, container)`` adds what feeds them: request middleware recording every answered
request (count by method/route/status, 5xx errors, latency histogram) into the container's
``Telemetry``, and the ``monitoring`` background task (collect → alert rules → publish every
``interval`` seconds, restarted by the supervisor after a crash, cancelled before the server stops).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json, text

from entrypoints.serialization import to_plain
from entrypoints.supervisor import supervise
from gpt_trader_core.monitor import PROMETHEUS_CONTENT_TYPE, Telemetry
from gpt_trader_core.services.monitoring import Monitoring

bp = Blueprint("metrics")
log = logging.getLogger("gpt_trader.monitoring")

#: Seconds between two monitoring ticks of a server.
MONITORING_INTERVAL_S = 15.0
TASK_NAME = "monitoring"


@bp.get("/metrics")
async def prometheus(request: Request) -> HTTPResponse:
    """Every metric of this process in the Prometheus text exposition format."""
    telemetry: Telemetry = request.app.ctx.telemetry
    return text(telemetry.registry.to_prometheus(), content_type=PROMETHEUS_CONTENT_TYPE)


@bp.get("/api/v1/system/metrics")
async def snapshot(request: Request) -> HTTPResponse:
    """System metrics, loop lag, request statistics, component health, recent executions, firing alerts,
    and the raw metric families."""
    monitoring = await _monitoring(request.app)
    current = await monitoring.collect()
    return json({**to_plain(current), "metrics": monitoring.telemetry.registry.snapshot()})


async def _monitoring(app: Sanic[Any, Any]) -> Monitoring:
    monitoring: Monitoring | None = getattr(app.ctx, "monitoring", None)
    if monitoring is None:
        monitoring = await app.ctx.container.services.monitoring()
        app.ctx.monitoring = monitoring
    return monitoring


async def _run_monitoring(app: Sanic[Any, Any], interval: float) -> None:
    try:
        monitoring = await _monitoring(app)
        await supervise(TASK_NAME, lambda: monitoring.run_forever(interval))
    except asyncio.CancelledError:
        # The server is stopping: end quietly (Sanic logs a warning for every task that ends cancelled).
        log.debug("monitoring stopped")


def install(app: Sanic[Any, Any], container: Any, *, interval: float = MONITORING_INTERVAL_S) -> None:
    """Request metrics middleware and the monitoring background task on ``app`` (the API app)."""
    telemetry: Telemetry = container.services.telemetry()
    app.ctx.telemetry = telemetry
    tracker = telemetry.requests

    @app.on_request
    async def start_request_timer(request: Request) -> None:
        request.ctx.metrics_started = time.perf_counter()

    @app.on_response
    async def record_request(request: Request, response: HTTPResponse) -> None:
        started = getattr(request.ctx, "metrics_started", None)
        if started is not None:
            route = request.uri_template or "unmatched"  # the pattern, not the path: bounded series
            tracker.observe(request.method, route, response.status, time.perf_counter() - started)

    @app.after_server_start
    async def start_monitoring(app: Sanic[Any, Any]) -> None:
        # No await here: a SIGTERM/SIGINT arriving while after_server_start listeners run is lost by
        # Sanic (its loop.stop() merges with the end of run_until_complete) and the server never stops.
        app.add_task(_run_monitoring(app, interval), name=TASK_NAME)

    @app.before_server_stop
    async def stop_monitoring(app: Sanic[Any, Any]) -> None:
        await app.cancel_task(TASK_NAME, raise_exception=False)
