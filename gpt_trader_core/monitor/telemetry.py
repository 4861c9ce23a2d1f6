"""The in-process instruments of one server: a metrics registry, request statistics and loop lag."""

from __future__ import annotations

import time
from collections.abc import Callable

from gpt_trader_core.monitor.lag import LoopLagMonitor
from gpt_trader_core.monitor.metrics import MetricsRegistry
from gpt_trader_core.monitor.requests import RequestTracker

__all__ = ["Telemetry"]


class Telemetry:
    """What drivers record into and the monitoring use case reads from; one per process, created by the
    composition root (there is no global registry)."""

    def __init__(
        self,
        registry: MetricsRegistry | None = None,
        *,
        request_window_s: float = 60.0,
        lag_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry if registry is not None else MetricsRegistry()
        self.requests = RequestTracker(self.registry, window_s=request_window_s, clock=clock)
        self.loop_lag = LoopLagMonitor(lag_interval)
