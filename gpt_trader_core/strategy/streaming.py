"""Incremental evaluation of the built-in strategies: the newest bar's target from carried state.

A paper or live session asks a strategy about one new bar at a time. Recomputing ``signals`` over
the whole history costs O(n) per bar; a ``SignalStream`` answers in O(window) from the last
``window`` bars it keeps. Each stream repeats its strategy's vectorised definition for one bar with
the same floating-point operations (a window's sum is the same pairwise sum ``window_sums`` takes,
a constant window has its value as mean, two-pass standard deviation ...), so its targets equal
``signals(bars).target`` bit for bit — a property test runs both on random data.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from fractions import Fraction  # imported where used: it pulls in decimal (~10 ms at start-up)

NAN = math.nan


class SignalStream(Protocol):
    """The strategy's answer about each new bar, one bar at a time (oldest first).

    ``warmup`` is ``Signals.warmup``; ``update`` takes the newest bar and returns its
    ``(target, reentry)`` exactly as ``signals`` on the whole history would at that bar.
    """

    warmup: int

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> tuple[float, bool]: ...


class Tail:
    """The last ``keep`` values of a growing series in a contiguous float64 buffer.

    Appends are amortised O(1) and memory stays O(keep): when the buffer is full its last
    ``keep - 1`` values move to the front.
    """

    __slots__ = ("_data", "_keep", "_n", "count")

    def __init__(self, keep: int) -> None:
        self._keep = max(1, keep)
        self._data = np.empty(max(2 * self._keep, 64), dtype=np.float64)
        self._n = 0  # used slots of the buffer
        self.count = 0  # values appended so far

    def append(self, value: float) -> None:
        if self._n == len(self._data):
            keep = self._keep - 1
            if keep:
                self._data[:keep] = self._data[self._n - keep : self._n]
            self._n = keep
        self._data[self._n] = value
        self._n += 1
        self.count += 1

    def last(self, k: int) -> np.ndarray:
        """The newest ``k`` values (``k <= keep`` and ``k <= count``), oldest first."""
        return self._data[self._n - k : self._n]

    def __getitem__(self, back: int) -> float:
        """``tail[-1]`` is the newest value, ``tail[-k]`` the k-th newest."""
        return float(self._data[self._n + back])


def window_mean(window: np.ndarray) -> float:
    """``window_means`` of one full window: its pairwise sum over its length; exactly the value when constant."""
    first = float(window[0])
    if window.min() == window.max():
        return first
    return float(window.sum()) / len(window)


def window_std(window: np.ndarray, mean: float) -> float:
    """``window_stds`` (ddof 0) of one full window with its ``window_mean``."""
    deviations = window - mean
    return math.sqrt(float((deviations * deviations).sum()) / len(window))


def _decimal_fraction(value: float) -> Fraction:
    """The price as the decimal it was quoted in (its shortest round-trip repr), as ``sma_comparison``."""
    from fractions import Fraction  # a near-tie is rare: not every start-up pays for decimal

    return Fraction(repr(value))


def _sign(value: float) -> float:
    return 1.0 if value > 0 else (-1.0 if value < 0 else (0.0 if value == 0 else NAN))


class SmaCrossStream:
    """``SmaCross.signals`` one bar at a time: the sign of fast - slow (near-ties decided on the
    quoted decimals) and a re-entering order at each strict crossing of zero."""

    def __init__(self, fast: int, slow: int) -> None:
        self.fast, self.slow = fast, slow
        self.warmup = slow - 1
        self._close = Tail(slow)
        self._sign = NAN

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> tuple[float, bool]:
        self._close.append(close)
        sign = NAN
        if self._close.count >= self.slow:
            window = self._close.last(self.slow)
            fast = window_mean(window[self.slow - self.fast :])
            slow = window_mean(window)
            diff = fast - slow
            sign = _sign(diff)
            if abs(diff) <= 1e-9 * max(abs(fast), abs(slow)):
                exact_fast = sum(_decimal_fraction(v) for v in window[self.slow - self.fast :].tolist()) / self.fast
                exact_slow = sum(_decimal_fraction(v) for v in window.tolist()) / self.slow
                sign = float((exact_fast > exact_slow) - (exact_fast < exact_slow))
        previous, self._sign = self._sign, sign
        if previous < 0 and sign > 0:
            return 1.0, True
        if previous > 0 and sign < 0:
            return -1.0, True
        return NAN, False


class MomentumStream:
    """``Momentum.signals`` one bar at a time: the rate of change over ``lookback`` bars against the dead zone."""

    def __init__(self, lookback: int, threshold: float) -> None:
        self.lookback, self.threshold = lookback, threshold
        self.warmup = lookback
        self._close = Tail(lookback + 1)

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> tuple[float, bool]:
        self._close.append(close)
        if self._close.count <= self.lookback:
            return NAN, False
        roc = close / self._close[-1 - self.lookback] - 1.0
        return (1.0 if roc > self.threshold else (-1.0 if roc < -self.threshold else 0.0)), False


class MeanReversionStream:
    """``MeanReversion.signals`` one bar at a time: Bollinger bands and crossings of the middle band."""

    def __init__(self, period: int, num_std: float) -> None:
        self.period, self.num_std = period, num_std
        self.warmup = period - 1
        self._close = Tail(period)
        self._above = False
        self._valid = False

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> tuple[float, bool]:
        self._close.append(close)
        if self._close.count < self.period:
            self._above = self._valid = False
            return NAN, False
        window = self._close.last(self.period)
        middle = window_mean(window)
        width = window_std(window, middle) * self.num_std
        above = close >= middle
        target = 0.0 if self._valid and above != self._above else NAN
        self._above, self._valid = above, True
        if close < middle - width:
            target = 1.0
        if close > middle + width:
            target = -1.0
        return target, False


class VolatilityFilterStream:
    """``VolatilityFilter.signals`` one bar at a time: the side of the close to its SMA, flat when the
    rolling volatility of simple returns exceeds the threshold."""

    def __init__(self, period: int, vol_threshold: float) -> None:
        self.period, self.vol_threshold = period, vol_threshold
        self.warmup = period
        self._close = Tail(period)
        self._returns = Tail(period)

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> tuple[float, bool]:
        if self._close.count:
            self._returns.append(close / self._close[-1] - 1.0)
        self._close.append(close)
        if self._returns.count < self.period:  # the first return is undefined: vol is NaN until bar `period`
            return NAN, False
        returns = self._returns.last(self.period)
        vol = window_std(returns, window_mean(returns))
        if vol > self.vol_threshold:
            return 0.0, False
        return _sign(close - window_mean(self._close.last(self.period))), False


class BreakoutStream:
    """``Breakout.signals`` one bar at a time: the close against the channel of the previous ``lookback`` bars."""

    def __init__(self, lookback: int) -> None:
        self.lookback = lookback
        self.warmup = lookback
        self._high = Tail(lookback)
        self._low = Tail(lookback)

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> tuple[float, bool]:
        target = NAN
        if self._high.count >= self.lookback:
            if close > float(self._high.last(self.lookback).max()):
                target = 1.0
            if close < float(self._low.last(self.lookback).min()):
                target = -1.0
        self._high.append(high)
        self._low.append(low)
        return target, False
