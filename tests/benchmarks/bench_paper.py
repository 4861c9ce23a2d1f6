"""Benchmark: paper-trading replay throughput (bars per second) and bar → fill-event latency, and
the cost per bar of short against long sessions (it must stay flat: strategies stream the newest
bar's target in O(window) instead of recomputing the whole history).

Run on demand:  python tests/benchmarks/bench_paper.py [--long 100000]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import Any

from adapters.broker.simulated import SimulatedBroker
from adapters.bus.memory import InMemoryEventBus
from adapters.feeds.factory import FeedFactory
from adapters.market_data.memory import InMemoryMarketData
from adapters.state.memory import InMemoryStateStore
from adapters.state.sqlite import SqliteStateStore
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.fills import FillModel
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.records import SessionRecord
from gpt_trader_core.services.sessions import SessionRequest, TradingSessions
from gpt_trader_core.strategy import REGISTRY


async def replay(bars: Bars, strategy: str, store: Any, symbol: str = "GOOG") -> tuple[float, list[float], int]:
    await store.open()
    engines = []

    feeds = FeedFactory(InMemoryMarketData({symbol: bars}))

    def brokers(record: SessionRecord) -> SimulatedBroker:
        return SimulatedBroker(record.capital, FillModel(commission=0.002))

    sessions = TradingSessions(store, InMemoryEventBus(), REGISTRY, feeds, brokers)
    original = sessions._engine

    def capture(record: SessionRecord) -> Any:
        engine = original(record)
        engines.append(engine)
        return engine

    sessions._engine = capture  # type: ignore[method-assign]
    request = SessionRequest(
        strategy,
        (symbol,),
        capital=10_000,
        feed={"kind": "replay"},
        config=BacktestConfig(commission=0.002),
        tier_aware=False,
    )
    t0 = time.perf_counter()
    await sessions.run(request, asyncio.Event())
    elapsed = time.perf_counter() - t0
    await store.close()
    return elapsed, engines[0].latencies, len(bars)


def main(long_bars: int = 100_000) -> None:
    import tempfile

    from backtesting.test import GOOG

    import gpt_trader_core as gt

    bars = gt.as_bars(GOOG, "GOOG")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"paper replay of GOOG ({len(bars)} daily bars), simulated broker, commission 0.002; load average {load}")
    asyncio.run(replay(bars, "sma_cross", InMemoryStateStore()))  # warm-up: first-use imports are not per-bar cost
    for strategy in ("sma_cross", "momentum", "breakout"):
        for label, store in (
            ("memory store", InMemoryStateStore()),
            ("SQLite file ", SqliteStateStore(tempfile.mktemp(suffix=".db"))),
        ):
            elapsed, latencies, n = asyncio.run(replay(bars, strategy, store))
            p50 = statistics.median(latencies) if latencies else float("nan")
            p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 20 else float("nan")
            print(
                f"  {strategy:<10} {label}: {n / elapsed:8.0f} bars/s   bar→fill event p50 {p50:6.2f} ms "
                f"p95 {p95:6.2f} ms ({len(latencies)} fills)"
            )

    print("cost per bar against session length (SYNTHETIC 1m bars, memory store)")
    for strategy in ("sma_cross", "momentum", "mean_reversion", "volatility", "breakout"):
        cells = []
        for n in (1_000, 10_000, long_bars):
            bars = gt.synthetic("SYN", "2024-01-01", "2025-12-31", timeframe="1m", seed=1).slice(0, n)
            elapsed, _, n = asyncio.run(replay(bars, strategy, InMemoryStateStore(), "SYN"))
            cells.append(f"{n:>7,} bars {elapsed / n * 1e6:6.1f} µs/bar ({n / elapsed:6.0f} bars/s)")
        print(f"  {strategy:<14} " + "   ".join(cells))


if __name__ == "__main__":
    from _options import Opt, parse  # tests/benchmarks/_options.py: the scripts run from this folder

    args = parse(
        "bench_paper",
        __doc__.split("\n\n")[0] if __doc__ else "",
        [Opt("long", int, 100_000, "Bars of the longest session in the cost-per-bar table (default 100,000)")],
    )
    main(args.long)
