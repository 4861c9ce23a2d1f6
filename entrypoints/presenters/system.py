"""System shapes: health, liveness, cache statistics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

from gpt_trader_core.ports import CacheStats
from gpt_trader_core.services.health import HealthReport


@attrs.frozen
class ComponentView:
    """One component's answer to the readiness probe."""

    name: str
    ok: bool
    latency_ms: float
    error: str | None


@attrs.frozen
class HealthView:
    """Readiness: ``ok`` when every component answered, else ``degraded`` (HTTP 503)."""

    status: Literal["ok", "degraded"]
    components: tuple[ComponentView, ...]
    uptime_s: float


@attrs.frozen
class LiveView:
    """Liveness: the process and its event loop answer."""

    status: Literal["alive"]
    uptime_s: float


@attrs.frozen
class CacheStatsView:
    """Cache counters since start (or the last full clear) and live entries per kind."""

    backend: str
    hits: int
    misses: int
    sets: int
    hit_rate: float
    entries: Mapping[str, int]


@attrs.frozen
class CacheClearedView:
    """How many entries a clear dropped (of one kind, or of all kinds when ``kind`` is null)."""

    kind: str | None
    dropped: int


def health_view(report: HealthReport, uptime_s: float) -> HealthView:
    components = tuple(ComponentView(c.name, c.ok, c.latency_ms, c.error) for c in report.components)
    return HealthView("ok" if report.ok else "degraded", components, round(uptime_s, 3))


def cache_stats_view(stats: CacheStats) -> CacheStatsView:
    return CacheStatsView(stats.backend, stats.hits, stats.misses, stats.sets, stats.hit_rate, dict(stats.entries))
