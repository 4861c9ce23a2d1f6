"""Event-loop lag in a one-shot snapshot (``status``, ``monitor --once``): measured over a short window
when no sampler runs in the process; a running sampler's figures are used as before."""

from __future__ import annotations

import asyncio
import time

import pytest

from gpt_trader_core.monitor import LoopLagMonitor, Telemetry
from gpt_trader_core.services.health import component_health
from gpt_trader_core.services.monitoring import ONE_SHOT_LAG_WINDOW, Monitoring


class _NoProbe:
    async def cpu_percent(self) -> float | None:
        return None

    async def memory_percent(self) -> float | None:
        return None

    async def disk_percent(self) -> float | None:
        return None

    async def process_rss_mb(self) -> float | None:
        return None


class _Recording(LoopLagMonitor):
    """A lag monitor that records the window of every measurement."""

    def __init__(self, interval: float) -> None:
        super().__init__(interval)
        self.windows: list[float] = []

    async def measure_once(self, window: float | None = None) -> float:
        self.windows.append(self.interval if window is None else window)
        return await super().measure_once(window)


def _monitoring(lag: LoopLagMonitor) -> Monitoring:
    telemetry = Telemetry()
    telemetry.loop_lag = lag
    return Monitoring(telemetry=telemetry, probe=_NoProbe(), health=component_health())


async def test_a_short_window_still_sees_a_blocked_loop() -> None:
    monitor = LoopLagMonitor(1.0)
    measuring = asyncio.create_task(monitor.measure_once(window=0.01))
    await asyncio.sleep(0)  # the measurement starts sleeping
    time.sleep(0.1)  # the loop is blocked ~0.09 s past the window
    lag = await measuring
    assert 0.07 <= lag < 0.5 and monitor.last == lag
    with pytest.raises(ValueError, match="window"):
        await monitor.measure_once(window=0)


async def test_a_snapshot_without_a_sampler_measures_briefly() -> None:
    lag = _Recording(interval=1.0)  # the sampler's interval: a one-shot must not wait that long
    monitoring = _monitoring(lag)
    started = time.perf_counter()
    snapshot = await monitoring.collect()
    assert time.perf_counter() - started < 0.5
    assert lag.windows == [ONE_SHOT_LAG_WINDOW]
    assert snapshot.loop_lag_ms is not None and snapshot.loop_lag_ms >= 0


async def test_a_snapshot_with_a_running_sampler_reads_the_sampler() -> None:
    lag = _Recording(interval=0.02)
    monitoring = _monitoring(lag)
    sampler = asyncio.create_task(lag.run())
    try:
        while not lag.fresh(1.0):
            await asyncio.sleep(0.01)
        snapshot = await monitoring.collect()
    finally:
        sampler.cancel()
        await asyncio.wait([sampler])
    assert set(lag.windows) == {0.02}  # only the sampler measured, over its own interval
    assert snapshot.loop_lag_ms is not None
