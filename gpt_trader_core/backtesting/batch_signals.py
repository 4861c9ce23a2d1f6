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
from decimal import Context, Decimal, Inexact
from fractions import Fraction
from functools import partial, reduce
from typing import Any

import numpy as np

from gpt_trader_core.backtesting.batch import BatchSignals, SparseTargets
from gpt_trader_core.backtesting.batch_indicators import sma_many
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


#: Digits of the decimal sums of quoted prices: a float's shortest repr has at most 17 significant
#: digits between 1e-324 and 1e309, so any sum of them fits (exact: an inexact sum would raise).
_EXACT_DIGITS = 1_000


def _exact_mean(close: np.ndarray, i: int, n: int, memo: dict[tuple[int, int], Fraction]) -> Fraction:
    """The mean of the ``n`` closes up to ``i`` on the quoted decimals (``sma_comparison``'s rule),
    memoised: the same window recurs in many parameter sets. Summed as decimals (exact, and several
    times cheaper than a sum of fractions), then one fraction."""
    key = (n, i)
    if key not in memo:
        exact = Context(prec=_EXACT_DIGITS, traps=[Inexact])
        total = reduce(exact.add, (Decimal(repr(v)) for v in close[i - n + 1 : i + 1].tolist()), Decimal(0))
        memo[key] = Fraction(total) / n
    return memo[key]


def sma_cross(bars: Bars, params: Sequence[Mapping[str, Any]], cache: IndicatorCache) -> BatchSignals:
    close = bars.close
    n = len(close)
    fast_n, slow_n = _column(params, "fast"), _column(params, "slow")

    # The slow windows first, in order: a fast window's slow partners are then usually one slice of
    # the stack (no copy of their averages).
    slow_windows = sorted(set(slow_n.tolist()))
    windows = slow_windows + sorted(set(fast_n.tolist()) - set(slow_windows))
    # The averages not cached yet, all in one pass (``sma_many``: the same numbers as ``sma``).
    missing = [w for w in windows if ("sma", w) not in cache]
    fresh = sma_many(close, missing) if len(missing) > 1 else {}

    def average(window: int) -> np.ndarray:
        return fresh[window] if window in fresh else sma(close, window)

    stack = np.stack([cache.get(("sma", w), partial(average, w)) for w in windows]) if windows else np.empty((0, n))
    position = {w: i for i, w in enumerate(windows)}
    fast_i = np.array([position[w] for w in fast_n.tolist()], dtype=np.int64)
    slow_i = np.array([position[w] for w in slow_n.tolist()], dtype=np.int64)
    tolerance = 1e-9 * float(np.max(close)) if n else 0.0
    memo: dict[tuple[int, int], Fraction] = {}
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    # One block of rows per fast window: fast - slow of those rows only (a few hundred KB that stay
    # in the CPU cache), never the whole (k, n) array of each average.
    fast_windows, per_fast = np.unique(fast_i, return_counts=True)
    buffer = np.empty((int(per_fast.max()) if len(per_fast) else 0, n))
    for f in fast_windows.tolist():
        rows = np.flatnonzero(fast_i == f)
        slow_rows = slow_i[rows]
        lo = int(slow_rows[0])
        # One buffer for every fast window: a fresh array of a few hundred KB is mapped and faulted in anew.
        diff = buffer[: len(rows)]
        if np.array_equal(slow_rows, np.arange(lo, lo + len(rows))):  # a grid's usual case: a slice, no copy
            np.subtract(stack[f], stack[lo : lo + len(rows)], out=diff)
        else:
            np.subtract(stack[f], stack[slow_rows], out=diff)
        with np.errstate(invalid="ignore"):
            above, below = diff > 0, diff < 0
            # Near-ties (|fast - slow| <= 1e-9 relative): candidates against the highest close (no
            # SMA exceeds it), then the exact rule of ``sma_comparison`` on those few cells.
            np.abs(diff, out=diff)
            near_rows, near_cols = np.divmod(np.flatnonzero(diff <= tolerance), n)
        for r, i in zip(near_rows.tolist(), near_cols.tolist(), strict=True):
            fw, sw = windows[f], int(slow_n[rows[r]])
            fv, sv = stack[f, i], stack[position[sw], i]
            if abs(fv - sv) <= 1e-9 * max(abs(fv), abs(sv)):
                exact_fast, exact_slow = _exact_mean(close, i, fw, memo), _exact_mean(close, i, sw, memo)
                above[r, i], below[r, i] = exact_fast > exact_slow, exact_fast < exact_slow
        # Crossovers (strict, NaN never crosses), each an order that re-enters: the only opinions.
        up = below[:, :-1] & above[:, 1:]
        down = above[:, :-1] & below[:, 1:]
        up_rows, up_cols = np.divmod(np.flatnonzero(up | down), n - 1)
        values = np.where(up[up_rows, up_cols], 1.0, -1.0)
        found.append((rows[up_rows], up_cols + 1, values))
    if found:
        cell_rows, cell_cols, cell_values = (np.concatenate(parts) for parts in zip(*found, strict=True))
    else:
        cell_rows, cell_cols, cell_values = np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    if len(found) > 1:  # row-major order across the blocks
        key = cell_rows * n + cell_cols
        if len(key) > 1 and not bool(np.all(key[1:] > key[:-1])):
            order = np.argsort(key, kind="stable")
            cell_rows, cell_cols, cell_values = cell_rows[order], cell_cols[order], cell_values[order]
    cells = SparseTargets((len(params), n), cell_rows, cell_cols, cell_values, np.ones(len(cell_rows), dtype=bool))
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
