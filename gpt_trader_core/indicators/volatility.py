"""Volatility indicators: rolling standard deviation, Bollinger bands, average true range."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from gpt_trader_core.indicators._common import (
    FloatArray,
    as_series,
    check_ddof,
    check_non_negative,
    check_period,
    nans,
    same_length,
    smooth,
    window_means,
    window_stds,
)


class Bollinger(NamedTuple):
    """Bollinger bands: ``middle`` ± ``num_std`` population standard deviations."""

    middle: FloatArray
    upper: FloatArray
    lower: FloatArray


def rolling_std(values: ArrayLike, period: int, ddof: int = 0) -> FloatArray:
    """Rolling standard deviation ``sqrt(sum((x - mean)**2) / (period - ddof))`` over ``period`` values.

    ``ddof=0`` is the population std, ``ddof=1`` the sample std; ``0 <= ddof < period``. Each window is
    computed two-pass on its own (no drift); a window of equal values gives exactly 0.
    Warm-up: first ``period - 1`` values NaN.
    """
    x = as_series(values)
    period = check_period("period", period)
    ddof = check_ddof(ddof, period)
    out = nans(x.size)
    if x.size >= period:
        out[period - 1 :] = window_stds(x, period, ddof, window_means(x, period))
    return out


def bollinger(close: ArrayLike, period: int = 20, num_std: float = 2.0) -> Bollinger:
    """Bollinger bands: ``middle = sma(close, period)``, ``upper/lower = middle ± num_std * std``.

    ``std`` is the *population* standard deviation (ddof=0, as in Bollinger's definition and TA-Lib;
    pandas' ``rolling().std()`` defaults to ddof=1). ``num_std`` must be finite and >= 0.
    Warm-up: first ``period - 1`` values NaN in all three bands.
    """
    x = as_series(close, "close")
    period = check_period("period", period)
    num_std = check_non_negative("num_std", num_std)
    middle = nans(x.size)
    width = nans(x.size)
    if x.size >= period:
        means = window_means(x, period)
        middle[period - 1 :] = means
        width[period - 1 :] = window_stds(x, period, 0, means) * num_std
    return Bollinger(middle, middle + width, middle - width)


def true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """``max(high - low, |high - prev_close|, |low - prev_close|)``; the first bar's is ``high - low``."""
    tr = high - low
    if tr.size > 1:
        prev = close[:-1]
        np.maximum(tr[1:], np.abs(high[1:] - prev), out=tr[1:])
        np.maximum(tr[1:], np.abs(low[1:] - prev), out=tr[1:])
    return tr


def atr(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int = 14) -> FloatArray:
    """Average true range, Wilder smoothing.

    True range as in :func:`true_range` (first bar: ``high - low``). ``atr[period-1]`` is the mean of the
    first ``period`` true ranges, then ``atr[i] = (atr[i-1] * (period - 1) + tr[i]) / period``.
    Warm-up: first ``period - 1`` values NaN.
    """
    h, lo, c = as_series(high, "high"), as_series(low, "low"), as_series(close, "close")
    n = same_length(high=h, low=lo, close=c)
    period = check_period("period", period)
    out = nans(n)
    if n >= period:
        tr = true_range(h, lo, c)
        seed = float(window_means(tr[:period], period)[0])
        out[period - 1 :] = smooth(tr[period - 1 :], 1.0 / period, seed, centre=0.0)
    return out
