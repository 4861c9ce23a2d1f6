"""Market regimes: seven named regimes, detected per bar by rules or by a Gaussian HMM.

    from gpt_trader_core.regime import detect_regime
    analysis = detect_regime(bars)                       # rules (default)
    analysis = detect_regime(bars, method="hmm")         # walk-forward Gaussian HMM
    analysis.current, analysis.confidence, analysis.series, analysis.transition_matrix

Formulas: ``gpt_trader_core.regime.rules`` (features, thresholds, smoothing, confidence),
``gpt_trader_core.regime.hmm`` (the model, EM, the state → regime mapping) and
``gpt_trader_core.regime.values`` (summary statistics, accuracy scores).
"""

from gpt_trader_core.regime.detect import detect_regime
from gpt_trader_core.regime.hmm import GaussianHMM, HMMOptions, fit_hmm
from gpt_trader_core.regime.values import (
    DIRECTIONS,
    METHODS,
    REGIMES,
    VOLATILITIES,
    RegimeAccuracy,
    RegimeAnalysis,
    RegimeChange,
    RegimeThresholds,
    accuracy_report,
    default_periods_per_year,
    direction_of,
    regime_accuracy,
    regime_index,
    volatility_of,
)

__all__ = [
    "DIRECTIONS",
    "METHODS",
    "REGIMES",
    "VOLATILITIES",
    "GaussianHMM",
    "HMMOptions",
    "RegimeAccuracy",
    "RegimeAnalysis",
    "RegimeChange",
    "RegimeThresholds",
    "accuracy_report",
    "default_periods_per_year",
    "detect_regime",
    "direction_of",
    "fit_hmm",
    "regime_accuracy",
    "regime_index",
    "volatility_of",
]
