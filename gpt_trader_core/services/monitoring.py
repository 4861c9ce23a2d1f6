"""The monitoring use case: collect a snapshot, evaluate alert rules, publish, repeat.

    monitoring = Monitoring.for_components(telemetry=Telemetry(), probe=probe, state_store=store,
                                           cache=cache, executor=executor, bus=bus)
    snapshot = await monitoring.tick()        # collect → evaluate → publish, once
    await monitoring.run_forever(15.0)        # the server's "monitoring" background task
    await monitoring.status()                 # one-shot, for `gpt-trader status`

Events: ``alert_raised`` / ``alert_resolved`` on topic ``alerts`` (once per change), and
``metrics_collected`` with the snapshot (without executions) on ``system:metrics`` each tick.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from gpt_trader_core.domain.records import Execution, utcnow
from gpt_trader_core.monitor.alerts import DEFAULT_RULES, Alert, AlertChange, AlertEvaluator, AlertRule
from gpt_trader_core.monitor.requests import RequestStats
from gpt_trader_core.monitor.system import SystemMetrics, SystemProbe, sample_system
from gpt_trader_core.monitor.telemetry import Telemetry
from gpt_trader_core.ports import Cache, EventBus, ExecutionStore, Executor, StateStore
from gpt_trader_core.services.health import HealthCheck, HealthReport, Probe, component_health

__all__ = [
    "ALERTS_TOPIC",
    "METRICS_TOPIC",
    "Monitoring",
    "MonitoringSnapshot",
    "snapshot_event_data",
]

log = logging.getLogger("gpt_trader.monitoring")

ALERTS_TOPIC = "alerts"
METRICS_TOPIC = "system:metrics"
#: the sleep a snapshot measures the loop lag over when no sampler runs in this process (a one-shot
#: ``status`` / ``monitor --once``): long enough to see the loop busy, short enough not to delay the answer
ONE_SHOT_LAG_WINDOW = 0.01


@attrs.frozen
class MonitoringSnapshot:
    """Everything monitoring knows at one moment. ``alerts`` are the alerts firing; ``collect_ms`` is
    how long collecting took. ``loop_lag_ms`` is the lag of this process's event loop: the sampler's
    latest (a server) or, without one, a measurement over ``ONE_SHOT_LAG_WINDOW`` taken while the
    snapshot's other parts run (a one-shot command); ``loop_lag_max_ms`` the largest kept."""

    time: dt.datetime
    system: SystemMetrics
    loop_lag_ms: float | None
    loop_lag_max_ms: float | None
    requests: RequestStats
    health: HealthReport
    executions: tuple[Execution, ...] = ()
    alerts: tuple[Alert, ...] = ()
    collect_ms: float = 0.0

    def values(self) -> dict[str, float | None]:
        """The metric values alert rules refer to, by dotted name."""
        system, requests = self.system, self.requests
        return {
            "system.cpu_percent": system.cpu_percent,
            "system.memory_percent": system.memory_percent,
            "system.disk_percent": system.disk_percent,
            "system.process_rss_mb": system.process_rss_mb,
            "loop.lag_ms": self.loop_lag_ms,
            "loop.lag_max_ms": self.loop_lag_max_ms,
            "requests.count": float(requests.count),
            "requests.rate_per_s": requests.rate_per_s,
            "requests.error_rate_percent": requests.error_rate_percent,
            "requests.p50_ms": requests.p50_ms,
            "requests.p95_ms": requests.p95_ms,
            "requests.p99_ms": requests.p99_ms,
            "health.components_down": float(sum(not c.ok for c in self.health.components)),
        }


def _alert_data(alert: Alert) -> dict[str, Any]:
    data = attrs.asdict(alert)
    data["since"] = alert.since.isoformat()
    data["resolved_at"] = alert.resolved_at.isoformat() if alert.resolved_at else None
    return data


def snapshot_event_data(snapshot: MonitoringSnapshot) -> dict[str, Any]:
    """The snapshot as JSON-like data for the bus (executions have their own topics: left out)."""
    return {
        "time": snapshot.time.isoformat(),
        "system": attrs.asdict(snapshot.system),
        "loop_lag_ms": snapshot.loop_lag_ms,
        "loop_lag_max_ms": snapshot.loop_lag_max_ms,
        "requests": attrs.asdict(snapshot.requests),
        "health": {
            "status": snapshot.health.status,
            "components": [attrs.asdict(c) for c in snapshot.health.components],
        },
        "alerts": [_alert_data(a) for a in snapshot.alerts],
        "collect_ms": snapshot.collect_ms,
    }


class Monitoring:
    """Collects snapshots, evaluates alert rules, publishes changes and snapshots on the bus."""

    def __init__(
        self,
        *,
        telemetry: Telemetry,
        probe: SystemProbe,
        health: HealthCheck,
        executions: ExecutionStore | None = None,
        bus: EventBus | None = None,
        rules: Sequence[AlertRule] = DEFAULT_RULES,
        clock: Callable[[], float] = time.time,
        recent_executions: int = 10,
    ) -> None:
        self.telemetry = telemetry
        self._probe = probe
        self._health = health
        self._executions = executions
        self._bus = bus
        self._recent = recent_executions
        self.evaluator = AlertEvaluator(rules, clock=clock)
        registry = telemetry.registry
        self._gauges = {
            "cpu": registry.gauge("gpt_trader_system_cpu_percent", "Machine CPU utilisation (%)"),
            "memory": registry.gauge("gpt_trader_system_memory_percent", "Machine memory in use (%)"),
            "disk": registry.gauge("gpt_trader_system_disk_percent", "Data directory file system used (%)"),
            "rss": registry.gauge("gpt_trader_process_resident_memory_bytes", "Resident memory of this process"),
            "lag": registry.gauge("gpt_trader_event_loop_lag_seconds", "Latest event-loop lag"),
        }
        self._up = registry.gauge(
            "gpt_trader_component_up", "1 when the component answers its health probe", ("component",)
        )
        self._firing = registry.gauge("gpt_trader_alert_firing", "1 while the alert rule fires", ("rule", "severity"))

    @classmethod
    def for_components(
        cls,
        *,
        telemetry: Telemetry,
        probe: SystemProbe,
        state_store: StateStore | None = None,
        cache: Cache | None = None,
        executor: Executor | None = None,
        bus: EventBus | None = None,
        extra_probes: Mapping[str, Probe] | None = None,
        rules: Sequence[AlertRule] = DEFAULT_RULES,
    ) -> Monitoring:
        """Health probes for the components given (``component_health``); recent executions from
        ``state_store``."""
        health = component_health(state_store=state_store, cache=cache, executor=executor, extra=extra_probes)
        return cls(
            telemetry=telemetry,
            probe=probe,
            health=health,
            executions=state_store,
            bus=bus,
            rules=rules,
        )

    async def _loop_lag(self) -> tuple[float | None, float | None]:
        monitor = self.telemetry.loop_lag
        if not monitor.fresh(max_age=max(1.0, 5 * monitor.interval)):  # no sampler running: measure now, briefly
            await monitor.measure_once(window=min(monitor.interval, ONE_SHOT_LAG_WINDOW))
        last, worst = monitor.last, monitor.max
        return (None if last is None else last * 1000), (None if worst is None else worst * 1000)

    async def _recent_executions(self) -> tuple[Execution, ...]:
        if self._executions is None or self._recent < 1:
            return ()
        try:
            return tuple(await self._executions.list_executions(limit=self._recent))
        except Exception:  # the state store's health probe reports the failure; the snapshot goes on
            log.warning("monitoring: cannot list recent executions", exc_info=True)
            return ()

    async def collect(self) -> MonitoringSnapshot:
        """A snapshot (concurrently: system probe, loop lag, health, executions); ``alerts`` are the ones
        firing as of the last evaluation. Updates the registry's gauges."""
        started = time.perf_counter()
        system, (lag, lag_max), health, executions = await asyncio.gather(
            sample_system(self._probe), self._loop_lag(), self._health.check(), self._recent_executions()
        )
        snapshot = MonitoringSnapshot(
            time=utcnow(),
            system=system,
            loop_lag_ms=lag,
            loop_lag_max_ms=lag_max,
            requests=self.telemetry.requests.stats(),
            health=health,
            executions=executions,
            alerts=self.evaluator.firing,
            collect_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        self._record(snapshot)
        return snapshot

    def _record(self, snapshot: MonitoringSnapshot) -> None:
        system = snapshot.system
        readings = {
            "cpu": system.cpu_percent,
            "memory": system.memory_percent,
            "disk": system.disk_percent,
            "rss": None if system.process_rss_mb is None else system.process_rss_mb * 1024 * 1024,
            "lag": None if snapshot.loop_lag_ms is None else snapshot.loop_lag_ms / 1000,
        }
        for key, value in readings.items():
            if value is not None:
                self._gauges[key].set(value)
        for component in snapshot.health.components:
            self._up.labels(component=component.name).set(1.0 if component.ok else 0.0)

    def evaluate(self, snapshot: MonitoringSnapshot) -> tuple[MonitoringSnapshot, list[AlertChange]]:
        """Run the alert rules over the snapshot: the snapshot with the alerts now firing, and the changes."""
        changes = self.evaluator.evaluate(snapshot.values())
        firing = self.evaluator.firing
        names = {alert.rule for alert in firing}
        for rule in self.evaluator.rules:
            self._firing.labels(rule=rule.name, severity=rule.severity).set(1.0 if rule.name in names else 0.0)
        for change in changes:
            level = logging.WARNING if change.kind == "raised" else logging.INFO
            alert = change.alert
            log.log(level, "alert %s: %s [%s] %s", change.kind, alert.rule, alert.severity, alert.message)
        return attrs.evolve(snapshot, alerts=firing), changes

    async def publish(self, snapshot: MonitoringSnapshot, changes: Sequence[AlertChange]) -> None:
        """Alert changes on ``alerts``, then the snapshot on ``system:metrics`` (nothing without a bus)."""
        if self._bus is None:
            return
        for change in changes:
            await self._bus.publish(ALERTS_TOPIC, change.event_type, _alert_data(change.alert))
        await self._bus.publish(METRICS_TOPIC, "metrics_collected", snapshot_event_data(snapshot))

    async def tick(self) -> MonitoringSnapshot:
        """Collect, evaluate, publish, once."""
        snapshot, changes = self.evaluate(await self.collect())
        await self.publish(snapshot, changes)
        return snapshot

    async def run_forever(self, interval: float) -> None:
        """Tick every ``interval`` seconds (the first at once) until cancelled, sampling the event-loop lag
        in the background meanwhile."""
        if interval <= 0:
            raise ValueError(f"interval must be > 0, got {interval!r}")
        sampler = asyncio.create_task(self.telemetry.loop_lag.run(), name="loop-lag")
        try:
            while True:
                started = time.monotonic()
                await self.tick()
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        finally:
            sampler.cancel()
            await asyncio.wait([sampler])

    async def status(self) -> MonitoringSnapshot:
        """A one-shot snapshot whose ``alerts`` are the rules breached right now (``for_seconds`` cannot be
        waited for in one shot), or the firing alerts when a monitoring loop runs in this process."""
        snapshot = await self.collect()
        if self.evaluator.evaluations:
            return snapshot
        return attrs.evolve(snapshot, alerts=self.evaluator.breaches(snapshot.values()))
