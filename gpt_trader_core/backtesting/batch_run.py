"""Statistics of many parameter sets of one strategy on the same bars: batched where exact, one by
one otherwise, in chunks so that memory stays bounded whatever the number of parameter sets.

The batched path (indicators once per distinct window → a (k, n) target array → the batched fill
kernel → batched statistics) is taken when the strategy has batched signals (``batch_signals_for``)
and the configuration has no stops (``batch_supported``); its numbers equal the single-run engine's.
Everything else — stops, strategies without batched signals, a run whose account is ruined — goes
through ``engine.simulate`` and ``stats.stats_with`` per parameter set, transparently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gpt_trader_core.backtesting.batch import Scratch, batch_supported, simulate_batch
from gpt_trader_core.backtesting.batch_signals import batch_signals_for
from gpt_trader_core.backtesting.batch_stats import stats_batch
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.engine import simulate
from gpt_trader_core.backtesting.stats import StatsContext, stats_with
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.indicators.cache import IndicatorCache
from gpt_trader_core.strategy.base import Strategy

#: Bars × parameter sets simulated together at most: about 150 MB of temporaries at the peak
#: (a few float64 arrays of this many cells), whatever the size of the grid.
CHUNK_CELLS = 2_400_000


def chunk_rows(n_bars: int, cells: int = CHUNK_CELLS) -> int:
    """Parameter sets per chunk for bars of this length (at least 1)."""
    return max(1, cells // max(n_bars, 1))


def can_batch(strategy: type[Strategy], config: BacktestConfig) -> bool:
    """Whether ``evaluate_many`` takes the batched path for this strategy and configuration."""
    return batch_supported(config) and batch_signals_for(strategy) is not None


def evaluate_one(
    bars: Bars,
    strategy: type[Strategy],
    params: Mapping[str, Any],
    config: BacktestConfig,
    cache: IndicatorCache,
    context: StatsContext,
) -> dict[str, Any]:
    """The statistics of one backtest through the single-run engine."""
    signals = strategy(**params).signals_cached(bars, cache)
    sim = simulate(bars.open, bars.high, bars.low, bars.close, signals.target, signals.warmup, config, signals.reentry)
    return stats_with(context, sim.equity, sim.trades, min(signals.warmup, len(bars) - 1))


def evaluate_many(
    bars: Bars,
    strategy: type[Strategy],
    param_sets: Sequence[Mapping[str, Any]],
    config: BacktestConfig,
    cache: IndicatorCache | None = None,
    context: StatsContext | None = None,
    *,
    resolved: bool = False,
    scratch: Scratch | None = None,
) -> list[dict[str, Any]]:
    """Statistics for each parameter set, in order (see the module docstring). ``resolved``: the sets
    are complete and already checked (a ``SearchSpace`` made them), so they are not resolved again.
    ``scratch``: work arrays to reuse (one caller thread at a time), else fresh ones for this call."""
    cache = cache or IndicatorCache()
    context = context or StatsContext(bars.timestamps, bars.close)
    resolved_sets = list(param_sets) if resolved else [strategy.resolve(p) for p in param_sets]
    batch = batch_signals_for(strategy) if batch_supported(config) else None
    if batch is None:
        return [evaluate_one(bars, strategy, p, config, cache, context) for p in resolved_sets]
    size = chunk_rows(len(bars))
    scratch = scratch or Scratch()
    out: list[dict[str, Any]] = []
    for i in range(0, len(resolved_sets), size):
        chunk = resolved_sets[i : i + size]
        signals = batch(bars, chunk, cache)
        sim = simulate_batch(bars.open, bars.close, signals, config)
        del signals
        healthy = np.flatnonzero(~sim.ruined)
        first_bar = np.minimum(np.asarray(sim.start) - 1, len(bars) - 1)
        if len(healthy) == len(chunk):
            stats = stats_batch(context, sim.curves, sim.trades, first_bar, scratch)
        else:
            stats = [dict[str, Any]() for _ in chunk]
            if len(healthy):
                good = stats_batch(
                    context, sim.curves.take(healthy), sim.trades.take(healthy), first_bar[healthy], scratch
                )
                for row, s in zip(healthy.tolist(), good, strict=True):
                    stats[row] = s
            for row in np.flatnonzero(sim.ruined).tolist():
                stats[row] = evaluate_one(bars, strategy, chunk[row], config, cache, context)
        out.extend(stats)
    return out
