"""Batched signals of the built-in strategies: many parameter sets in one pass.

Each indicator is computed once per distinct window (through the shared ``IndicatorCache``, with the
same keys and functions as ``signals``), then the targets of all parameter sets are formed as one
(k, n) array with the same element-wise expressions as the strategy's ``signals`` — so row ``i`` is
bit-for-bit ``cls(**params[i]).signals(bars)``. The table is keyed by exact class: a subclass that
overrides ``signals`` is not batched by its parent's rule. Any other strategy opts in with a
``batch_signals`` classmethod (see ``BatchSignals``); the rest run one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from gpt_trader_core.backtesting.batch import BatchSignals, SparseTargets
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.indicators import bollinger, rolling_std, sma
from gpt_trader_core.indicators.cache import IndicatorCache
from gpt_trader_core.strategy.base import Strategy
from gpt_trader_core.strategy.builtin import (
    Breakout,
    MeanReversion,
    Momentum,
    SmaCross,
    VolatilityFilter,
    _previous_channel,
    _rate_of_change,
    _simple_returns,
)

BatchFn = Callable[[Bars, Sequence[Mapping[str, Any]], IndicatorCache], BatchSignals]


def _column(params: Sequence[Mapping[str, Any]], name: str, dtype: Any = np.int64) -> np.ndarray:
    return np.array([p[name] for p in params], dtype=dtype)


def _rows(cache: IndicatorCache, keys: Sequence[Any], compute: Callable[[Any], np.ndarray]) -> np.ndarray:
    """One row per parameter set, each from the cache (computed once per distinct key)."""
    distinct = list(dict.fromkeys(keys))
    stack = np.stack([compute(key) for key in distinct])
    where = {key: i for i, key in enumerate(distinct)}
    return stack[[where[key] for key in keys]]


def _exact_mean(close: np.ndarray, i: int, n: int, memo: dict[tuple[int, int], Fraction]) -> Fraction:
    """The mean of the ``n`` closes up to ``i`` on the quoted decimals (``sma_comparison``'s rule),
    memoised: the same window recurs in many parameter sets."""
    key = (n, i)
    if key not in memo:
        memo[key] = sum((Fraction(repr(v)) for v in close[i - n + 1 : i + 1].tolist()), Fraction(0)) / n
    return memo[key]


def sma_cross(bars: Bars, params: Sequence[Mapping[str, Any]], cache: IndicatorCache) -> BatchSignals:
    close = bars.close
    fast_n, slow_n = _column(params, "fast"), _column(params, "slow")

    def average(window: int) -> np.ndarray:
        return cache.get(("sma", window), lambda: sma(close, window))

    fast = _rows(cache, fast_n.tolist(), average)
    slow = _rows(cache, slow_n.tolist(), average)
    diff = np.subtract(fast, slow, out=fast)
    del slow
    with np.errstate(invalid="ignore"):
        above, below = diff > 0, diff < 0
        # Near-ties (|fast - slow| <= 1e-9 relative): candidates against the highest close (no SMA
        # exceeds it), then the exact rule of ``sma_comparison`` on those few cells.
        np.abs(diff, out=diff)
        rows, cols = np.divmod(np.flatnonzero(diff <= 1e-9 * float(np.max(close))), diff.shape[1])
    del diff
    memo: dict[tuple[int, int], Fraction] = {}
    for r, i in zip(rows.tolist(), cols.tolist(), strict=True):
        f, sl = average(int(fast_n[r]))[i], average(int(slow_n[r]))[i]
        if abs(f - sl) <= 1e-9 * max(abs(f), abs(sl)):
            exact_fast = _exact_mean(close, i, int(fast_n[r]), memo)
            exact_slow = _exact_mean(close, i, int(slow_n[r]), memo)
            above[r, i], below[r, i] = exact_fast > exact_slow, exact_fast < exact_slow
    # Crossovers (strict, NaN never crosses), each an order that re-enters: the only opinions.
    up = below[:, :-1] & above[:, 1:]
    down = above[:, :-1] & below[:, 1:]
    del above, below
    up_or_down = up | down
    rows, cols = np.divmod(np.flatnonzero(up_or_down), up_or_down.shape[1])
    values = np.where(up[rows, cols], 1.0, -1.0)
    cells = SparseTargets((len(params), len(close)), rows, cols + 1, values, np.ones(len(rows), dtype=bool))
    return BatchSignals(None, slow_n - 1, sparse=cells)


def momentum(bars: Bars, params: Sequence[Mapping[str, Any]], cache: IndicatorCache) -> BatchSignals:
    close = bars.close
    lookback, threshold = _column(params, "lookback"), _column(params, "threshold", np.float64)[:, None]
    roc = _rows(cache, lookback.tolist(), lambda n: cache.get(("roc", n), lambda: _rate_of_change(close, n)))
    target = np.where(roc > threshold, 1.0, np.where(roc < -threshold, -1.0, 0.0))
    target[np.arange(len(close))[None, :] < lookback[:, None]] = np.nan
    return BatchSignals(target, lookback)


def mean_reversion(bars: Bars, params: Sequence[Mapping[str, Any]], cache: IndicatorCache) -> BatchSignals:
    close = bars.close
    keys = [(p["period"], p["num_std"]) for p in params]

    def bands(key: tuple[int, float]) -> np.ndarray:
        period, num_std = key
        return np.stack(cache.get(("bollinger", period, num_std), lambda: bollinger(close, period, num_std)))

    stacked = _rows(cache, keys, bands)  # (k, 3, n): middle, upper, lower
    middle, upper, lower = stacked[:, 0], stacked[:, 1], stacked[:, 2]
    target = np.full(middle.shape, np.nan)
    above = close >= middle
    crossed = np.zeros(middle.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        crossed[:, 1:] = above[:, 1:] != above[:, :-1]
        defined = ~np.isnan(middle)
        crossed[:, 1:] &= defined[:, 1:] & defined[:, :-1]
        crossed[:, 0] = False
        target[crossed] = 0.0
        target[close < lower] = 1.0
        target[close > upper] = -1.0
    return BatchSignals(target, _column(params, "period") - 1)


def volatility(bars: Bars, params: Sequence[Mapping[str, Any]], cache: IndicatorCache) -> BatchSignals:
    close = bars.close
    period, threshold = _column(params, "period"), _column(params, "vol_threshold", np.float64)[:, None]
    rets = cache.get(("returns",), lambda: _simple_returns(close))
    vol = _rows(cache, period.tolist(), lambda n: cache.get(("rolling_std", n), lambda: rolling_std(rets, n)))
    trend = _rows(cache, period.tolist(), lambda n: cache.get(("trend", n), lambda: np.sign(close - sma(close, n))))
    with np.errstate(invalid="ignore"):
        target = np.where(vol > threshold, 0.0, trend)
    target[np.isnan(vol)] = np.nan
    return BatchSignals(target, period)


def breakout(bars: Bars, params: Sequence[Mapping[str, Any]], cache: IndicatorCache) -> BatchSignals:
    close = bars.close
    lookback = _column(params, "lookback")

    def channel(n: int) -> np.ndarray:
        return np.stack(cache.get(("donchian", n), lambda: _previous_channel(bars, n)))

    stacked = _rows(cache, lookback.tolist(), channel)
    target = np.full((len(params), len(close)), np.nan)
    with np.errstate(invalid="ignore"):
        target[close > stacked[:, 0]] = 1.0
        target[close < stacked[:, 1]] = -1.0
    return BatchSignals(target, lookback)


BUILTIN_BATCH: dict[type[Strategy], BatchFn] = {
    SmaCross: sma_cross,
    Momentum: momentum,
    MeanReversion: mean_reversion,
    VolatilityFilter: volatility,
    Breakout: breakout,
}


def batch_signals_for(strategy: type[Strategy]) -> BatchFn | None:
    """The batched-signals function of ``strategy``: its own ``batch_signals`` classmethod, else the
    built-in rule for exactly this class, else None (evaluate one by one)."""
    own = getattr(strategy, "batch_signals", None)
    if callable(own):
        return own
    return BUILTIN_BATCH.get(strategy)
