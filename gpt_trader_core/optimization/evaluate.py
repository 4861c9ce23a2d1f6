"""Evaluating parameter sets: shared indicators, the fast engine path, statistics only.

``evaluate_batch`` is a module-level function of picklable arguments, so an Executor can ship it to
other processes or a Dask cluster; results are identical wherever it runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.engine import simulate
from gpt_trader_core.backtesting.stats import StatsContext, stats_with
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.indicators.cache import IndicatorCache
from gpt_trader_core.strategy.base import Strategy


def evaluate_params(
    bars: Bars,
    strategy: type[Strategy],
    params: Mapping[str, Any],
    config: BacktestConfig,
    cache: IndicatorCache,
    context: StatsContext,
) -> dict[str, Any]:
    """The statistics of one backtest (no ``BacktestResult``: optimisers only need the numbers)."""
    instance = strategy(**params)
    signals = instance.signals_cached(bars, cache)
    sim = simulate(bars.open, bars.high, bars.low, bars.close, signals.target, signals.warmup, config, signals.reentry)
    return stats_with(context, sim.equity, sim.trades, min(signals.warmup, len(bars) - 1))


def evaluate_batch(
    bars: Bars, strategy: type[Strategy], param_sets: Sequence[Mapping[str, Any]], config: BacktestConfig
) -> list[dict[str, Any]]:
    """Statistics for each parameter set, sharing indicators and the bars' statistics context."""
    cache = IndicatorCache()
    context = StatsContext(bars.timestamps, bars.close)
    return [evaluate_params(bars, strategy, params, config, cache, context) for params in param_sets]
