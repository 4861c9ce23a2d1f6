"""The rules regime detector: trend, volatility and drawdown against fixed thresholds.

Notation: bars ``0..n-1`` with open ``O``, high ``H``, low ``L``, close ``C``; ``P`` = periods per year
(``RegimeThresholds.annualisation``: 252 for daily bars). Every quantity at bar ``i`` uses bars ``0..i``
only, so the label of bar ``i`` never changes when bars are appended (causal). Near the start, where a
window is not yet full, each quantity uses the bars available (the "best available estimate"): every bar
gets a label, the first ones less reliable.

Features
    * log return ``r_i = ln(C_i / C_{i-1})``, and ``r_0 = ln(C_0 / O_0)``.
    * trend ``T_i = P * sum_k w^k r_{i-k} / sum_k w^k`` (k = 0..i), ``w = 1 - 2 / (trend_window + 1)``:
      the exponentially weighted mean log return with span ``trend_window``, annualised.
    * Garman-Klass variance of each bar, with the overnight gap:
      ``g_i = ln(O_i / C_{i-1})^2 + 0.5 ln(H_i / L_i)^2 - (2 ln 2 - 1) ln(C_i / O_i)^2``
      (``g_0`` without the gap term); it is >= 0 because ``ln(H/L) >= |ln(C/O)|``. Range-based: about
      seven times as efficient as squared close-to-close returns, so a short window is enough.
    * volatility ``V_i = sqrt(P * mean(g_{i-vol_window+1..i}))`` (annualised).
    * drawdown ``DD_i = 1 - C_i / max(C_{i-drawdown_window+1..i})``.

Raw label of bar ``i``
    * ``crisis`` if ``V_i > crisis_vol`` and ``DD_i > crisis_drawdown``;
    * otherwise ``<direction>_<volatility>``: direction from ``T_i`` with a Schmitt trigger - starting
      ``sideways``, it becomes ``bull`` when ``T > bull_trend + h``, ``bear`` when ``T < bear_trend - h``;
      ``bull`` falls back to ``sideways`` when ``T < bull_trend - h`` (straight to ``bear`` when
      ``T < bear_trend - h``), ``bear`` symmetrically, ``h = hysteresis`` (with ``h = 0`` simply: above
      ``bull_trend`` bull, below ``bear_trend`` bear, else sideways); volatility ``volatile`` if
      ``V_i > high_vol``, else ``quiet``.

Smoothing
    The output keeps its regime until the raw label has named one other regime for ``min_duration``
    consecutive bars, then switches to it (bar 0 takes its raw label).

Confidence (of ``current``, the last bar's regime ``R``)
    ``confidence = support * (0.5 + 0.5 * persistence)`` where

    * ``persistence`` = share of the last ``max(5, min_duration)`` raw labels equal to ``R``;
    * ``support`` measures how far the last bar's features are inside ``R``'s region, in units of their
      estimation noise, through the normal CDF ``Phi``: with ``se_T = V * sqrt(P / n_T)`` (the standard
      error of the trend, ``n_T = min(n, trend_window)``) and ``z_V(x) = ln(V / x) * sqrt(2 n_V)``
      (``n_V = min(n, vol_window)``):
      direction ``bull``: ``Phi((T - bull_trend) / se_T)``, ``bear``: ``Phi((bear_trend - T) / se_T)``,
      ``sideways``: ``Phi(min(bull_trend - T, T - bear_trend) / se_T)``; volatility ``volatile``:
      ``Phi(z_V(high_vol))``, ``quiet``: ``Phi(-z_V(high_vol))``; ``support`` = direction × volatility
      terms, and for ``crisis`` ``Phi(z_V(crisis_vol)) * Phi((DD - crisis_drawdown) / (V sqrt(n_V / P)))``.

    1 means the features sit far inside the regime and the raw label has not wavered lately; near a
    threshold or right after a switch it is low.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from numpy.typing import NDArray

from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.regime.values import REGIMES, RegimeThresholds

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int8]

CRISIS = REGIMES.index("crisis")
_GK_CLOSE = 2.0 * math.log(2.0) - 1.0
_BULL, _BEAR, _SIDEWAYS = 0, 1, 2


@attrs.frozen(eq=False)
class RegimeFeatures:
    """Per-bar features of the rules detector (see the module docstring); all causal."""

    returns: FloatArray
    trend: FloatArray
    gk_variance: FloatArray
    volatility: FloatArray
    drawdown: FloatArray
    periods_per_year: float


def ewm_mean(values: FloatArray, span: int) -> FloatArray:
    """Adjusted exponentially weighted mean (pandas ``ewm(span, adjust=True).mean()``), causal."""
    decay = 1.0 - 2.0 / (span + 1.0)
    out = np.empty(values.size)
    num = 0.0
    den = 0.0
    for i, value in enumerate(values.tolist()):
        num = value + decay * num
        den = 1.0 + decay * den
        out[i] = num / den
    return out


def trailing_mean(values: FloatArray, window: int) -> FloatArray:
    """Mean of the last ``window`` values (fewer at the start), each window summed on its own."""
    n = values.size
    out = np.empty(n)
    head = min(window, n)
    out[:head] = np.cumsum(values[:head]) / np.arange(1, head + 1)
    if n > window:
        out[window:] = np.lib.stride_tricks.sliding_window_view(values[1:], window).mean(axis=1)
    return out


def trailing_max(values: FloatArray, window: int) -> FloatArray:
    """Highest of the last ``window`` values (fewer at the start)."""
    n = values.size
    out = np.maximum.accumulate(values)
    if n > window:
        out[window - 1 :] = np.lib.stride_tricks.sliding_window_view(values, window).max(axis=1)
    return out


def garman_klass(bars: Bars) -> FloatArray:
    """Per-bar Garman-Klass variance with the overnight gap term (see the module docstring)."""
    log_hl = np.log(bars.high / bars.low)
    log_co = np.log(bars.close / bars.open)
    gap = np.zeros(len(bars))
    gap[1:] = np.log(bars.open[1:] / bars.close[:-1])
    variance: FloatArray = np.maximum(gap**2 + 0.5 * log_hl**2 - _GK_CLOSE * log_co**2, 0.0)
    return variance


def compute_features(bars: Bars, thresholds: RegimeThresholds) -> RegimeFeatures:
    """The rules detector's per-bar features."""
    ppy = thresholds.annualisation(bars.timeframe)
    close = bars.close
    returns = np.empty(len(bars))
    returns[0] = math.log(close[0] / bars.open[0])
    returns[1:] = np.log(close[1:] / close[:-1])
    trend = ewm_mean(returns, thresholds.trend_window) * ppy
    gk = garman_klass(bars)
    volatility = np.sqrt(trailing_mean(gk, thresholds.vol_window) * ppy)
    drawdown = 1.0 - close / trailing_max(close, thresholds.drawdown_window)
    return RegimeFeatures(returns, trend, gk, volatility, drawdown, ppy)


def _directions(trend: FloatArray, bull: float, bear: float, h: float) -> NDArray[np.int8]:
    """Direction per bar (0 bull, 1 bear, 2 sideways) by the Schmitt trigger of the module docstring."""
    out = np.empty(trend.size, dtype=np.int8)
    if h == 0.0:
        out[:] = _SIDEWAYS
        out[trend > bull] = _BULL
        out[trend < bear] = _BEAR
        return out
    state = _SIDEWAYS
    for i, value in enumerate(trend.tolist()):
        if value > bull + h:
            state = _BULL
        elif value < bear - h:
            state = _BEAR
        elif (state == _BULL and value < bull - h) or (state == _BEAR and value > bear + h):
            state = _SIDEWAYS
        out[i] = state
    return out


def raw_labels(features: RegimeFeatures, thresholds: RegimeThresholds) -> IntArray:
    """Unsmoothed regime index per bar."""
    t = thresholds
    direction = _directions(features.trend, t.bull_trend, t.bear_trend, t.hysteresis)
    volatile = (features.volatility > t.high_vol).astype(np.int8)
    labels = (direction * 2 + volatile).astype(np.int8)
    crisis = (features.volatility > t.crisis_vol) & (features.drawdown > t.crisis_drawdown)
    labels[crisis] = CRISIS
    return labels


def smooth_labels(raw: IntArray, min_duration: int) -> IntArray:
    """Switch only after ``min_duration`` consecutive raw labels name the same new regime (causal)."""
    if min_duration <= 1 or raw.size == 0:
        return raw.copy()
    out = np.empty_like(raw)
    current = int(raw[0])
    candidate = current
    run = 0
    for i, label in enumerate(raw.tolist()):
        if label == candidate:
            run += 1
        else:
            candidate, run = label, 1
        if candidate != current and run >= min_duration:
            current = candidate
        out[i] = current
    return out


def _phi(z: float) -> float:
    if math.isnan(z):
        return 0.5
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _support(regime: int, f: RegimeFeatures, t: RegimeThresholds, n: int) -> float:
    trend = float(f.trend[-1])
    vol = float(f.volatility[-1])
    drawdown = float(f.drawdown[-1])
    n_trend = min(n, t.trend_window)
    n_vol = min(n, t.vol_window)
    se_trend = max(vol, 1e-12) * math.sqrt(f.periods_per_year / n_trend)
    log_vol = math.log(max(vol, 1e-12))

    def z_vol(level: float) -> float:
        return (log_vol - math.log(level)) * math.sqrt(2.0 * n_vol)

    if regime == CRISIS:
        dd_scale = max(vol, 1e-12) * math.sqrt(n_vol / f.periods_per_year)
        return _phi(z_vol(t.crisis_vol)) * _phi((drawdown - t.crisis_drawdown) / dd_scale)
    direction, volatile = divmod(regime, 2)
    if direction == _BULL:
        dir_z = (trend - t.bull_trend) / se_trend
    elif direction == _BEAR:
        dir_z = (t.bear_trend - trend) / se_trend
    else:
        dir_z = min(t.bull_trend - trend, trend - t.bear_trend) / se_trend
    vol_z = z_vol(t.high_vol) if volatile else -z_vol(t.high_vol)
    return _phi(dir_z) * _phi(vol_z)


def detect_rules(bars: Bars, thresholds: RegimeThresholds) -> tuple[IntArray, float, IntArray]:
    """Smoothed regime index per bar, the confidence of the last one, and the raw labels."""
    features = compute_features(bars, thresholds)
    raw = raw_labels(features, thresholds)
    labels = smooth_labels(raw, thresholds.min_duration)
    current = int(labels[-1])
    recent = raw[-max(5, thresholds.min_duration) :]
    persistence = float(np.mean(recent == current))
    confidence = _support(current, features, thresholds, len(bars)) * (0.5 + 0.5 * persistence)
    return labels, confidence, raw
