"""``real_time_monitoring``: collect → evaluate alert rules → publish, then again every ``interval``
seconds until ``duration`` seconds have passed since the first collection.

The engine runs a DAG, which cannot loop, so the first round is three visible steps and the rounds
after it are one ``repeat`` step (each of its rounds is the same collect → evaluate → publish):

- ``collect``: a monitoring snapshot (system metrics, loop lag, request statistics, component health,
  recent executions);
- ``evaluate``: the alert rules over it (alerts raise and resolve once: the evaluator is the
  ``Monitoring``'s own, shared with the server's monitoring loop);
- ``publish``: alert changes on ``alerts``, the snapshot on ``system:metrics``;
- ``repeat``: rounds at ``interval``, ``2·interval`` ... ≤ ``duration`` seconds after the first (none
  when ``duration < interval``); cancelling the execution stops it between or during rounds.

Report: ``rounds``, the alerts ``raised`` / ``resolved`` / still ``firing`` (rule names), the ``peak``
of the main readings over the rounds, and the ``last`` snapshot (as published).

Register it with the other workflows: ``Workflows(..., extra=[real_time_monitoring(monitoring)])``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import attrs

from gpt_trader_core.monitor.alerts import AlertChange
from gpt_trader_core.services.monitoring import Monitoring, MonitoringSnapshot, snapshot_event_data
from gpt_trader_core.strategy.base import Param
from gpt_trader_core.workflows.definition import Step, WorkflowContext, WorkflowDefinition

__all__ = ["NAME", "real_time_monitoring"]

NAME = "real_time_monitoring"

#: Readings whose maximum over the rounds the report shows.
PEAKS = ("system.cpu_percent", "system.memory_percent", "system.disk_percent", "loop.lag_ms", "requests.p95_ms")


@attrs.frozen
class _Collected:
    started: float
    snapshot: MonitoringSnapshot


@attrs.define
class _Tally:
    rounds: int = 0
    raised: list[str] = attrs.field(factory=list)
    resolved: list[str] = attrs.field(factory=list)
    peak: dict[str, float] = attrs.field(factory=dict)
    last: MonitoringSnapshot | None = None

    def add(self, snapshot: MonitoringSnapshot, changes: list[AlertChange]) -> None:
        self.rounds += 1
        self.last = snapshot
        for change in changes:
            (self.raised if change.kind == "raised" else self.resolved).append(change.alert.rule)
        values = snapshot.values()
        for key in PEAKS:
            value = values.get(key)
            if value is not None:
                self.peak[key] = max(value, self.peak.get(key, value))


def real_time_monitoring(monitoring: Monitoring, *, clock: Callable[[], float] = time.monotonic) -> WorkflowDefinition:
    """The ``real_time_monitoring`` workflow over ``monitoring`` (see the module docstring)."""

    async def collect(ctx: WorkflowContext) -> _Collected:
        started = clock()
        return _Collected(started, await monitoring.collect())

    async def evaluate(ctx: WorkflowContext) -> tuple[MonitoringSnapshot, list[AlertChange]]:
        return monitoring.evaluate(ctx["collect"].snapshot)

    async def publish(ctx: WorkflowContext) -> _Tally:
        snapshot, changes = ctx["evaluate"]
        await monitoring.publish(snapshot, changes)
        tally = _Tally()
        tally.add(snapshot, changes)
        return tally

    async def repeat(ctx: WorkflowContext) -> _Tally:
        tally: _Tally = ctx["publish"]
        started: float = ctx["collect"].started
        interval, duration = ctx.params["interval"], ctx.params["duration"]
        round_ = 1
        while round_ * interval <= duration and not ctx.cancel.cancelled:
            await asyncio.sleep(max(0.0, started + round_ * interval - clock()))
            snapshot, changes = monitoring.evaluate(await monitoring.collect())
            await monitoring.publish(snapshot, changes)
            tally.add(snapshot, changes)
            round_ += 1
        return tally

    def report(ctx: WorkflowContext) -> dict[str, Any]:
        tally: _Tally = ctx["repeat"]
        last = tally.last
        return {
            "rounds": tally.rounds,
            "interval_s": ctx.params["interval"],
            "duration_s": ctx.params["duration"],
            "raised": tally.raised,
            "resolved": tally.resolved,
            "firing": [alert.rule for alert in monitoring.evaluator.firing],
            "peak": tally.peak,
            "last": snapshot_event_data(last) if last is not None else None,
        }

    return WorkflowDefinition(
        name=NAME,
        description="Collect system metrics and health, evaluate the alert rules and publish, every N seconds",
        params=(
            Param("interval", float, 5.0, 0.05, 3600.0, "Seconds between two rounds"),
            Param("duration", float, 60.0, 0.0, 7 * 86_400.0, "Seconds to keep monitoring after the first round"),
        ),
        steps=(
            Step("collect", collect, timeout=30.0, description="snapshot: system, loop lag, requests, health"),
            Step("evaluate", evaluate, depends_on="collect", description="evaluate the alert rules"),
            Step("publish", publish, depends_on="evaluate", description="publish alert changes and the snapshot"),
            Step("repeat", repeat, depends_on="publish", description="the same rounds every interval until duration"),
        ),
        report=report,
    )
