"""Market-intelligence use cases (analysis, regimes, strategy comparison, portfolio risk, strategy
recommendation, position sizing) on symbols from the market-data port, CPU work on the Executor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from gpt_trader_core.analysis import (
    IndicatorSeries,
    MarketAnalysis,
    PortfolioAnalysis,
    StrategyComparison,
    analyze,
    analyze_portfolio,
    compare_strategies,
    indicator_series,
)
from gpt_trader_core.ml import StrategyRecommendation, predict
from gpt_trader_core.ml.service import StrategySelection
from gpt_trader_core.ports import Executor
from gpt_trader_core.regime import RegimeAnalysis, RegimeThresholds, detect_regime
from gpt_trader_core.services.backtest import MarketHistory
from gpt_trader_core.sizing import SizingDecision, size_position
from gpt_trader_core.strategy.registry import StrategyRegistry


def _compare(
    bars: Any, strategies: Sequence[Any], rank_by: str, config: Mapping[str, Any], registry: StrategyRegistry
) -> StrategyComparison:
    return compare_strategies(bars, strategies, registry=registry, rank_by=rank_by, **config)


def _regime(bars: Any, thresholds: RegimeThresholds | None, method: str) -> RegimeAnalysis:
    return detect_regime(bars, thresholds, method=method)


class MarketIntelligence:
    """One entry point per question a trader asks about a symbol or a portfolio; ``registry`` resolves
    the strategies that ``compare`` is given by name."""

    def __init__(
        self,
        history: MarketHistory,
        executor: Executor,
        selection: StrategySelection | None = None,
        *,
        registry: StrategyRegistry,
    ) -> None:
        self._history = history
        self._executor = executor
        self._selection = selection
        self._registry = registry

    async def analyze(
        self, symbol: str, start: dt.datetime | None = None, end: dt.datetime | None = None, timeframe: str = "1d"
    ) -> MarketAnalysis:
        bars = await self._history.get(symbol, start, end, timeframe)
        return await self._executor.run(analyze, bars)

    async def indicators(
        self, symbol: str, start: dt.datetime | None = None, end: dt.datetime | None = None, timeframe: str = "1d"
    ) -> IndicatorSeries:
        """Per-bar indicators of ``symbol`` for a price chart (``analyze`` gives the latest values)."""
        bars = await self._history.get(symbol, start, end, timeframe)
        return await self._executor.run(indicator_series, bars)

    async def regime(
        self,
        symbol: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        timeframe: str = "1d",
        *,
        method: str = "rules",
        thresholds: RegimeThresholds | None = None,
    ) -> RegimeAnalysis:
        bars = await self._history.get(symbol, start, end, timeframe)
        return await self._executor.run(_regime, bars, thresholds, method)

    async def compare(
        self,
        symbol: str,
        strategies: Sequence[Any],
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        timeframe: str = "1d",
        *,
        rank_by: str = "sharpe_ratio",
        config: Mapping[str, Any] | None = None,
    ) -> StrategyComparison:
        bars = await self._history.get(symbol, start, end, timeframe)
        return await self._executor.run(_compare, bars, list(strategies), rank_by, dict(config or {}), self._registry)

    async def portfolio(
        self,
        symbols: Sequence[str],
        weights: Mapping[str, float] | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        timeframe: str = "1d",
        benchmark: str | None = None,
    ) -> PortfolioAnalysis:
        prices = {s: await self._history.get(s, start, end, timeframe) for s in symbols}
        bench = await self._history.get(benchmark, start, end, timeframe) if benchmark else None
        return analyze_portfolio(prices, weights, benchmark=bench)

    async def recommend(
        self,
        symbol: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        timeframe: str = "1d",
        *,
        model: str | None = None,
    ) -> StrategyRecommendation:
        bars = await self._history.get(symbol, start, end, timeframe)
        if model is not None and self._selection is not None:
            return await self._selection.recommend(bars, model)
        return await self._executor.run(predict, None, bars)

    async def size(self, symbol: str, **options: Any) -> SizingDecision:
        """``size_position`` with the symbol's latest close as the price (and its bars for volatility)."""
        bars = await self._history.get(symbol, None, None, "1d")
        options.setdefault("price", float(bars.close[-1]))
        if options.get("method") == "volatility_target":
            options.setdefault("bars", bars)
        return size_position(**options)
