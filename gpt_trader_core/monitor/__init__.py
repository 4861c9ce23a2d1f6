"""Monitoring: metric values (JSON here, Prometheus text at the HTTP edge), request statistics, event-loop lag, the
``SystemProbe`` port and alert rules. The ``Monitoring`` use case in ``services.monitoring`` composes
them with health checks, the execution store and the event bus."""

from __future__ import annotations

from gpt_trader_core.monitor.alerts import DEFAULT_RULES, Alert, AlertChange, AlertEvaluator, AlertRule
from gpt_trader_core.monitor.lag import LoopLagMonitor
from gpt_trader_core.monitor.metrics import Counter, Gauge, Histogram, MetricsRegistry
from gpt_trader_core.monitor.requests import RequestStats, RequestTracker, percentile
from gpt_trader_core.monitor.system import SystemMetrics, SystemProbe, sample_system
from gpt_trader_core.monitor.telemetry import Telemetry

__all__ = [
    "DEFAULT_RULES",
    "Alert",
    "AlertChange",
    "AlertEvaluator",
    "AlertRule",
    "Counter",
    "Gauge",
    "Histogram",
    "LoopLagMonitor",
    "MetricsRegistry",
    "RequestStats",
    "RequestTracker",
    "SystemMetrics",
    "SystemProbe",
    "Telemetry",
    "percentile",
    "sample_system",
]
