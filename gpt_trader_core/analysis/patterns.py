"""Chart patterns from swing points: double tops/bottoms, head and shoulders, triangles, flags.

Every rule works on the zigzag swing points of ``gpt_trader_core.analysis.levels`` (minimum move
``p = swing_pct``) with a price tolerance ``tol = max(p / 2, 0.005)`` (a fraction). A pattern is
*confirmed* by a breakout close; its ``end_bar`` is the breakout bar, and it only uses bars up to then -
it would have been reported at ``end_bar`` in real time. A pattern still waiting for its breakout when the
data ends is reported unconfirmed (``end_bar`` = the bar that confirmed its last swing point); one whose
breakout did not come within the allowed wait, or that was invalidated first, is not reported.

``confidence = 0.7 * quality + 0.3 * confirmed`` with a pattern-specific ``quality`` in [0, 1]:

* **double_top** - swings high ``H1``, low ``N``, high ``H2`` with ``|H1 - H2| <= tol * mean(H1, H2)``;
  breakout: the first close below the neckline ``N`` after ``H2`` is confirmed, within ``H2 - H1`` bars
  and before any high above ``max(H1, H2) * (1 + tol)``. Quality ``0.6 * (1 - |H1 - H2| / (tol * mean))
  + 0.4 * min(1, depth / (2 p))`` with ``depth = 1 - N / max(H1, H2)``. Key levels: ``first_peak``,
  ``second_peak``, ``neckline``, ``target = N - (max(H1, H2) - N)``. **double_bottom** mirrors it.
* **head_and_shoulders** - swings ``H1 L1 H2 L2 H3`` with the head ``H2 > max(H1, H3) * (1 + tol)``,
  shoulders ``|H1 - H3| <= 2 tol * mean``; neckline: the line through ``L1`` and ``L2``; breakout: a close
  below the neckline within ``H3 - H1`` bars, before any high above the head. Quality: ``0.5`` shoulder
  symmetry + ``0.25`` head prominence + ``0.25`` time symmetry (each in [0, 1]). Key levels:
  ``left_shoulder``, ``head``, ``right_shoulder``, ``neckline`` (at the breakout or last bar),
  ``target`` (neckline minus the head's height above it). **inverse_head_and_shoulders** mirrors it.
* **triangles** - 4 to 6 consecutive swings; least-squares lines through their highs (upper) and lows
  (lower), every swing within ``tol`` of its line; each line's change over the pattern relative to price
  is *flat* (``|change| <= tol``), *rising* or *falling*, and the lines must converge.
  ``ascending_triangle``: flat upper, rising lower; ``descending_triangle``: falling upper, flat lower;
  ``symmetric_triangle``: falling upper, rising lower. Breakout: the first close outside either line
  within the pattern's length in bars (``bias`` then follows the breakout direction). Quality ``0.6 * fit
  + 0.4 * min(1, (swings - 3) / 3)``, fit = 1 - mean residual / (tol * price). Overlapping triangles keep
  the best (confirmed, then more swings, then quality).
* **bull_flag** - a pole: bar ``t`` whose high is the highest of the last ``20`` bars and at least
  ``pole_pct = max(2 p, 0.03)`` above the lowest low of the 20 bars before it (the pole start); then a flag
  of at least 3 and at most 20 bars that makes no new high and retraces at most half the pole; breakout:
  the first close above the flag's highest high. Quality: ``0.4 * min(1, rise / (2 pole_pct)) + 0.4 *
  (1 - retrace / 0.5) + 0.2 * (1 - flag_bars / 20)``. Key levels: ``pole_start``, ``pole_top``,
  ``flag_high``, ``flag_low``, ``target`` (breakout close + pole height, or flag high + pole height when
  unconfirmed). Overlapping flags keep the best. **bear_flag** mirrors it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from gpt_trader_core.analysis.levels import SwingPoint, Swings, find_swings
from gpt_trader_core.domain.bars import Bars, to_datetime
from gpt_trader_core.domain.readonly import read_only_fields, rebuild
from gpt_trader_core.errors import InvalidParameterError

FloatArray = NDArray[np.float64]

PATTERN_KINDS: tuple[str, ...] = (
    "double_top",
    "double_bottom",
    "head_and_shoulders",
    "inverse_head_and_shoulders",
    "ascending_triangle",
    "descending_triangle",
    "symmetric_triangle",
    "bull_flag",
    "bear_flag",
)
POLE_BARS = 20
FLAG_MIN_BARS = 3
FLAG_MAX_BARS = 20
MAX_RETRACE = 0.5


@attrs.frozen
class Pattern:
    """A chart pattern from ``start_bar`` to ``end_bar`` (see the module docstring for each kind).

    ``confidence`` in [0, 1]; ``key_levels`` the prices that define it (peaks, neckline, target ...);
    ``confirmed``: the breakout happened (at ``end_bar``); ``bias``: ``bullish``, ``bearish`` or ``neutral``.
    """

    kind: str
    start_bar: int
    end_bar: int
    start_time: dt.datetime
    end_time: dt.datetime
    confidence: float
    key_levels: Mapping[str, float] = attrs.field(hash=False)
    confirmed: bool = False
    bias: str = "neutral"

    def __reduce__(self) -> tuple[Any, ...]:
        # Read-only mapping views do not pickle; without this the value cannot leave a worker process.
        return (rebuild, read_only_fields(self))


@attrs.frozen(eq=False)
class _Context:
    bars: Bars
    close: FloatArray
    high: FloatArray
    low: FloatArray
    pct: float
    tol: float

    def time(self, bar: int) -> dt.datetime:
        return to_datetime(self.bars.timestamps[bar])

    def pattern(
        self,
        kind: str,
        start: int,
        end: int,
        quality: float,
        levels: Mapping[str, float],
        confirmed: bool,
        bias: str,
    ) -> Pattern:
        quality = min(1.0, max(0.0, quality))
        return Pattern(
            kind=kind,
            start_bar=start,
            end_bar=end,
            start_time=self.time(start),
            end_time=self.time(end),
            confidence=0.7 * quality + (0.3 if confirmed else 0.0),
            key_levels=MappingProxyType({k: float(v) for k, v in levels.items()}),
            confirmed=confirmed,
            bias=bias,
        )


def _breakout(
    ctx: _Context,
    first: int,
    wait: int,
    broken: Callable[[int], bool],
    invalid: Callable[[int], bool],
) -> tuple[int | None, bool]:
    """Scan bars ``first..first+wait``: ``(bar, True)`` at a breakout, ``(None, True)`` if the pattern
    failed (invalidated or the wait ran out), ``(None, False)`` if the data ended first."""
    n = len(ctx.close)
    stop = min(n, first + wait + 1)
    for bar in range(first, stop):
        if broken(bar):
            return bar, True
        if invalid(bar):
            return None, True
    return None, stop < n


def _double(ctx: _Context, a: SwingPoint, mid: SwingPoint, b: SwingPoint) -> Pattern | None:
    top = a.kind == "high"
    mean = (a.price + b.price) / 2
    gap = abs(a.price - b.price) / mean
    if gap > ctx.tol:
        return None
    extreme = max(a.price, b.price) if top else min(a.price, b.price)
    neckline = mid.price
    depth = (1 - neckline / extreme) if top else (neckline / extreme - 1)
    if top:
        bar, done = _breakout(
            ctx,
            max(b.confirmed_bar, b.bar + 1),
            b.bar - a.bar,
            lambda i: bool(ctx.close[i] < neckline),
            lambda i: bool(ctx.high[i] > extreme * (1 + ctx.tol)),
        )
    else:
        bar, done = _breakout(
            ctx,
            max(b.confirmed_bar, b.bar + 1),
            b.bar - a.bar,
            lambda i: bool(ctx.close[i] > neckline),
            lambda i: bool(ctx.low[i] < extreme * (1 - ctx.tol)),
        )
    if bar is None and done:
        return None
    quality = 0.6 * (1 - gap / ctx.tol) + 0.4 * min(1.0, depth / (2 * ctx.pct))
    names = ("first_peak", "second_peak") if top else ("first_trough", "second_trough")
    levels = {
        names[0]: a.price,
        names[1]: b.price,
        "neckline": neckline,
        "target": neckline - (extreme - neckline),
    }
    end = bar if bar is not None else b.confirmed_bar
    kind = "double_top" if top else "double_bottom"
    return ctx.pattern(kind, a.bar, end, quality, levels, bar is not None, "bearish" if top else "bullish")


def _line(p: SwingPoint, q: SwingPoint) -> Callable[[int], float]:
    slope = (q.price - p.price) / (q.bar - p.bar)
    return lambda bar: p.price + slope * (bar - p.bar)


def _head_and_shoulders(ctx: _Context, s: tuple[SwingPoint, ...]) -> Pattern | None:
    left, trough1, head, trough2, right = s
    top = head.kind == "high"
    shoulders = (left.price + right.price) / 2
    asymmetry = abs(left.price - right.price) / shoulders
    if asymmetry > 2 * ctx.tol:
        return None
    if top and head.price <= max(left.price, right.price) * (1 + ctx.tol):
        return None
    if not top and head.price >= min(left.price, right.price) * (1 - ctx.tol):
        return None
    neck = _line(trough1, trough2)
    wait = right.bar - left.bar
    first = max(right.confirmed_bar, right.bar + 1)
    if top:
        bar, done = _breakout(
            ctx,
            first,
            wait,
            lambda i: bool(ctx.close[i] < neck(i)),
            lambda i: bool(ctx.high[i] > head.price),
        )
        prominence = head.price / max(left.price, right.price) - 1
    else:
        bar, done = _breakout(
            ctx,
            first,
            wait,
            lambda i: bool(ctx.close[i] > neck(i)),
            lambda i: bool(ctx.low[i] < head.price),
        )
        prominence = 1 - head.price / min(left.price, right.price)
    if bar is None and done:
        return None
    end = bar if bar is not None else right.confirmed_bar
    timing = 1 - abs((head.bar - left.bar) - (right.bar - head.bar)) / (right.bar - left.bar)
    quality = 0.5 * (1 - asymmetry / (2 * ctx.tol)) + 0.25 * min(1.0, prominence / (2 * ctx.tol)) + 0.25 * timing
    neckline = neck(end)
    height = head.price - neck(head.bar)
    levels = {
        "left_shoulder": left.price,
        "head": head.price,
        "right_shoulder": right.price,
        "neckline": neckline,
        "target": neckline - height,
    }
    kind = "head_and_shoulders" if top else "inverse_head_and_shoulders"
    return ctx.pattern(kind, left.bar, end, quality, levels, bar is not None, "bearish" if top else "bullish")


def _fit(points: list[SwingPoint]) -> tuple[float, float, float]:
    """Least-squares line ``price = a + b * bar`` through ``points``: ``(a, b, max relative residual)``."""
    x = np.array([p.bar for p in points], dtype=float)
    y = np.array([p.price for p in points])
    dx = x - x.mean()
    slope = float((dx * (y - y.mean())).sum() / (dx * dx).sum())
    intercept = float(y.mean() - slope * x.mean())
    residual = np.abs(y - (intercept + slope * x)) / y
    return intercept, slope, float(residual.max())


def _triangle(ctx: _Context, window: tuple[SwingPoint, ...]) -> Pattern | None:
    highs = [p for p in window if p.kind == "high"]
    lows = [p for p in window if p.kind == "low"]
    if len(highs) < 2 or len(lows) < 2:
        return None
    a_up, b_up, r_up = _fit(highs)
    a_lo, b_lo, r_lo = _fit(lows)
    if max(r_up, r_lo) > ctx.tol:
        return None
    start, last = window[0].bar, window[-1].bar
    price = float(np.mean([p.price for p in window]))
    change_up = b_up * (last - start) / price
    change_lo = b_lo * (last - start) / price

    def shape(change: float) -> str:
        return "flat" if abs(change) <= ctx.tol else "rising" if change > 0 else "falling"

    kinds = {
        ("flat", "rising"): ("ascending_triangle", "bullish"),
        ("falling", "flat"): ("descending_triangle", "bearish"),
        ("falling", "rising"): ("symmetric_triangle", "neutral"),
    }
    found = kinds.get((shape(change_up), shape(change_lo)))
    if found is None:
        return None
    kind, bias = found

    def upper(bar: int) -> float:
        return a_up + b_up * bar

    def lower(bar: int) -> float:
        return a_lo + b_lo * bar

    if upper(last) - lower(last) >= upper(start) - lower(start):
        return None
    bar, done = _breakout(
        ctx,
        max(window[-1].confirmed_bar, last + 1),
        last - start,
        lambda i: bool(ctx.close[i] > upper(i) or ctx.close[i] < lower(i)),
        lambda i: upper(i) <= lower(i),
    )
    if bar is None and done:
        return None
    if bar is not None:
        bias = "bullish" if ctx.close[bar] > upper(bar) else "bearish"
    end = bar if bar is not None else window[-1].confirmed_bar
    fit = 1 - (r_up + r_lo) / (2 * ctx.tol)
    quality = 0.6 * fit + 0.4 * min(1.0, (len(window) - 3) / 3)
    levels = {
        "upper_start": upper(start),
        "upper_end": upper(end),
        "lower_start": lower(start),
        "lower_end": lower(end),
    }
    if bar is not None:
        levels["breakout"] = float(ctx.close[bar])
    return ctx.pattern(kind, start, end, quality, levels, bar is not None, bias)


def _flags(ctx: _Context, bull: bool) -> list[Pattern]:
    """Bull (or, mirrored, bear) flags; see the module docstring."""
    n = len(ctx.close)
    if n < POLE_BARS + FLAG_MIN_BARS + 2:
        return []
    sign = 1.0 if bull else -1.0
    # Mirror bear flags into bull flags: negate prices (highs become lows).
    high = ctx.high if bull else -ctx.low
    low = ctx.low if bull else -ctx.high
    close = ctx.close * sign
    pole_pct = max(2 * ctx.pct, 0.03)
    top_window = sliding_window_view(high, POLE_BARS + 1).max(axis=1)  # bars t-20..t, t >= 20
    base_window = sliding_window_view(low[:-1], POLE_BARS).min(axis=1)  # bars t-20..t-1, t >= 20
    tops = np.arange(POLE_BARS, n)
    rise = np.abs(high[tops] - base_window) / np.abs(base_window)
    candidates = tops[(high[tops] == top_window) & (rise >= pole_pct)]
    found: list[Pattern] = []
    for t in candidates.tolist():
        start = t - POLE_BARS + int(np.argmin(low[t - POLE_BARS : t]))
        pole_top, pole_base = float(high[t]), float(low[start])
        height = pole_top - pole_base
        floor = pole_top - MAX_RETRACE * height
        flag_high = -np.inf
        flag_low = np.inf
        breakout: int | None = None
        failed = False
        bar = t + 1
        while bar < n and bar - t - 1 <= FLAG_MAX_BARS:
            length = bar - t - 1
            if length >= FLAG_MIN_BARS and close[bar] > flag_high:
                breakout = bar
                break
            if high[bar] > pole_top or low[bar] < floor:
                failed = True
                break
            flag_high = max(flag_high, float(high[bar]))
            flag_low = min(flag_low, float(low[bar]))
            bar += 1
        length = bar - t - 1
        if failed or length < FLAG_MIN_BARS:
            continue
        if breakout is None and bar < n:
            continue  # the flag lasted too long without a breakout
        retrace = (pole_top - flag_low) / height
        rise_t = height / abs(pole_base)
        quality = (
            0.4 * min(1.0, rise_t / (2 * pole_pct))
            + 0.4 * (1 - retrace / MAX_RETRACE)
            + 0.2 * (1 - length / FLAG_MAX_BARS)
        )
        end = breakout if breakout is not None else n - 1
        target = (close[breakout] if breakout is not None else flag_high) + height
        levels = {
            "pole_start": pole_base * sign,
            "pole_top": pole_top * sign,
            "flag_high": (flag_high if bull else flag_low) * sign,
            "flag_low": (flag_low if bull else flag_high) * sign,
            "target": target * sign,
        }
        kind = "bull_flag" if bull else "bear_flag"
        found.append(
            ctx.pattern(kind, start, end, quality, levels, breakout is not None, "bullish" if bull else "bearish")
        )
    return found


def _best_non_overlapping(patterns: Iterable[Pattern]) -> list[Pattern]:
    ranked = sorted(patterns, key=lambda p: (p.confirmed, p.end_bar - p.start_bar, p.confidence), reverse=True)
    kept: list[Pattern] = []
    for p in ranked:
        if all(p.end_bar < q.start_bar or p.start_bar > q.end_bar for q in kept):
            kept.append(p)
    return kept


def detect_patterns(
    bars: Bars,
    *,
    swing_pct: float | None = None,
    swings: Swings | None = None,
    kinds: Iterable[str] | None = None,
) -> tuple[Pattern, ...]:
    """Chart patterns in ``bars``, sorted by ``end_bar`` (see the module docstring for the rules).

    ``swings`` reuses swing points found earlier (then ``swing_pct`` is ignored); ``kinds`` restricts the
    search to some of ``PATTERN_KINDS``.
    """
    wanted = set(PATTERN_KINDS if kinds is None else kinds)
    unknown = sorted(wanted - set(PATTERN_KINDS))
    if unknown:
        raise InvalidParameterError(
            f"unknown pattern kind {', '.join(map(repr, unknown))}; use any of {', '.join(PATTERN_KINDS)}"
        )
    if swings is None:
        swings = find_swings(bars, swing_pct)
    ctx = _Context(bars, bars.close, bars.high, bars.low, swings.swing_pct, max(swings.swing_pct / 2, 0.005))
    points = swings.points
    found: list[Pattern] = []
    for i in range(len(points) - 2):
        p = _double(ctx, *points[i : i + 3])
        if p is not None and p.kind in wanted:
            found.append(p)
    for i in range(len(points) - 4):
        p = _head_and_shoulders(ctx, points[i : i + 5])
        if p is not None and p.kind in wanted:
            found.append(p)
    triangles = []
    for size in (4, 5, 6):
        for i in range(len(points) - size + 1):
            p = _triangle(ctx, points[i : i + size])
            if p is not None and p.kind in wanted:
                triangles.append(p)
    found.extend(_best_non_overlapping(triangles))
    for bull in (True, False):
        if ("bull_flag" if bull else "bear_flag") in wanted:
            found.extend(_best_non_overlapping(_flags(ctx, bull)))
    return tuple(sorted(found, key=lambda p: (p.end_bar, p.start_bar, p.kind)))
