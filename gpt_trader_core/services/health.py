"""Liveness and readiness: ask each component whether it can serve, with a time limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

import attrs

Probe = Callable[[], Awaitable[object]]


@attrs.frozen
class ComponentHealth:
    name: str
    ok: bool
    latency_ms: float
    error: str | None = None


@attrs.frozen
class HealthReport:
    """``status`` is "ok" when every component answered, else "degraded"."""

    status: str
    components: tuple[ComponentHealth, ...]

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class HealthCheck:
    """Runs every probe concurrently; a probe that raises or exceeds ``timeout`` marks its component down."""

    def __init__(self, probes: Mapping[str, Probe], timeout: float = 2.0) -> None:
        self._probes = dict(probes)
        self._timeout = timeout

    async def _one(self, name: str, probe: Probe) -> ComponentHealth:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(probe(), self._timeout)
        except TimeoutError:
            error: str | None = f"no answer within {self._timeout:g} s"
        except Exception as exc:  # a health check reports failures, it does not raise them
            error = f"{type(exc).__name__}: {exc}"
        else:
            error = None
        return ComponentHealth(name, error is None, round((time.perf_counter() - started) * 1000, 3), error)

    async def check(self) -> HealthReport:
        results = await asyncio.gather(*(self._one(n, p) for n, p in self._probes.items()))
        return HealthReport("ok" if all(r.ok for r in results) else "degraded", tuple(results))
