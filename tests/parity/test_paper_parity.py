"""Replaying GOOG through the paper engine (replay feed + simulated broker) reproduces the
backtest's trades exactly — same bars, prices and sizes — for every built-in strategy."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import gpt_trader_core as gt
from adapters.broker.simulated import SimulatedBroker
from adapters.bus.memory import InMemoryEventBus
from adapters.feeds.factory import FeedFactory
from adapters.market_data.memory import InMemoryMarketData
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.fills import FillModel
from gpt_trader_core.services.sessions import SessionRequest, TradingSessions, round_trips
from gpt_trader_core.strategy import BUILTIN_STRATEGIES, REGISTRY

backtesting_test = pytest.importorskip("backtesting.test")


@pytest.fixture(scope="module")
def goog() -> gt.Bars:
    return gt.as_bars(backtesting_test.GOOG, "GOOG")


async def _paper(bars: gt.Bars, strategy: str, config: BacktestConfig) -> tuple[list[gt.Fill], object]:
    store = InMemoryStateStore()
    await store.open()
    sessions = TradingSessions(
        store,
        InMemoryEventBus(),
        REGISTRY,
        feeds=FeedFactory(InMemoryMarketData({"GOOG": bars})),
        brokers=lambda record: SimulatedBroker(record.capital, FillModel.from_config(BacktestConfig(**record.config))),
    )
    request = SessionRequest(
        strategy, ("GOOG",), capital=config.cash, feed={"kind": "replay"}, config=config, tier_aware=False
    )
    record = await sessions.run(request, asyncio.Event())
    return await store.list_fills(record.id), record


@pytest.mark.parametrize("strategy", sorted(cls.name for cls in BUILTIN_STRATEGIES))
@pytest.mark.parametrize("commission", [0.0, 0.002])
async def test_paper_replay_reproduces_the_backtest(goog: gt.Bars, strategy: str, commission: float) -> None:
    config = BacktestConfig(cash=10_000, commission=commission)
    backtest = gt.backtest(goog, strategy, cash=10_000, commission=commission)
    fills, record = await _paper(goog, strategy, config)
    paper = round_trips(fills)
    assert len(backtest.trades) > 3
    assert len(paper) == len(backtest.trades)
    np.testing.assert_array_equal(paper.entry_bar, [t.entry_bar for t in backtest.trades])
    np.testing.assert_array_equal(paper.exit_bar, [t.exit_bar for t in backtest.trades])
    np.testing.assert_array_equal(paper.size, [t.size for t in backtest.trades])
    np.testing.assert_array_equal(paper.entry_price, [t.entry_price for t in backtest.trades])
    np.testing.assert_array_equal(paper.exit_price, [t.exit_price for t in backtest.trades])
    np.testing.assert_allclose(paper.pnl, [t.pnl for t in backtest.trades], rtol=1e-12)
    assert record.equity == pytest.approx(backtest.equity[-1], rel=1e-12)
    assert record.last_bar == len(goog) - 1


@pytest.mark.parametrize("strategy", ["sma_cross", "breakout"])
async def test_paper_replay_reproduces_spread_and_slippage(goog: gt.Bars, strategy: str) -> None:
    config = BacktestConfig(cash=10_000, commission=0.002, spread=0.001, slippage=0.0005)
    backtest = gt.backtest(goog, strategy, cash=10_000, commission=0.002, spread=0.001, slippage=0.0005)
    fills, record = await _paper(goog, strategy, config)
    paper = round_trips(fills)
    assert len(paper) == len(backtest.trades) > 3
    np.testing.assert_array_equal(paper.entry_price, [t.entry_price for t in backtest.trades])
    np.testing.assert_array_equal(paper.exit_price, [t.exit_price for t in backtest.trades])
    np.testing.assert_array_equal(paper.size, [t.size for t in backtest.trades])
    assert record.equity == pytest.approx(backtest.equity[-1], rel=1e-12)
