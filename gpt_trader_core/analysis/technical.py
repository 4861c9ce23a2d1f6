"""``analyze(bars)``: the latest indicator values, trend and momentum summaries, levels and patterns.

Indicators (``gpt_trader_core.indicators``, latest bar; NaN while an indicator is still warming up):
SMA 20/50/200 (only the periods the data allows: ``period <= len(bars)``), EMA 12/26, RSI 14,
MACD 12/26/9 (line, signal, histogram), Bollinger 20/2 (middle, upper, lower and
``%B = (close - lower) / (upper - lower)``), ATR 14, OBV, stochastic 14/3 (%K, %D).

Trend (``TrendSummary``)
    * ADX 14, Wilder's: ``+DM = high - prev_high`` when it exceeds ``prev_low - low`` and is > 0 (else 0),
      ``-DM`` symmetrically; ``+DI = 100 * W(+DM) / W(TR)``, ``-DI = 100 * W(-DM) / W(TR)``,
      ``DX = 100 * |+DI - -DI| / (+DI + -DI)``, ``ADX = W(DX)`` with ``W`` Wilder's smoothing (seeded by
      the simple mean of the first 14 values). Valid from bar 27.
    * ``slope_pct``: least-squares slope of ``ln(close)`` over the last 20 bars, as % per bar.
    * votes, each +1 (up) or -1 (down), from the comparisons that the data allows: close vs SMA20,
      close vs SMA50, SMA20 vs SMA50, SMA50 vs SMA200, the sign of ``slope_pct`` and +DI vs -DI;
      ``score`` = mean vote in [-1, 1].
    * ``direction``: ``up`` if ``score > 1/3`` and ``ADX >= 20``, ``down`` if ``score < -1/3`` and
      ``ADX >= 20``, else ``sideways``. ``strength = min(1, ADX / 50) * |score|`` in [0, 1] (before ADX
      is valid, ``ADX`` counts as 0: sideways, strength 0).

Momentum (``MomentumSummary``)
    * ``rsi_zone``: ``overbought`` if RSI >= 70, ``oversold`` if <= 30, else ``neutral``;
      ``stochastic_zone`` likewise at 80 / 20 on %K.
    * ``macd_state``: ``bullish`` when the MACD line is above its signal, ``bearish`` below;
      ``last_cross`` (``bullish_cross`` / ``bearish_cross``) and ``bars_since_cross`` describe the most
      recent sign change of the histogram (``None`` if there was none); ``recent_cross`` is
      ``last_cross`` when it happened within the last 5 bars, else ``None``.

Levels and patterns: ``gpt_trader_core.analysis.levels`` and ``gpt_trader_core.analysis.patterns``.
Everything is computed from the bars up to the last one only.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from gpt_trader_core import indicators as ind
from gpt_trader_core.analysis.levels import SupportResistance, SwingPoint, find_swings, support_resistance
from gpt_trader_core.analysis.patterns import Pattern, detect_patterns
from gpt_trader_core.data.frames import bars_from_frame, is_frame
from gpt_trader_core.domain.bars import Bars, to_datetime
from gpt_trader_core.domain.readonly import read_only_fields, rebuild
from gpt_trader_core.errors import InvalidDataError

FloatArray = NDArray[np.float64]

#: Fewest bars ``analyze`` accepts: MACD 12/26/9 needs 34 for its signal line.
MIN_BARS = 34
SMA_PERIODS = (20, 50, 200)
ADX_PERIOD = 14
SLOPE_BARS = 20
CROSS_LOOKBACK = 5


def as_bars(data: Any, what: str = "bars") -> Bars:
    """``Bars`` as is, or a pandas OHLC DataFrame converted; anything else is an ``InvalidDataError``."""
    if isinstance(data, Bars):
        return data
    if is_frame(data):
        return bars_from_frame(data, "DATA")
    raise InvalidDataError(
        f"{what} must be gt.Bars or a pandas DataFrame with Open/High/Low/Close columns, got {type(data).__name__}"
    )


@attrs.frozen
class IndicatorValues:
    """Latest indicator values (NaN while warming up); ``sma`` holds the periods the data allows."""

    sma: Mapping[int, float] = attrs.field(hash=False)
    ema_12: float
    ema_26: float
    rsi_14: float
    macd: float
    macd_signal: float
    macd_histogram: float
    bollinger_middle: float
    bollinger_upper: float
    bollinger_lower: float
    bollinger_percent_b: float
    atr_14: float
    obv: float
    stochastic_k: float
    stochastic_d: float

    def __reduce__(self) -> tuple[Any, ...]:
        # Read-only mapping views do not pickle; without this the value cannot leave a worker process.
        return (rebuild, read_only_fields(self))


@attrs.frozen
class TrendSummary:
    """Trend direction (``up`` / ``down`` / ``sideways``), strength in [0, 1] and its ingredients."""

    direction: str
    strength: float
    score: float
    adx: float
    plus_di: float
    minus_di: float
    slope_pct: float
    votes: Mapping[str, int] = attrs.field(hash=False)

    def __reduce__(self) -> tuple[Any, ...]:
        # Read-only mapping views do not pickle; without this the value cannot leave a worker process.
        return (rebuild, read_only_fields(self))


@attrs.frozen
class MomentumSummary:
    """RSI and stochastic zones and the MACD cross state (see the module docstring)."""

    rsi: float
    rsi_zone: str
    stochastic_zone: str
    macd_state: str
    last_cross: str | None
    bars_since_cross: int | None
    recent_cross: str | None


@attrs.frozen(eq=False)
class MarketAnalysis:
    """Everything ``analyze`` found about one history of bars, as of its last bar."""

    symbol: str
    timeframe: str
    bars: int
    time: dt.datetime
    close: float
    indicators: IndicatorValues
    trend: TrendSummary
    momentum: MomentumSummary
    levels: SupportResistance
    swings: tuple[SwingPoint, ...]
    patterns: tuple[Pattern, ...]

    @property
    def nearest_support(self) -> float | None:
        level = self.levels.nearest_support
        return None if level is None else level.price

    @property
    def nearest_resistance(self) -> float | None:
        level = self.levels.nearest_resistance
        return None if level is None else level.price

    def recent_patterns(self, bars: int = 60) -> tuple[Pattern, ...]:
        """Patterns that end within the last ``bars`` bars."""
        return tuple(p for p in self.patterns if p.end_bar >= self.bars - bars)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (NaN as ``None``)."""
        out: dict[str, Any] = _jsonable(
            {
                "symbol": self.symbol,
                "timeframe": self.timeframe,
                "bars": self.bars,
                "time": self.time,
                "close": self.close,
                "indicators": attrs.asdict(self.indicators),
                "trend": attrs.asdict(self.trend),
                "momentum": attrs.asdict(self.momentum),
                "levels": attrs.asdict(self.levels),
                "patterns": [attrs.asdict(p) for p in self.patterns],
            }
        )
        return out

    def __repr__(self) -> str:
        return (
            f"MarketAnalysis({self.symbol} {self.timeframe}, close {self.close:g} at {self.time:%Y-%m-%d}: "
            f"trend {self.trend.direction} ({self.trend.strength:.2f}), RSI {self.indicators.rsi_14:.1f} "
            f"{self.momentum.rsi_zone}, MACD {self.momentum.macd_state}, support {self.nearest_support}, "
            f"resistance {self.nearest_resistance}, {len(self.patterns)} patterns)"
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _last(values: FloatArray) -> float:
    return float(values[-1])


def wilder(values: FloatArray, period: int) -> FloatArray:
    """Wilder's smoothing from the first ``period`` valid values (seeded by their mean); NaN before."""
    out = np.full(values.size, np.nan)
    valid = np.flatnonzero(~np.isnan(values))
    if valid.size < period:
        return out
    first = int(valid[0])
    if first + period > values.size:
        return out
    seed = float(np.mean(values[first : first + period]))
    out[first + period - 1] = seed
    current = seed
    for i in range(first + period, values.size):
        current += (float(values[i]) - current) / period
        out[i] = current
    return out


def adx(bars: Bars, period: int = ADX_PERIOD) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Wilder's ADX, +DI and -DI (see the module docstring); NaN during the warm-up."""
    n = len(bars)
    high, low, close = bars.high, bars.low, bars.close
    up = np.zeros(n)
    down = np.zeros(n)
    tr = np.full(n, np.nan)
    if n > 1:
        move_up = high[1:] - high[:-1]
        move_down = low[:-1] - low[1:]
        up[1:] = np.where((move_up > move_down) & (move_up > 0), move_up, 0.0)
        down[1:] = np.where((move_down > move_up) & (move_down > 0), move_down, 0.0)
        prev = close[:-1]
        tr[1:] = np.maximum(high[1:] - low[1:], np.maximum(np.abs(high[1:] - prev), np.abs(low[1:] - prev)))
    up[0] = down[0] = np.nan
    smooth_tr = wilder(tr, period)
    with np.errstate(divide="ignore", invalid="ignore"):
        plus_di = np.where(smooth_tr > 0, 100.0 * wilder(up, period) / smooth_tr, 0.0)
        minus_di = np.where(smooth_tr > 0, 100.0 * wilder(down, period) / smooth_tr, 0.0)
        plus_di[np.isnan(smooth_tr)] = np.nan
        minus_di[np.isnan(smooth_tr)] = np.nan
        total = plus_di + minus_di
        dx = np.where(total > 0, 100.0 * np.abs(plus_di - minus_di) / total, 0.0)
    dx[np.isnan(total)] = np.nan
    return wilder(dx, period), plus_di, minus_di


def log_slope_pct(close: FloatArray, bars: int = SLOPE_BARS) -> float:
    """Least-squares slope of ``ln(close)`` over the last ``bars`` bars, as % per bar."""
    y = np.log(close[-bars:])
    if y.size < 2:
        return math.nan
    x = np.arange(y.size, dtype=float)
    x -= x.mean()
    slope = float((x * (y - y.mean())).sum() / (x * x).sum())
    return math.expm1(slope) * 100.0


def indicator_values(bars: Bars) -> IndicatorValues:
    """Latest values of the standard indicators (see the module docstring)."""
    close = bars.close
    macd = ind.macd(close)
    bands = ind.bollinger(close)
    width = _last(bands.upper) - _last(bands.lower)
    percent_b = (float(close[-1]) - _last(bands.lower)) / width if width > 0 else math.nan
    stoch = ind.stochastic(bars.high, bars.low, close)
    sma = {p: _last(ind.sma(close, p)) for p in SMA_PERIODS if p <= len(bars)}
    return IndicatorValues(
        sma=MappingProxyType(sma),
        ema_12=_last(ind.ema(close, 12)),
        ema_26=_last(ind.ema(close, 26)),
        rsi_14=_last(ind.rsi(close, 14)),
        macd=_last(macd.macd),
        macd_signal=_last(macd.signal),
        macd_histogram=_last(macd.histogram),
        bollinger_middle=_last(bands.middle),
        bollinger_upper=_last(bands.upper),
        bollinger_lower=_last(bands.lower),
        bollinger_percent_b=percent_b,
        atr_14=_last(ind.atr(bars.high, bars.low, close, 14)),
        obv=_last(ind.obv(close, bars.volume)),
        stochastic_k=_last(stoch.k),
        stochastic_d=_last(stoch.d),
    )


@attrs.frozen(eq=False)
class IndicatorSeries:
    """The indicators a price chart draws, one value per bar (NaN while warming up): SMA 20 and 50,
    Bollinger 20/2 (upper, middle, lower) and RSI 14 — the same functions as ``IndicatorValues``."""

    sma_20: FloatArray
    sma_50: FloatArray
    bollinger_upper: FloatArray
    bollinger_middle: FloatArray
    bollinger_lower: FloatArray
    rsi_14: FloatArray


def indicator_series(bars: Bars | Any) -> IndicatorSeries:
    """Per-bar SMA 20/50, Bollinger 20/2 and RSI 14 of ``bars`` (for charts; ``analyze`` gives the latest)."""
    close = as_bars(bars).close
    bands = ind.bollinger(close)
    return IndicatorSeries(
        sma_20=ind.sma(close, 20),
        sma_50=ind.sma(close, 50),
        bollinger_upper=bands.upper,
        bollinger_middle=bands.middle,
        bollinger_lower=bands.lower,
        rsi_14=ind.rsi(close, 14),
    )


def _vote(a: float, b: float) -> int | None:
    if math.isnan(a) or math.isnan(b) or a == b:
        return None
    return 1 if a > b else -1


def trend_summary(bars: Bars, values: IndicatorValues) -> TrendSummary:
    """Direction and strength of the trend (see the module docstring)."""
    close = float(bars.close[-1])
    adx_line, plus_di, minus_di = adx(bars)
    adx_now, plus_now, minus_now = _last(adx_line), _last(plus_di), _last(minus_di)
    slope = log_slope_pct(bars.close)
    sma20 = values.sma.get(20, math.nan)
    sma50 = values.sma.get(50, math.nan)
    sma200 = values.sma.get(200, math.nan)
    candidates = {
        "close_vs_sma20": _vote(close, sma20),
        "close_vs_sma50": _vote(close, sma50),
        "sma20_vs_sma50": _vote(sma20, sma50),
        "sma50_vs_sma200": _vote(sma50, sma200),
        "slope": _vote(slope, 0.0),
        "di": _vote(plus_now, minus_now),
    }
    votes = {name: v for name, v in candidates.items() if v is not None}
    score = float(np.mean(list(votes.values()))) if votes else 0.0
    strength_adx = 0.0 if math.isnan(adx_now) else adx_now
    if score > 1 / 3 and strength_adx >= 20:
        direction = "up"
    elif score < -1 / 3 and strength_adx >= 20:
        direction = "down"
    else:
        direction = "sideways"
    return TrendSummary(
        direction=direction,
        strength=min(1.0, strength_adx / 50.0) * abs(score),
        score=score,
        adx=adx_now,
        plus_di=plus_now,
        minus_di=minus_now,
        slope_pct=slope,
        votes=MappingProxyType(votes),
    )


def _zone(value: float, high: float, low: float) -> str:
    if math.isnan(value):
        return "unknown"
    if value >= high:
        return "overbought"
    if value <= low:
        return "oversold"
    return "neutral"


def momentum_summary(bars: Bars, values: IndicatorValues) -> MomentumSummary:
    """RSI / stochastic zones and the MACD cross state (see the module docstring)."""
    histogram = ind.macd(bars.close).histogram
    valid = np.flatnonzero(~np.isnan(histogram))
    last_cross: str | None = None
    since: int | None = None
    if valid.size > 1:
        h = histogram[valid]
        sign = np.sign(h)
        changes = np.flatnonzero((sign[1:] > 0) & (sign[:-1] <= 0) | (sign[1:] < 0) & (sign[:-1] >= 0)) + 1
        if changes.size:
            at = int(changes[-1])
            last_cross = "bullish_cross" if h[at] > 0 else "bearish_cross"
            since = len(bars) - 1 - int(valid[at])
    hist_now = values.macd_histogram
    if math.isnan(hist_now):
        state = "unknown"
    else:
        state = "bullish" if hist_now > 0 else "bearish" if hist_now < 0 else "neutral"
    return MomentumSummary(
        rsi=values.rsi_14,
        rsi_zone=_zone(values.rsi_14, 70.0, 30.0),
        stochastic_zone=_zone(values.stochastic_k, 80.0, 20.0),
        macd_state=state,
        last_cross=last_cross,
        bars_since_cross=since,
        recent_cross=last_cross if since is not None and since < CROSS_LOOKBACK else None,
    )


def analyze(bars: Bars | Any, *, swing_pct: float | None = None) -> MarketAnalysis:
    """Technical analysis of ``bars`` as of the last bar (needs at least 34 bars).

    ``swing_pct``: the minimum move (a fraction, e.g. 0.05) between swing points used for levels and
    patterns; default ``clip(2.5 * ATR14 / close, 0.01, 0.25)`` at the last bar (see
    ``gpt_trader_core.analysis.levels``). Returns a ``MarketAnalysis``: ``indicators``, ``trend``,
    ``momentum``, ``levels`` (support / resistance, nearest below / above the close), ``swings`` and
    ``patterns``.
    """
    data = as_bars(bars)
    if len(data) < MIN_BARS:
        raise InvalidDataError(
            f"analyze needs at least {MIN_BARS} bars (MACD 12/26/9 needs {MIN_BARS} for its signal line), "
            f"got {len(data)} for {data.symbol}; load a longer history"
        )
    values = indicator_values(data)
    swings = find_swings(data, swing_pct)
    levels = support_resistance(data, swings=swings)
    return MarketAnalysis(
        symbol=data.symbol,
        timeframe=data.timeframe,
        bars=len(data),
        time=to_datetime(data.timestamps[-1]),
        close=float(data.close[-1]),
        indicators=values,
        trend=trend_summary(data, values),
        momentum=momentum_summary(data, values),
        levels=levels,
        swings=swings.points,
        patterns=detect_patterns(data, swings=swings),
    )
