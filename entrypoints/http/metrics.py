"""``GET /metrics`` (Prometheus text) and ``GET /api/v1/system/metrics`` (the monitoring snapshot, JSON).

The core keeps the metric values (``MetricsRegistry``); ``prometheus_client`` writes them in the text
exposition format, through a collector that reads the registry's snapshot at every scrape (no second
copy of the values).

``install(app, container)`` adds what feeds them: request middleware recording every answered
request (count by method/route/status, 5xx errors, latency histogram) into the container's
``Telemetry``, and the ``monitoring`` background task (collect → alert rules → publish every
``interval`` seconds, restarted by the supervisor after a crash, cancelled before the server stops).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json, raw

from entrypoints.serialization import to_plain
from entrypoints.supervisor import supervise
from gpt_trader_core.monitor import MetricsRegistry, Telemetry
from gpt_trader_core.services.monitoring import Monitoring

if TYPE_CHECKING:
    from entrypoints.container import Container

bp = Blueprint("metrics")
log = logging.getLogger("gpt_trader.monitoring")

#: What ``generate_latest`` writes: the text exposition format, version 0.0.4.
PROMETHEUS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

#: Seconds between two monitoring ticks of a server.
MONITORING_INTERVAL_S = 15.0
TASK_NAME = "monitoring"


class _RegistryCollector(Collector):
    """The families of a core ``MetricsRegistry`` as prometheus_client metric families.

    A counter is exposed under its name ending in ``_total`` (prometheus_client adds the suffix when
    a name lacks it); histogram buckets keep the registry's ``le`` bounds."""

    def __init__(self, registry: MetricsRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        for family in self._registry:
            data, labels = family.snapshot(), list(family.labelnames)
            metric: CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily
            if data["type"] == "histogram":
                metric = HistogramMetricFamily(family.name, data["help"], labels=labels)
                for sample in data["samples"]:
                    buckets = list(sample["buckets"].items())
                    metric.add_metric(list(sample["labels"].values()), buckets, sample["sum"])
            else:
                kind = CounterMetricFamily if data["type"] == "counter" else GaugeMetricFamily
                metric = kind(family.name, data["help"], labels=labels)
                for sample in data["samples"]:
                    metric.add_metric(list(sample["labels"].values()), sample["value"])
            yield metric


def exposition(registry: MetricsRegistry) -> CollectorRegistry:
    """A prometheus_client registry exposing ``registry``'s current values at every collection."""
    collectors = CollectorRegistry(auto_describe=False)
    collectors.register(_RegistryCollector(registry))
    return collectors


def prometheus_text(registry: MetricsRegistry) -> str:
    """``registry`` in the Prometheus text exposition format (what ``GET /metrics`` answers)."""
    return generate_latest(exposition(registry)).decode("utf-8")


@bp.get("/metrics")
async def prometheus(request: Request) -> HTTPResponse:
    """Every metric of this process in the Prometheus text exposition format."""
    return raw(generate_latest(request.app.ctx.prometheus), content_type=PROMETHEUS_CONTENT_TYPE)


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


def install(app: Sanic[Any, Any], container: Container, *, interval: float = MONITORING_INTERVAL_S) -> None:
    """Request metrics middleware and the monitoring background task on ``app`` (the API app)."""
    telemetry: Telemetry = container.services.telemetry()
    app.ctx.telemetry = telemetry
    app.ctx.prometheus = exposition(telemetry.registry)
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
