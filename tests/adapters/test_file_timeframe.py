"""Issue 11.18: a file's bars keep their own timeframe unless another one is asked for."""

from __future__ import annotations

import asyncio
from pathlib import Path

import gpt_trader_core as gt
from adapters.broker.factory import SimulatedBrokerFactory
from adapters.bus.memory import InMemoryEventBus
from adapters.feeds.factory import FeedFactory
from adapters.market_data import CsvMarketData, InMemoryMarketData, SyntheticMarketData
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.specs import FeedSpec
from gpt_trader_core.services.backtest import BacktestRequest, MarketHistory
from gpt_trader_core.services.sessions import SessionRequest, TradingSessions
from gpt_trader_core.strategy import REGISTRY

HOURLY = gt.synthetic("HRLY", "2024-01-01", "2024-03-01", "1h", seed=2)


def hourly_csv(directory: Path) -> Path:
    lines = ["datetime,open,high,low,close,volume"] + [
        f"{HOURLY.timestamps[i].astype('datetime64[s]')!s},{HOURLY.open[i]:.6f},{HOURLY.high[i]:.6f},"
        f"{HOURLY.low[i]:.6f},{HOURLY.close[i]:.6f},{HOURLY.volume[i]:.0f}"
        for i in range(len(HOURLY))
    ]
    path = directory / "HRLY.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_file_keeps_its_timeframe_unless_asked(tmp_path: Path) -> None:
    hourly_csv(tmp_path)
    source = CsvMarketData(tmp_path)
    assert source.history("HRLY").timeframe == "1h" and len(source.history("HRLY")) == len(HOURLY)
    assert source.history("HRLY", timeframe="1d").timeframe == "1d"  # asked for: aggregated
    assert InMemoryMarketData([HOURLY]).history("HRLY").timeframe == "1h"
    assert SyntheticMarketData().history("AAPL", "2024-01-01", "2024-02-01").timeframe == "1d"


def test_backtest_and_replay_default_to_the_files_timeframe(tmp_path: Path) -> None:
    hourly_csv(tmp_path)
    assert BacktestRequest("HRLY", "sma_cross").timeframe is None
    bars = asyncio.run(MarketHistory(CsvMarketData(tmp_path)).get("HRLY", None, None))
    assert bars.timeframe == "1h"

    async def replay() -> FeedSpec:
        store = InMemoryStateStore()
        await store.open()
        sessions = TradingSessions(
            store, InMemoryEventBus(), REGISTRY, FeedFactory(CsvMarketData(tmp_path)), SimulatedBrokerFactory()
        )
        record = await sessions.run(
            SessionRequest("sma_cross", ("HRLY",), feed=FeedSpec("replay"), tier_aware=False), asyncio.Event()
        )
        assert record.last_bar == len(HOURLY) - 1
        return record.feed

    assert asyncio.run(replay()).timeframe == "1h"
