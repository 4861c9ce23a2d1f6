"""Evaluating parameter sets: batched simulation where exact, the single-run engine otherwise.

``evaluate_batch`` is a module-level function of picklable arguments, so an Executor can ship a
chunk of parameter sets to other processes or a Dask cluster; results are identical wherever it runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gpt_trader_core.backtesting.batch_run import evaluate_many, evaluate_one
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.stats import StatsContext
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
    return evaluate_one(bars, strategy, params, config, cache, context)


def evaluate_batch(
    bars: Bars, strategy: type[Strategy], param_sets: Sequence[Mapping[str, Any]], config: BacktestConfig
) -> list[dict[str, Any]]:
    """Statistics for each parameter set, sharing indicators and the bars' statistics context;
    batched (``backtesting.batch_run``) when the strategy and configuration allow it."""
    return evaluate_many(bars, strategy, param_sets, config)
