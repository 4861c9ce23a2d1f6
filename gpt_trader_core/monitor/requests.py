"""Request statistics: Prometheus counters and a latency histogram, plus a sliding window for the
recent rate, error rate and p50/p95/p99 latency that alert rules look at."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence

import attrs

from gpt_trader_core.monitor.metrics import MetricsRegistry

__all__ = ["RequestStats", "RequestTracker", "percentile"]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``values`` by linear interpolation between the two closest
    ranks (NumPy's default ``linear`` method): rank ``q/100 * (n - 1)`` of the sorted values."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must be in [0, 100], got {q!r}")
    return _sorted_percentile(sorted(values), q)


def _sorted_percentile(data: Sequence[float], q: float) -> float:
    rank = q / 100.0 * (len(data) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(data) - 1)
    lower, upper = data[low], data[high]
    value = lower + (upper - lower) * (rank - low)
    return min(max(value, lower), upper)  # no rounding past the neighbours


@attrs.frozen
class RequestStats:
    """Requests finished within the last ``window_s`` seconds. Latencies are ``None`` without requests."""

    window_s: float
    count: int = 0
    errors: int = 0
    rate_per_s: float = 0.0
    error_rate_percent: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    total: int = 0


class RequestTracker:
    """Records each finished request into the registry and into a sliding window.

    Registry families: ``gpt_trader_http_requests_total{method,route,status}``,
    ``gpt_trader_http_request_errors_total{method,route}`` (5xx) and
    ``gpt_trader_http_request_duration_seconds{method,route}``. ``route`` should be the route pattern
    (``/api/v1/results/<id>``), not the raw path, to keep the number of series bounded.

    The window keeps the last ``window_s`` seconds, at most ``max_samples`` requests (beyond that the
    rate is measured over the span of the samples kept).
    """

    def __init__(
        self,
        registry: MetricsRegistry,
        *,
        window_s: float = 60.0,
        max_samples: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if window_s <= 0 or max_samples < 1:
            raise ValueError("window_s must be > 0 and max_samples >= 1")
        self._requests = registry.counter(
            "gpt_trader_http_requests_total",
            "HTTP requests answered, by method, route and status",
            ("method", "route", "status"),
        )
        self._errors = registry.counter(
            "gpt_trader_http_request_errors_total", "HTTP requests answered with a 5xx status", ("method", "route")
        )
        self._latency = registry.histogram(
            "gpt_trader_http_request_duration_seconds", "Time to answer HTTP requests", ("method", "route")
        )
        self.window_s = window_s
        self._clock = clock
        self._started = clock()
        self._window: deque[tuple[float, float, bool]] = deque(maxlen=max_samples)
        self.total = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """One finished request: its method, route pattern, status code and duration in seconds."""
        error = status >= 500
        self._requests.child(method, route, str(status)).inc()  # once per request: positional labels
        if error:
            self._errors.child(method, route).inc()
        self._latency.child(method, route).observe(seconds)
        self._window.append((self._clock(), seconds, error))
        self.total += 1

    def stats(self) -> RequestStats:
        """Rate, error rate and latency percentiles over the window (old samples are dropped here)."""
        now = self._clock()
        horizon = now - self.window_s
        window = self._window
        while window and window[0][0] < horizon:
            window.popleft()
        if not window:
            return RequestStats(self.window_s, total=self.total)
        count = len(window)
        errors = sum(1 for _, _, error in window if error)
        span = min(self.window_s, now - self._started)
        if count == window.maxlen:
            span = min(span, now - window[0][0])
        latencies = sorted(seconds for _, seconds, _ in window)
        return RequestStats(
            window_s=self.window_s,
            count=count,
            errors=errors,
            rate_per_s=count / max(span, 1.0),
            error_rate_percent=100.0 * errors / count,
            p50_ms=_sorted_percentile(latencies, 50) * 1000,
            p95_ms=_sorted_percentile(latencies, 95) * 1000,
            p99_ms=_sorted_percentile(latencies, 99) * 1000,
            max_ms=latencies[-1] * 1000,
            total=self.total,
        )
