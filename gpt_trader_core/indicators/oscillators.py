"""Oscillators: RSI, MACD, stochastic."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.indicators._common import (
    FloatArray,
    as_series,
    check_period,
    leading_nans,
    nans,
    same_length,
    smooth,
    window_extremes,
    window_means,
)
from gpt_trader_core.indicators.moving import ema_tail


class MACD(NamedTuple):
    """MACD line, its signal line and their difference (``histogram = macd - signal``)."""

    macd: FloatArray
    signal: FloatArray
    histogram: FloatArray


class Stochastic(NamedTuple):
    """Stochastic oscillator: fast ``%K`` and its moving average ``%D``."""

    k: FloatArray
    d: FloatArray


def _wilder_average(x: FloatArray, period: int) -> FloatArray:
    """Wilder average of ``x`` from index ``period - 1`` on (``len(x) - period + 1`` values)."""
    seed = float(window_means(x[:period], period)[0])
    return smooth(x[period - 1 :], 1.0 / period, seed, centre=0.0)


def rsi(close: ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's relative strength index, in [0, 100].

    With ``d = diff(close)``, gains ``max(d, 0)`` and losses ``max(-d, 0)``: the first averages are the
    simple means of the first ``period`` changes, then ``avg[i] = (avg[i-1] * (period - 1) + x[i]) /
    period``; ``rsi = 100 * (avg_gain / (avg_gain + avg_loss))`` (= ``100 - 100 / (1 + RS)``), 100 when the
    average loss is 0, and 50 when both averages are 0. Warm-up: first ``period`` values NaN
    (first valid index ``period``); leading NaNs in ``close`` extend the warm-up by as many bars.
    """
    x = as_series(close, "close")
    period = check_period("period", period)
    out = nans(x.size)
    start = leading_nans(x)
    if x.size - start > period:
        change = np.diff(x[start:])
        gain = _wilder_average(np.maximum(change, 0.0), period)
        loss = _wilder_average(np.maximum(-change, 0.0), period)
        total = gain + loss
        ratio = np.full(gain.size, 0.5)
        np.divide(gain, total, out=ratio, where=total > 0.0)  # in [0, 1] exactly: gain <= total
        out[start + period :] = 100.0 * ratio
    return out


def macd(close: ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9) -> MACD:
    """Moving average convergence/divergence.

    ``macd = ema(close, fast) - ema(close, slow)``; ``signal`` = EMA (same TA-Lib seeding) of the MACD
    line over its valid part; ``histogram = macd - signal``. Requires ``1 <= fast < slow``.
    Warm-up: ``macd`` is valid from index ``slow - 1``, ``signal`` and ``histogram`` from
    ``slow + signal - 2`` (plus the number of leading NaNs in ``close``, if any).
    """
    x = as_series(close, "close")
    fast = check_period("fast", fast)
    slow = check_period("slow", slow)
    signal = check_period("signal", signal)
    if fast >= slow:
        raise InvalidParameterError(f"fast must be smaller than slow, got fast={fast}, slow={slow}")
    line = nans(x.size)
    signal_line = nans(x.size)
    first = leading_nans(x)
    start = first + slow - 1
    if x.size > start:
        fast_ema = ema_tail(x[first + fast - 1 :], x[first : first + fast], fast)[slow - fast :]
        line[start:] = fast_ema - ema_tail(x[start:], x[first : start + 1], slow)
        if x.size - start >= signal:
            valid = line[start:]
            signal_line[start + signal - 1 :] = ema_tail(valid[signal - 1 :], valid[:signal], signal)
    return MACD(line, signal_line, line - signal_line)


def stochastic(high: ArrayLike, low: ArrayLike, close: ArrayLike, k_period: int = 14, d_period: int = 3) -> Stochastic:
    """Fast stochastic oscillator.

    ``%K = 100 * (close - LL) / (HH - LL)`` with ``HH``/``LL`` the highest high / lowest low of the last
    ``k_period`` bars (50 when ``HH == LL``); ``%D`` = simple moving average of ``%K`` over ``d_period``.
    Warm-up: ``%K`` valid from index ``k_period - 1``, ``%D`` from ``k_period + d_period - 2``.
    """
    h, lo, c = as_series(high, "high"), as_series(low, "low"), as_series(close, "close")
    n = same_length(high=h, low=lo, close=c)
    k_period = check_period("k_period", k_period)
    d_period = check_period("d_period", d_period)
    k = nans(n)
    d = nans(n)
    if n >= k_period:
        highest = window_extremes(h, k_period, maximum=True)
        lowest = window_extremes(lo, k_period, maximum=False)
        span = highest - lowest
        ratio = np.full(span.size, 0.5)
        np.divide(c[k_period - 1 :] - lowest, span, out=ratio, where=span != 0.0)
        valid = 100.0 * ratio  # ratio first: a close at the high gives exactly 100
        k[k_period - 1 :] = valid
        if valid.size >= d_period:
            d[k_period + d_period - 2 :] = window_means(valid, d_period)
    return Stochastic(k, d)
