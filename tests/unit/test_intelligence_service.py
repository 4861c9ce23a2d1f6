"""The market-intelligence use case on in-memory adapters (what the drivers call)."""

from __future__ import annotations

import pytest

from adapters.executor.local import InlineExecutor
from adapters.market_data.synthetic import SyntheticMarketData
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.errors import DataSourceError, InvalidParameterError
from gpt_trader_core.ml.service import StrategySelection
from gpt_trader_core.regime import REGIMES
from gpt_trader_core.services.backtest import MarketHistory
from gpt_trader_core.services.intelligence import MarketIntelligence
from gpt_trader_core.strategy import REGISTRY


@pytest.fixture
async def service() -> MarketIntelligence:
    store = InMemoryStateStore()
    await store.open()
    return MarketIntelligence(
        MarketHistory(SyntheticMarketData(seed=2)),
        InlineExecutor(),
        StrategySelection(store, registry=REGISTRY),
        registry=REGISTRY,
    )


async def test_each_question_has_an_answer(service: MarketIntelligence) -> None:
    analysis = await service.analyze("AAPL")
    assert analysis.symbol == "AAPL" and 0 <= analysis.indicators.rsi_14 <= 100
    regime = await service.regime("AAPL")
    assert regime.current in REGIMES and len(regime.series) > 1000
    comparison = await service.compare("AAPL", ["sma_cross", "breakout", "momentum"], config={"commission": 0.001})
    assert len(comparison.rows) == 3
    portfolio = await service.portfolio(["AAPL", "MSFT", "SPY"], {"AAPL": 0.4, "MSFT": 0.3, "SPY": 0.3})
    assert portfolio.var_99 >= portfolio.var_95 > 0 and portfolio.cvar_99 >= portfolio.var_99
    recommendation = await service.recommend("AAPL")
    assert recommendation.source == "heuristic" and recommendation.ranking
    sizing = await service.size("AAPL", capital=10_000, method="volatility_target", target_vol=0.15)
    assert sizing.units >= 0 and sizing.steps


async def test_errors_are_clear(service: MarketIntelligence) -> None:
    with pytest.raises(DataSourceError):
        await service.analyze("not a symbol!")
    with pytest.raises(InvalidParameterError):
        await service.regime("AAPL", method="tea-leaves")
