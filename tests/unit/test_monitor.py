"""Monitoring: metric values, percentiles, request windows, loop lag, alert rules and the
``Monitoring`` use case on real in-memory adapters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.bus.memory import InMemoryEventBus
from adapters.executor.local import InlineExecutor
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.records import Execution, ExecutionStatus
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.monitor import (
    DEFAULT_RULES,
    AlertEvaluator,
    AlertRule,
    LoopLagMonitor,
    MetricsRegistry,
    RequestTracker,
    SystemProbe,
    Telemetry,
    percentile,
)
from gpt_trader_core.services.monitoring import ALERTS_TOPIC, METRICS_TOPIC, Monitoring
from tests.unit.test_prometheus_exposition import parse_prometheus, prometheus_text, sample


def test_the_registry_refuses_bad_names_and_conflicting_registrations() -> None:
    registry = MetricsRegistry()
    with pytest.raises(ValueError, match="invalid metric name"):
        registry.counter("1st", "x")
    with pytest.raises(ValueError, match="invalid label name"):
        registry.histogram("h", "x", ("le",))
    counter = registry.counter("requests_total", "x", ("method",))
    assert registry.counter("requests_total", "x", ("method",)) is counter  # shared between components
    with pytest.raises(ValueError, match="already registered"):
        registry.gauge("requests_total", "x", ("method",))
    with pytest.raises(ValueError, match="missing label"):
        counter.labels()
    with pytest.raises(ValueError, match="unknown labels"):
        counter.labels(method="GET", path="/")
    with pytest.raises(ValueError, match="only goes up"):
        counter.labels(method="GET").inc(-1)
    assert registry.snapshot()["requests_total"] == {
        "type": "counter",
        "help": "x",
        "samples": [{"labels": {"method": "GET"}, "value": 0.0}],  # created by labels(), never incremented
    }


def test_json_snapshot_of_a_histogram() -> None:
    registry = MetricsRegistry()
    histogram = registry.histogram("d", "durations", buckets=(0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(value)
    assert registry.snapshot()["d"]["samples"] == [
        {"labels": {}, "count": 4, "sum": 3.65, "buckets": {"0.1": 2, "1.0": 3, "+Inf": 4}}
    ]


# --------------------------------------------------------------------------- percentiles and windows

finite = st.floats(-1e9, 1e9)


@given(st.lists(finite, min_size=1, max_size=60), st.floats(0, 100))
def test_percentile_matches_numpy_linear_and_stays_within_the_data(values: list[float], q: float) -> None:
    result = percentile(values, q)
    assert min(values) <= result <= max(values)
    assert result == pytest.approx(float(np.percentile(values, q)), rel=1e-9, abs=1e-6)


@given(st.lists(finite, min_size=1, max_size=60), st.floats(0, 100), st.floats(0, 100))
def test_percentile_is_monotonic_in_q(values: list[float], q1: float, q2: float) -> None:
    low, high = sorted((q1, q2))
    assert percentile(values, low) <= percentile(values, high)


@given(st.lists(finite, min_size=1, max_size=60))
def test_percentile_extremes_are_min_and_max(values: list[float]) -> None:
    assert percentile(values, 0) == min(values) and percentile(values, 100) == max(values)


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_request_window_rates_errors_and_percentiles() -> None:
    clock = FakeClock(0.0)
    registry = MetricsRegistry()
    tracker = RequestTracker(registry, window_s=60.0, clock=clock)
    assert tracker.stats().p95_ms is None and tracker.stats().error_rate_percent == 0.0
    clock.advance(100)
    for i in range(100):
        tracker.observe("GET", "/x", 500 if i % 10 == 0 else 200, (i + 1) / 1000)
    stats = tracker.stats()
    assert (stats.count, stats.errors, stats.error_rate_percent) == (100, 10, 10.0)
    assert stats.rate_per_s == pytest.approx(100 / 60)
    assert stats.p50_ms == pytest.approx(50.5) and stats.p99_ms == pytest.approx(99.01)
    clock.advance(61)  # everything leaves the window; the counters keep counting
    assert tracker.stats().count == 0 and tracker.stats().total == 100
    parsed = parse_prometheus(prometheus_text(registry))
    assert sample(parsed["gpt_trader_http_requests_total"], method="GET", route="/x", status="500") == 10
    assert sample(parsed["gpt_trader_http_request_errors_total"], method="GET", route="/x") == 10


# --------------------------------------------------------------------------- loop lag


async def test_loop_lag_sees_a_blocked_loop() -> None:
    monitor = LoopLagMonitor(0.1)
    measuring = asyncio.create_task(monitor.measure_once())
    await asyncio.sleep(0)  # the measurement starts sleeping
    time.sleep(0.3)  # CPU work on the loop: the sleeper wakes ~0.2 s late
    lag = await measuring
    assert 0.15 <= lag < 0.6
    assert monitor.last == lag and monitor.max == lag and monitor.fresh(1.0)


async def test_an_idle_loop_has_almost_no_lag() -> None:
    monitor = LoopLagMonitor(0.02, keep=3)
    sampler = asyncio.create_task(monitor.run())
    await asyncio.sleep(0.15)
    sampler.cancel()
    await asyncio.wait([sampler])
    assert monitor.max is not None and monitor.max < 0.05


# --------------------------------------------------------------------------- alert rules


def test_an_alert_is_raised_once_and_resolved_once() -> None:
    evaluator = AlertEvaluator([AlertRule("hot", "cpu", ">", 80)], clock=FakeClock())
    assert evaluator.evaluate({"cpu": 50}) == []
    raised = evaluator.evaluate({"cpu": 90})
    assert [(c.kind, c.alert.rule, c.alert.value) for c in raised] == [("raised", "hot", 90)]
    assert evaluator.evaluate({"cpu": 95}) == [] and evaluator.evaluate({"cpu": 99}) == []
    assert [a.value for a in evaluator.firing] == [99]  # the firing alert follows the value
    resolved = evaluator.evaluate({"cpu": 10})
    assert [(c.kind, c.event_type, c.alert.value) for c in resolved] == [("resolved", "alert_resolved", 10)]
    assert resolved[0].alert.resolved_at is not None and evaluator.firing == ()
    assert evaluator.evaluate({"cpu": 10}) == []
    again = evaluator.evaluate({"cpu": 85})  # after resolution, a new breach raises again
    assert [c.kind for c in again] == ["raised"]


def test_for_seconds_debounces_with_an_injected_clock() -> None:
    clock = FakeClock()
    evaluator = AlertEvaluator([AlertRule("slow", "p95", ">", 1000, for_seconds=30)], clock=clock)
    assert evaluator.evaluate({"p95": 2000}) == []  # pending
    clock.advance(29)
    assert evaluator.evaluate({"p95": 2000}) == []
    clock.advance(1)
    [change] = evaluator.evaluate({"p95": 2000})
    assert change.kind == "raised" and change.alert.since.timestamp() == pytest.approx(clock.now - 30)
    clock.advance(5)
    assert [c.kind for c in evaluator.evaluate({"p95": 10})] == ["resolved"]
    # a breach that clears before for_seconds never fires, and restarts the wait
    assert evaluator.evaluate({"p95": 2000}) == []
    clock.advance(20)
    assert evaluator.evaluate({"p95": 10}) == []
    clock.advance(20)
    assert evaluator.evaluate({"p95": 2000}) == []
    clock.advance(29)
    assert evaluator.evaluate({"p95": 2000}) == []


def test_a_missing_value_resolves_and_never_raises() -> None:
    evaluator = AlertEvaluator([AlertRule("slow", "p95", ">", 1)], clock=FakeClock())
    assert evaluator.evaluate({}) == [] and evaluator.evaluate({"p95": None}) == []
    assert [c.kind for c in evaluator.evaluate({"p95": 5})] == ["raised"]
    assert [c.kind for c in evaluator.evaluate({"p95": None})] == ["resolved"]


def test_rules_are_validated_and_the_defaults_match_the_issue() -> None:
    with pytest.raises(InvalidParameterError, match="operator"):
        AlertRule("x", "m", "=>", 1)
    with pytest.raises(InvalidParameterError, match="severity"):
        AlertRule("x", "m", ">", 1, severity="panic")
    with pytest.raises(InvalidParameterError, match="for_seconds"):
        AlertRule("x", "m", ">", 1, for_seconds=-1)
    with pytest.raises(InvalidParameterError, match="unique"):
        AlertEvaluator([AlertRule("x", "m", ">", 1), AlertRule("x", "n", "<", 1)])
    defaults = {(r.metric, r.op, r.threshold) for r in DEFAULT_RULES}
    assert defaults == {
        ("system.cpu_percent", ">", 80),
        ("system.memory_percent", ">", 80),
        ("system.disk_percent", ">", 90),
        ("requests.error_rate_percent", ">", 5),
        ("requests.p95_ms", ">", 1000),
    }


# --------------------------------------------------------------------------- the use case


@attrs.define
class FakeProbe:
    cpu: float | None = 10.0
    memory: float | None = 40.0
    disk: float | None = 50.0
    rss: float | None = 120.0

    async def cpu_percent(self) -> float | None:
        return self.cpu

    async def memory_percent(self) -> float | None:
        return self.memory

    async def disk_percent(self) -> float | None:
        return self.disk

    async def process_rss_mb(self) -> float | None:
        return self.rss


async def _drain(subscription: Any) -> list[Any]:
    events = []
    while (event := await subscription.get(timeout=0.01)) is not None:
        events.append(event)
    return events


@pytest.fixture
async def store() -> Any:
    store = InMemoryStateStore()
    await store.open()
    yield store
    await store.close()


def _monitoring(
    store: Any, probe: FakeProbe, bus: InMemoryEventBus, rules: Sequence[AlertRule] = DEFAULT_RULES
) -> Monitoring:
    assert isinstance(probe, SystemProbe)
    return Monitoring.for_components(
        telemetry=Telemetry(), probe=probe, state_store=store, executor=InlineExecutor(), bus=bus, rules=rules
    )


async def test_ticks_publish_alert_changes_once_and_every_snapshot(store: Any) -> None:
    bus, probe = InMemoryEventBus(), FakeProbe(memory=95.0)
    alerts, metrics = bus.subscribe(ALERTS_TOPIC), bus.subscribe(METRICS_TOPIC)
    monitoring = _monitoring(store, probe, bus)
    first = await monitoring.tick()
    await monitoring.tick()
    assert [a.rule for a in first.alerts] == ["high_memory"]
    [raised] = await _drain(alerts)
    assert (raised.type, raised.data["rule"], raised.data["value"], raised.data["severity"]) == (
        "alert_raised",
        "high_memory",
        95.0,
        "warning",
    )
    probe.memory = 30.0
    calm = await monitoring.tick()
    assert calm.alerts == ()
    [resolved] = await _drain(alerts)
    assert resolved.type == "alert_resolved" and resolved.data["resolved_at"]
    published = await _drain(metrics)
    assert [e.type for e in published] == ["metrics_collected"] * 3
    assert (
        published[0].data["system"]["memory_percent"] == 95.0
        and published[0].data["alerts"][0]["rule"] == "high_memory"
    )
    text = prometheus_text(monitoring.telemetry.registry)
    parsed = parse_prometheus(text)
    assert sample(parsed["gpt_trader_system_memory_percent"]) == 30.0
    assert sample(parsed["gpt_trader_alert_firing"], rule="high_memory", severity="warning") == 0
    assert sample(parsed["gpt_trader_component_up"], component="state_store") == 1


async def test_a_snapshot_has_health_recent_executions_and_requests(store: Any) -> None:
    for i in range(3):
        await store.add_execution(
            Execution(id=f"ex{i}", kind="workflow", name=f"job {i}", status=ExecutionStatus.SUCCEEDED)
        )
    bus = InMemoryEventBus()
    monitoring = _monitoring(store, FakeProbe(cpu=None), bus)
    monitoring.telemetry.requests.observe("GET", "/api/v1/x", 200, 0.004)
    snapshot = await monitoring.collect()
    assert snapshot.health.ok and [c.name for c in snapshot.health.components] == ["state_store", "executor"]
    assert {e.id for e in snapshot.executions} == {"ex0", "ex1", "ex2"}
    assert snapshot.requests.count == 1 and snapshot.requests.p50_ms == pytest.approx(4.0)
    assert snapshot.system.cpu_percent is None and snapshot.loop_lag_ms is not None
    assert snapshot.values()["health.components_down"] == 0 and snapshot.collect_ms > 0
    await store.close()  # a broken store: reported by health, the snapshot still comes
    broken = await monitoring.collect()
    assert not broken.health.ok and broken.executions == ()


async def test_status_reports_breaches_now_without_publishing(store: Any) -> None:
    bus = InMemoryEventBus()
    rules = [AlertRule("hot", "system.cpu_percent", ">", 80, for_seconds=600)]
    monitoring = _monitoring(store, FakeProbe(cpu=99.0), bus, rules)
    status = await monitoring.status()
    assert [a.rule for a in status.alerts] == ["hot"] and bus.published == 0


async def test_run_forever_ticks_until_cancelled(store: Any) -> None:
    bus = InMemoryEventBus()
    metrics = bus.subscribe(METRICS_TOPIC)
    monitoring = _monitoring(store, FakeProbe(), bus)
    running = asyncio.create_task(monitoring.run_forever(0.05))
    first = await asyncio.wait_for(metrics.get(), 2)
    second = await asyncio.wait_for(metrics.get(), 2)
    assert first is not None and second is not None and second.seq == first.seq + 1
    running.cancel()
    await asyncio.wait([running])
    assert running.cancelled()
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "loop-lag" and not t.done()]
    with pytest.raises(ValueError):
        await monitoring.run_forever(0)


# --------------------------------------------------------------------------- the workflow


async def test_real_time_monitoring_workflow_runs_rounds_and_reports(store: Any) -> None:
    from gpt_trader_core.workflows import WorkflowEngine
    from gpt_trader_core.workflows.monitoring import real_time_monitoring

    bus, probe = InMemoryEventBus(), FakeProbe(memory=90.0)
    alerts, metrics = bus.subscribe(ALERTS_TOPIC), bus.subscribe(METRICS_TOPIC)
    definition = real_time_monitoring(_monitoring(store, probe, bus))
    assert [s.name for s in definition.steps] == ["collect", "evaluate", "publish", "repeat"]
    engine = WorkflowEngine(store, bus, poll_interval=0.05)
    execution = await engine.run(definition, {"interval": 0.05, "duration": 0.12})
    assert execution.status is ExecutionStatus.SUCCEEDED, execution.error
    report = execution.result["report"]  # type: ignore[index]
    assert report["rounds"] == 3 and report["raised"] == ["high_memory"] and report["firing"] == ["high_memory"]
    assert report["peak"]["system.memory_percent"] == 90.0 and report["last"]["system"]["memory_percent"] == 90.0
    assert [e.type for e in await _drain(alerts)] == ["alert_raised"]  # once, not once per round
    assert len(await _drain(metrics)) == 3
    with pytest.raises(InvalidParameterError):
        definition.resolve({"interval": 0})


def test_positional_child_is_the_labelled_child() -> None:
    registry = MetricsRegistry()
    family = registry.counter("hits_total", "hits", ("method", "status"))
    family.child("GET", "200").inc()
    family.labels(method="GET", status=200).inc()
    assert family.child("GET", "200") is family.labels(status="200", method="GET")
    assert family.snapshot()["samples"] == [{"labels": {"method": "GET", "status": "200"}, "value": 2.0}]
    with pytest.raises(ValueError, match="label values"):
        family.child("GET")
