"""Moving averages and rolling extremes."""

from __future__ import annotations

from numpy.typing import ArrayLike

from gpt_trader_core.indicators._common import (
    FloatArray,
    as_series,
    check_period,
    leading_nans,
    nans,
    smooth,
    window_extremes,
    window_means,
)


def sma(values: ArrayLike, period: int) -> FloatArray:
    """Simple moving average: ``sma[i] = mean(values[i-period+1 : i+1])``.

    Warm-up: the first ``period - 1`` values are NaN (first valid index ``period - 1``).
    Every window is summed independently (pairwise, no running-sum drift), so the result agrees with
    pandas ``Series.rolling(period).mean()`` to ~1e-13 relative at worst (pandas' compensated running
    sum is the less exact of the two); a window of equal values gives exactly that value, as in pandas.
    """
    x = as_series(values)
    period = check_period("period", period)
    out = nans(x.size)
    if x.size >= period:
        out[period - 1 :] = window_means(x, period)
    return out


def ema(values: ArrayLike, period: int) -> FloatArray:
    """Exponential moving average, ``alpha = 2 / (period + 1)``, TA-Lib seeding.

    ``ema[period-1] = sma(values, period)[period-1]`` (the mean of the first ``period`` values), then
    ``ema[i] = ema[i-1] + alpha * (values[i] - ema[i-1])``. Warm-up: first ``period - 1`` values NaN.
    A constant series gives exactly that constant. From the seed on this equals pandas
    ``ewm(span=period, adjust=False).mean()`` of ``[seed, values[period:]...]``.
    Leading NaNs (e.g. another indicator's warm-up) only delay the seed; a NaN after the first
    number propagates to every later value.
    """
    x = as_series(values)
    period = check_period("period", period)
    out = nans(x.size)
    start = leading_nans(x)
    if x.size - start >= period:
        seed_at = start + period - 1
        out[seed_at:] = ema_tail(x[seed_at:], x[start : seed_at + 1], period)
    return out


def ema_tail(tail: FloatArray, head: FloatArray, period: int) -> FloatArray:
    """EMA values from the seed on: ``tail`` starts at the seed bar, ``head`` is the seed window."""
    seed = float(window_means(head, period)[0])
    return smooth(tail, 2.0 / (period + 1), seed, centre=seed)


def rolling_max(values: ArrayLike, period: int) -> FloatArray:
    """Highest value of the last ``period`` values; first valid index ``period - 1`` (NaN before)."""
    x = as_series(values)
    period = check_period("period", period)
    out = nans(x.size)
    if x.size >= period:
        out[period - 1 :] = window_extremes(x, period, maximum=True)
    return out


def rolling_min(values: ArrayLike, period: int) -> FloatArray:
    """Lowest value of the last ``period`` values; first valid index ``period - 1`` (NaN before)."""
    x = as_series(values)
    period = check_period("period", period)
    out = nans(x.size)
    if x.size >= period:
        out[period - 1 :] = window_extremes(x, period, maximum=False)
    return out
