"""The ranking without a trained model (``predict(None, bars)``), from the regime of the last bar.

Heuristic fallback (``predict(None, bars)``)
-------------------------------------------
Without a trained model the ranking follows the regime of the last bar (``detect_regime``, rules):

=====================  ==========================================================================
regime                 ranking (best first)
=====================  ==========================================================================
``crisis``             volatility, mean_reversion, breakout, momentum, sma_cross — and ``stay_flat``
``bull/bear_quiet``    sma_cross, breakout, momentum, volatility, mean_reversion (trend, calm)
``bull/bear_volatile`` volatility, breakout, momentum, sma_cross, mean_reversion (trend, high vol)
``sideways_quiet``     mean_reversion, volatility, breakout, sma_cross, momentum
``sideways_volatile``  volatility, mean_reversion, breakout, momentum, sma_cross
=====================  ==========================================================================

In a trending regime whose 60-bar trend t-statistic is weak (``|trend_t_60| < 3``; the statistic ignores
the autocorrelation of the residuals, so it runs large: its median is about 8 on synthetic daily data)
``volatility`` moves to the top. The heuristic is not validated, so its confidence stays below any model's
with a modest out-of-sample edge: ``0.02 × stability × (1 - 0.2 × rank)``, where stability is the share of
the last 20 bars in the current regime (at most 0.02). No return or Sharpe is estimated (``None``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.ml.features import FEATURE_NAMES, REGIME_NAMES, WARMUP_BARS, FeatureMatrix, compute_features
from gpt_trader_core.ml.results import DEFAULT_HORIZON, StrategyRecommendation, StrategyScore
from gpt_trader_core.ml.ridge import FloatArray
from gpt_trader_core.strategy.base import Strategy

HEURISTIC_MAX_CONFIDENCE = 0.02
_STABILITY_BARS = 20
_WEAK_TREND_T = 3.0


def last_row(bars: Bars, strategies: Sequence[Strategy] = ()) -> tuple[FeatureMatrix, FloatArray]:
    if not isinstance(bars, Bars):
        raise InvalidParameterError(f"recommendations need gt.Bars, got {type(bars).__name__}")
    if len(bars) < WARMUP_BARS:
        raise InvalidDataError(
            f"{bars.symbol}: {len(bars)} bars are too few for a recommendation: the features need at least "
            f"{WARMUP_BARS} bars"
        )
    features = compute_features(bars, strategies)
    row = features.values[-1]
    if not np.isfinite(row).all():
        bad = [name for name, value in zip(features.names, row, strict=True) if not np.isfinite(value)]
        raise InvalidDataError(f"{bars.symbol}: the features of the last bar are undefined ({', '.join(bad)})")
    return features, row


_HEURISTIC_RANKINGS: dict[str, tuple[str, ...]] = {
    "crisis": ("volatility", "mean_reversion", "breakout", "momentum", "sma_cross"),
    "quiet_trend": ("sma_cross", "breakout", "momentum", "volatility", "mean_reversion"),
    "volatile_trend": ("volatility", "breakout", "momentum", "sma_cross", "mean_reversion"),
    "sideways_quiet": ("mean_reversion", "volatility", "breakout", "sma_cross", "momentum"),
    "sideways_volatile": ("volatility", "mean_reversion", "breakout", "momentum", "sma_cross"),
}
_HEURISTIC_WHY = {
    "crisis": "crisis: stay flat or keep exposure minimal ('volatility' goes flat when volatility is high)",
    "quiet_trend": "trending, calm market: trend followers first",
    "volatile_trend": "trending but volatile market: the volatility filter first, then breakouts",
    "sideways_quiet": "sideways, quiet market: mean reversion first",
    "sideways_volatile": "sideways, volatile market: the volatility filter first, then mean reversion",
}


def _heuristic_state(regime: str) -> str:
    if regime in ("crisis", "sideways_quiet", "sideways_volatile"):
        return regime
    if regime.endswith("_quiet"):
        return "quiet_trend"
    return "volatile_trend"


def heuristic_order(regime: str, trend_t: float) -> tuple[tuple[str, ...], bool, str]:
    """The heuristic's ranking of the five built-ins for a bar in ``regime`` with 60-bar trend t-statistic
    ``trend_t``: (ranking best first, stay flat?, why). See the module docstring."""
    if regime not in REGIME_NAMES:
        raise InvalidDataError(f"unknown regime {regime!r}; expected one of {', '.join(REGIME_NAMES)}")
    state = _heuristic_state(regime)
    order = _HEURISTIC_RANKINGS[state]
    why = _HEURISTIC_WHY[state]
    if state in ("quiet_trend", "volatile_trend") and abs(trend_t) < _WEAK_TREND_T:
        order = ("volatility", *(name for name in order if name != "volatility"))
        why += f"; the 60-bar trend is weak (t = {trend_t:+.1f}), so the volatility filter leads"
    return order, state == "crisis", why


def heuristic_recommendation(bars: Bars) -> StrategyRecommendation:
    features, row = last_row(bars)
    regime = features.regimes[-1]
    order, stay_flat, why = heuristic_order(regime, float(row[FEATURE_NAMES.index("trend_t_60")]))
    recent = features.regimes[-_STABILITY_BARS:]
    stability = sum(1 for r in recent if r == regime) / len(recent)
    ranking = tuple(
        StrategyScore(name, None, None, HEURISTIC_MAX_CONFIDENCE * stability * (1.0 - 0.2 * rank))
        for rank, name in enumerate(order)
    )
    return StrategyRecommendation(
        symbol=bars.symbol,
        as_of=bars.end,
        horizon=DEFAULT_HORIZON,
        source="heuristic",
        regime=regime,
        ranking=ranking,
        stay_flat=stay_flat,
        reason=f"heuristic (no trained model), regime {regime}: {why}",
    )
