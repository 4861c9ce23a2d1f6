"""Monitoring: metric values (JSON here, Prometheus text at the HTTP edge), request statistics, event-loop lag, the
``SystemProbe`` port and alert rules. The ``Monitoring`` use case in ``services.monitoring`` composes
them with health checks, the execution store and the event bus."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpt_trader_core.domain.lazy import lazy_exports

if TYPE_CHECKING:
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

# resolved on first use: `gpt-trader status` needs the alert rules, not every monitor module
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "DEFAULT_RULES": "gpt_trader_core.monitor.alerts",
        "Alert": "gpt_trader_core.monitor.alerts",
        "AlertChange": "gpt_trader_core.monitor.alerts",
        "AlertEvaluator": "gpt_trader_core.monitor.alerts",
        "AlertRule": "gpt_trader_core.monitor.alerts",
        "LoopLagMonitor": "gpt_trader_core.monitor.lag",
        "Counter": "gpt_trader_core.monitor.metrics",
        "Gauge": "gpt_trader_core.monitor.metrics",
        "Histogram": "gpt_trader_core.monitor.metrics",
        "MetricsRegistry": "gpt_trader_core.monitor.metrics",
        "RequestStats": "gpt_trader_core.monitor.requests",
        "RequestTracker": "gpt_trader_core.monitor.requests",
        "percentile": "gpt_trader_core.monitor.requests",
        "SystemMetrics": "gpt_trader_core.monitor.system",
        "SystemProbe": "gpt_trader_core.monitor.system",
        "sample_system": "gpt_trader_core.monitor.system",
        "Telemetry": "gpt_trader_core.monitor.telemetry",
    },
)
