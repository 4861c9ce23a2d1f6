"""The backtest use case shared by the Python API, the CLI, REST and WebSocket drivers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.runner import run_backtest
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.results import BacktestResult
from gpt_trader_core.ports import MarketData
from gpt_trader_core.strategy.base import Strategy
from gpt_trader_core.strategy.registry import StrategyRegistry


@attrs.frozen
class BacktestRequest:
    """Backtest ``strategy(**params)`` on ``symbol`` between ``start`` and ``end``."""

    symbol: str
    strategy: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    timeframe: str = "1d"
    config: BacktestConfig = attrs.field(factory=BacktestConfig)


class Backtester:
    """Runs backtests: on bars the caller has (``run_on``) or on a symbol from the market-data port."""

    def __init__(self, market_data: MarketData, registry: StrategyRegistry) -> None:
        self._market_data = market_data
        self._registry = registry

    def strategy(self, name: str, params: Mapping[str, Any]) -> Strategy:
        return self._registry.create(name, **params)

    def run_on(self, bars: Bars, strategy: Strategy, config: BacktestConfig) -> BacktestResult:
        return run_backtest(bars, strategy, config)

    def load(self, request: BacktestRequest) -> Bars:
        return self._market_data.history(request.symbol, request.start, request.end, request.timeframe)

    def run(self, request: BacktestRequest) -> BacktestResult:
        """Validate the strategy first (cheap), then load the data and run."""
        strategy = self.strategy(request.strategy, request.params)
        return self.run_on(self.load(request), strategy, request.config)
