"""Liveness and readiness: ask each component whether it can serve, with a time limit.

``component_health`` is the one place that turns components into health probes: the server's
``/health`` and the ``Monitoring`` snapshots both get their ``HealthCheck`` from it (through the
container's ``services.health`` provider).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from gpt_trader_core.ports import Cache, Executor, HealthProbe, StateStore

if TYPE_CHECKING:  # only its ``ping`` is used; importing it would load the trading engine
    from gpt_trader_core.services.sessions import TradingSessions

#: A health probe (the ``HealthProbe`` port), by its short historical name.
Probe = HealthProbe


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


def component_health(
    *,
    state_store: StateStore | None = None,
    cache: Cache | None = None,
    executor: Executor | None = None,
    sessions: TradingSessions | None = None,
    extra: Mapping[str, HealthProbe] | None = None,
    timeout: float = 2.0,
) -> HealthCheck:
    """A ``HealthCheck`` over the components given, in this order: ``state_store``, ``cache``,
    ``executor`` (down when it has no workers), ``sessions`` (down when a session of this process
    failed), then ``extra``. Components that are ``None`` are not probed."""
    probes: dict[str, HealthProbe] = {}
    if state_store is not None:
        probes["state_store"] = state_store.ping
    if cache is not None:
        probes["cache"] = cache.ping
    if executor is not None:
        pool = executor

        async def executor_probe() -> None:
            if pool.workers < 1:
                raise RuntimeError("executor has no workers")

        probes["executor"] = executor_probe
    if sessions is not None:
        probes["sessions"] = sessions.ping
    probes.update(extra or {})
    return HealthCheck(probes, timeout)
