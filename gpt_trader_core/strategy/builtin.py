"""The built-in strategies. Each is vectorised and causal: ``target[i]`` uses bars ``0..i`` only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.indicators import bollinger, rolling_max, rolling_min, rolling_std, sma
from gpt_trader_core.indicators.cache import IndicatorCache
from gpt_trader_core.strategy.base import Param, Signals, Strategy
from gpt_trader_core.strategy.streaming import (
    BreakoutStream,
    MeanReversionStream,
    MomentumStream,
    SignalStream,
    SmaCrossStream,
    VolatilityFilterStream,
)

if TYPE_CHECKING:
    from fractions import Fraction  # imported where used: it pulls in decimal (~10 ms at start-up)


def crossover(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True at ``i`` where ``a`` crosses strictly above ``b``: ``a[i-1] < b[i-1]`` and ``a[i] > b[i]``."""
    out = np.zeros(len(a), dtype=bool)
    with np.errstate(invalid="ignore"):
        out[1:] = (a[:-1] < b[:-1]) & (a[1:] > b[1:])
    return out


def _decimal_fraction(value: float) -> Fraction:
    from fractions import Fraction  # a near-tie is rare: not every start-up pays for decimal

    return Fraction(repr(value))


def sma_comparison(close: np.ndarray, fast: np.ndarray, slow: np.ndarray, n_fast: int, n_slow: int) -> np.ndarray:
    """``sign(fast SMA - slow SMA)`` per bar (NaN in warm-up), with near-ties decided exactly.

    Two averages that are mathematically equal can differ in their last bits depending on the
    summation order, which would invent crossovers. Where the floating-point difference is within
    1e-9 (relative), the sign is recomputed exactly from the prices as the decimals they were quoted
    in (each float's shortest round-trip decimal, e.g. 491.73, not its binary approximation).
    """
    diff = fast - slow
    sign = np.sign(diff)
    with np.errstate(invalid="ignore"):
        near = np.flatnonzero(np.abs(diff) <= 1e-9 * np.maximum(np.abs(fast), np.abs(slow)))
    for i in near.tolist():
        exact_fast = sum(_decimal_fraction(v) for v in close[i - n_fast + 1 : i + 1].tolist()) / n_fast
        exact_slow = sum(_decimal_fraction(v) for v in close[i - n_slow + 1 : i + 1].tolist()) / n_slow
        sign[i] = (exact_fast > exact_slow) - (exact_fast < exact_slow)
    return sign


def _rate_of_change(close: np.ndarray, n: int) -> np.ndarray:
    roc = np.full(len(close), np.nan)
    roc[n:] = close[n:] / close[:-n] - 1.0
    return roc


def _simple_returns(close: np.ndarray) -> np.ndarray:
    rets = np.full(len(close), np.nan)
    rets[1:] = close[1:] / close[:-1] - 1.0
    return rets


def _previous_channel(bars: Bars, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Highest high and lowest low of the ``n`` bars before each bar."""
    upper = np.full(len(bars), np.nan)
    lower = np.full(len(bars), np.nan)
    upper[1:] = rolling_max(bars.high, n)[:-1]
    lower[1:] = rolling_min(bars.low, n)[:-1]
    return upper, lower


class SmaCross(Strategy):
    """Long when the fast SMA crosses above the slow one, short (or flat) when it crosses below.

    Crossovers are strict (``fast[i-1] < slow[i-1] and fast[i] > slow[i]``, ties decided on the exact
    means); each one closes the position and opens a new one (re-entering if already on that side),
    between crossovers the position is held. Warm-up: ``slow - 1`` bars.
    """

    name = "sma_cross"
    uses_indicator_cache = True
    description = "Fast/slow simple-moving-average crossover (trend following)"
    params = (
        Param("fast", int, 10, 2, 200, "Fast SMA window in bars", step=5),
        Param("slow", int, 30, 3, 400, "Slow SMA window in bars; must exceed fast", step=10),
    )

    @classmethod
    def check(cls, values: Mapping[str, Any]) -> None:
        if values["fast"] >= values["slow"]:
            raise InvalidParameterError(
                f"sma_cross: fast ({values['fast']}) must be smaller than slow ({values['slow']})"
            )

    def min_bars(self) -> int:
        return int(self.values["slow"])

    def stream(self) -> SignalStream:
        return SmaCrossStream(self.values["fast"], self.values["slow"])

    def signals(self, bars: Bars, cache: IndicatorCache | None = None) -> Signals:
        cache = cache or IndicatorCache()
        fast_n, slow_n = self.values["fast"], self.values["slow"]
        fast = cache.get(("sma", fast_n), lambda: sma(bars.close, fast_n))
        slow = cache.get(("sma", slow_n), lambda: sma(bars.close, slow_n))
        sign = sma_comparison(bars.close, fast, slow, fast_n, slow_n)
        zero = np.zeros(len(sign))
        up, down = crossover(sign, zero), crossover(zero, sign)
        target = np.full(len(sign), np.nan)
        target[up] = 1.0
        target[down] = -1.0
        # Every crossover is an order: like close() + buy() it re-enters even when already long.
        return Signals(target, slow_n - 1, reentry=up | down)


class Momentum(Strategy):
    """Rate-of-change momentum: long above ``+threshold``, short below ``-threshold``, flat between.

    ``roc[i] = close[i] / close[i - lookback] - 1``. Warm-up: ``lookback`` bars.
    """

    name = "momentum"
    uses_indicator_cache = True
    description = "Rate-of-change momentum with a dead zone"
    params = (
        Param("lookback", int, 20, 2, 250, "Bars over which the rate of change is measured", step=5),
        Param("threshold", float, 0.02, 0.0, 0.5, "Minimum |rate of change| to hold a position", step=0.01),
    )

    def min_bars(self) -> int:
        return int(self.values["lookback"]) + 1

    def stream(self) -> SignalStream:
        return MomentumStream(self.values["lookback"], self.values["threshold"])

    def signals(self, bars: Bars, cache: IndicatorCache | None = None) -> Signals:
        n, threshold = self.values["lookback"], self.values["threshold"]
        close = bars.close
        roc = (cache or IndicatorCache()).get(("roc", n), lambda: _rate_of_change(close, n))
        target = np.where(roc > threshold, 1.0, np.where(roc < -threshold, -1.0, 0.0))
        target[:n] = np.nan
        return Signals(target, n)


class MeanReversion(Strategy):
    """Bollinger-band mean reversion: buy a close below the lower band, sell one above the upper band,
    exit when the close crosses back over the middle band. Warm-up: ``period - 1`` bars.
    """

    name = "mean_reversion"
    uses_indicator_cache = True
    description = "Bollinger-band mean reversion, exit at the middle band"
    params = (
        Param("period", int, 20, 2, 250, "Bollinger window in bars", step=5),
        Param("num_std", float, 2.0, 0.5, 4.0, "Band width in standard deviations", step=0.25),
    )

    def min_bars(self) -> int:
        return int(self.values["period"])

    def stream(self) -> SignalStream:
        return MeanReversionStream(self.values["period"], self.values["num_std"])

    def signals(self, bars: Bars, cache: IndicatorCache | None = None) -> Signals:
        close = bars.close
        period, num_std = self.values["period"], self.values["num_std"]
        middle, upper, lower = (cache or IndicatorCache()).get(
            ("bollinger", period, num_std), lambda: bollinger(close, period, num_std)
        )
        target = np.full(len(close), np.nan)
        above = close >= middle
        crossed_middle = np.zeros(len(close), dtype=bool)
        with np.errstate(invalid="ignore"):
            crossed_middle[1:] = above[1:] != above[:-1]
            crossed_middle &= ~np.isnan(middle) & np.concatenate(([False], ~np.isnan(middle[:-1])))
            target[crossed_middle] = 0.0
            target[close < lower] = 1.0
            target[close > upper] = -1.0
        return Signals(target, self.values["period"] - 1)


class VolatilityFilter(Strategy):
    """Trend following in calm markets only: when the rolling volatility of daily returns is below
    ``vol_threshold`` hold the side of the close relative to its SMA, otherwise stay flat.

    Volatility is the population standard deviation of simple returns over ``period`` bars (not
    annualised). Warm-up: ``period`` bars.
    """

    name = "volatility"
    uses_indicator_cache = True
    description = "SMA trend following, flat when volatility is above a threshold"
    params = (
        Param("period", int, 20, 2, 250, "Window of the SMA and of the volatility estimate", step=5),
        Param(
            "vol_threshold",
            float,
            0.02,
            0.001,
            0.2,
            "Per-bar return volatility above which to stay flat",
            step=0.005,
        ),
    )

    def min_bars(self) -> int:
        return int(self.values["period"]) + 1

    def stream(self) -> SignalStream:
        return VolatilityFilterStream(self.values["period"], self.values["vol_threshold"])

    def signals(self, bars: Bars, cache: IndicatorCache | None = None) -> Signals:
        period, threshold = self.values["period"], self.values["vol_threshold"]
        close = bars.close
        cache = cache or IndicatorCache()
        rets = cache.get(("returns",), lambda: _simple_returns(close))
        vol = cache.get(("rolling_std", period), lambda: rolling_std(rets, period))
        trend = cache.get(("trend", period), lambda: np.sign(close - sma(close, period)))
        with np.errstate(invalid="ignore"):
            target = np.where(vol > threshold, 0.0, trend)
        target[np.isnan(vol)] = np.nan
        return Signals(target, period)


class Breakout(Strategy):
    """Donchian breakout: long when the close exceeds the highest high of the previous ``lookback``
    bars, short when it falls below their lowest low, otherwise hold. Warm-up: ``lookback`` bars.
    """

    name = "breakout"
    uses_indicator_cache = True
    description = "Donchian channel breakout"
    params = (Param("lookback", int, 20, 2, 250, "Channel length in bars", step=5),)

    def min_bars(self) -> int:
        return int(self.values["lookback"]) + 1

    def stream(self) -> SignalStream:
        return BreakoutStream(self.values["lookback"])

    def signals(self, bars: Bars, cache: IndicatorCache | None = None) -> Signals:
        n = self.values["lookback"]
        close = bars.close
        upper, lower = (cache or IndicatorCache()).get(("donchian", n), lambda: _previous_channel(bars, n))
        target = np.full(len(close), np.nan)
        with np.errstate(invalid="ignore"):
            target[close > upper] = 1.0
            target[close < lower] = -1.0
        return Signals(target, n)


BUILTIN_STRATEGIES: tuple[type[Strategy], ...] = (
    SmaCross,
    Momentum,
    MeanReversion,
    VolatilityFilter,
    Breakout,
)
