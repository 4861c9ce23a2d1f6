"""Swing points (zigzag) and support / resistance levels clustered from them.

Swing points
    A zigzag on highs and lows with a minimum move ``p = swing_pct`` (a fraction). While rising, it tracks
    the highest high since the last swing low; when a bar's low falls ``p`` below that high
    (``low <= high_max * (1 - p)``), the high becomes a confirmed *swing high* (``confirmed_bar`` = that bar)
    and the zigzag turns down. Falling is symmetric: a swing low is confirmed when a high rises ``p`` above
    the lowest low (``high >= low_min * (1 + p)``). The first swing is whichever of the lowest low / highest
    high so far is first left behind by ``p``. Consecutive swings alternate high / low and differ by at
    least ``p``. The running extreme after the last confirmed swing is returned as ``pending`` (it may
    still move). Causal: a swing confirmed at bar ``c`` uses bars ``0..c`` only.

    Default ``swing_pct``: ``clip(2.5 * ATR14 / close, 0.01, 0.25)`` at the last bar (mean
    ``(high - low) / close`` instead of ATR for fewer than 14 bars): about two and a half typical bar
    ranges, so the zigzag adapts to the instrument's volatility.

Support and resistance
    The prices of the confirmed swing points (highs and lows alike: a broken resistance becomes support)
    are sorted and clustered greedily: a cluster takes the next price while it is within
    ``tolerance`` (a fraction, default ``max(swing_pct / 2, 0.005)``) of the cluster's lowest price. Each
    cluster is a ``Level`` at the mean price of its swings with ``touches`` = its number of swings.
    Levels at or below the last close are ``support``, above it ``resistance``; the nearest support is
    the highest level at or below the close, the nearest resistance the lowest level above it. Levels
    with fewer than ``min_touches`` touches are dropped.
"""

from __future__ import annotations

import datetime as dt
import math

import attrs
import numpy as np

from gpt_trader_core import indicators as ind
from gpt_trader_core.domain.bars import Bars, to_datetime
from gpt_trader_core.errors import InvalidParameterError


@attrs.frozen
class SwingPoint:
    """A zigzag turning point: the ``kind`` (``high`` / ``low``) extreme at ``bar``, known at ``confirmed_bar``."""

    bar: int
    time: dt.datetime
    price: float
    kind: str
    confirmed_bar: int


@attrs.frozen
class Swings:
    """Confirmed swing points (alternating, oldest first), the pending extreme and the ``swing_pct`` used."""

    points: tuple[SwingPoint, ...]
    pending: SwingPoint | None
    swing_pct: float


@attrs.frozen
class Level:
    """A support or resistance level: the mean price of clustered swing points.

    ``touches`` = swings in the cluster (``swing_highs`` + ``swing_lows``); ``low`` / ``high`` the range of
    their prices; ``first_bar`` / ``last_bar`` (and times) the oldest and newest swing.
    """

    price: float
    kind: str
    touches: int
    swing_highs: int
    swing_lows: int
    low: float
    high: float
    first_bar: int
    last_bar: int
    first_time: dt.datetime
    last_time: dt.datetime


@attrs.frozen
class SupportResistance:
    """All levels (sorted by price) and the nearest ones around the last ``close``."""

    levels: tuple[Level, ...]
    nearest_support: Level | None
    nearest_resistance: Level | None
    close: float
    tolerance: float
    swing_pct: float

    @property
    def supports(self) -> tuple[Level, ...]:
        return tuple(level for level in self.levels if level.kind == "support")

    @property
    def resistances(self) -> tuple[Level, ...]:
        return tuple(level for level in self.levels if level.kind == "resistance")


def _check_fraction(name: str, value: float, upper: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < upper:
        raise InvalidParameterError(f"{name} must be a fraction in (0, {upper:g}) such as 0.05, got {value!r}")
    return float(value)


def default_swing_pct(bars: Bars) -> float:
    """``clip(2.5 * ATR14 / close, 0.01, 0.25)`` at the last bar (see the module docstring)."""
    close = float(bars.close[-1])
    atr = float(ind.atr(bars.high, bars.low, bars.close, 14)[-1]) if len(bars) >= 14 else math.nan
    if not math.isfinite(atr):
        atr = float(np.mean((bars.high - bars.low) / bars.close)) * close
    return float(min(0.25, max(0.01, 2.5 * atr / close)))


def find_swings(bars: Bars, swing_pct: float | None = None) -> Swings:
    """Zigzag swing points of ``bars`` with a minimum move of ``swing_pct`` (see the module docstring)."""
    pct = default_swing_pct(bars) if swing_pct is None else _check_fraction("swing_pct", swing_pct)
    high = bars.high.tolist()
    low = bars.low.tolist()
    times = bars.timestamps
    raw: list[tuple[int, float, str, int]] = []
    trend = 0
    hi_i = lo_i = 0
    for i in range(1, len(high)):
        if trend == 0:
            if high[i] > high[hi_i]:
                hi_i = i
            if low[i] < low[lo_i]:
                lo_i = i
            if lo_i < hi_i and high[hi_i] >= low[lo_i] * (1 + pct):
                raw.append((lo_i, low[lo_i], "low", i))
                trend = 1
            elif hi_i < lo_i and low[lo_i] <= high[hi_i] * (1 - pct):
                raw.append((hi_i, high[hi_i], "high", i))
                trend = -1
        elif trend == 1:
            if high[i] > high[hi_i]:
                hi_i = i
            elif low[i] <= high[hi_i] * (1 - pct):
                raw.append((hi_i, high[hi_i], "high", i))
                trend, lo_i = -1, i
        else:
            if low[i] < low[lo_i]:
                lo_i = i
            elif high[i] >= low[lo_i] * (1 + pct):
                raw.append((lo_i, low[lo_i], "low", i))
                trend, hi_i = 1, i
    points = tuple(SwingPoint(b, to_datetime(times[b]), p, k, c) for b, p, k, c in raw)
    pending = None
    if trend == 1:
        pending = SwingPoint(hi_i, to_datetime(times[hi_i]), high[hi_i], "high", -1)
    elif trend == -1:
        pending = SwingPoint(lo_i, to_datetime(times[lo_i]), low[lo_i], "low", -1)
    return Swings(points, pending, pct)


def support_resistance(
    bars: Bars,
    *,
    swing_pct: float | None = None,
    tolerance: float | None = None,
    min_touches: int = 1,
    swings: Swings | None = None,
) -> SupportResistance:
    """Support and resistance levels of ``bars`` (see the module docstring).

    ``swings`` reuses swing points found earlier (then ``swing_pct`` is ignored); ``tolerance`` is the
    relative width of a cluster; ``min_touches`` drops levels with fewer swings.
    """
    if swings is None:
        swings = find_swings(bars, swing_pct)
    tol = max(swings.swing_pct / 2, 0.005) if tolerance is None else _check_fraction("tolerance", tolerance, 0.5)
    if isinstance(min_touches, bool) or not isinstance(min_touches, int) or min_touches < 1:
        raise InvalidParameterError(f"min_touches must be an integer >= 1, got {min_touches!r}")
    close = float(bars.close[-1])
    clusters: list[list[SwingPoint]] = []
    for point in sorted(swings.points, key=lambda p: (p.price, p.bar)):
        if clusters and point.price <= clusters[-1][0].price * (1 + tol):
            clusters[-1].append(point)
        else:
            clusters.append([point])
    levels = []
    for members in clusters:
        if len(members) < min_touches:
            continue
        price = float(np.mean([m.price for m in members]))
        first = min(members, key=lambda m: m.bar)
        last = max(members, key=lambda m: m.bar)
        levels.append(
            Level(
                price=price,
                kind="support" if price <= close else "resistance",
                touches=len(members),
                swing_highs=sum(m.kind == "high" for m in members),
                swing_lows=sum(m.kind == "low" for m in members),
                low=min(m.price for m in members),
                high=max(m.price for m in members),
                first_bar=first.bar,
                last_bar=last.bar,
                first_time=first.time,
                last_time=last.time,
            )
        )
    supports = [level for level in levels if level.kind == "support"]
    resistances = [level for level in levels if level.kind == "resistance"]
    return SupportResistance(
        levels=tuple(levels),
        nearest_support=supports[-1] if supports else None,
        nearest_resistance=resistances[0] if resistances else None,
        close=close,
        tolerance=tol,
        swing_pct=swings.swing_pct,
    )
