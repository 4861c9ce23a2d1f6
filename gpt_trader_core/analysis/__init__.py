"""Market analysis: technical snapshot, levels and chart patterns, strategy comparison, portfolio risk.

    from gpt_trader_core.analysis import analyze, compare_strategies, analyze_portfolio
    snapshot = analyze(bars)                  # indicators, trend, momentum, support/resistance, patterns
    table = compare_strategies(bars, ["sma_cross", ("momentum", {"lookback": 50})], registry=REGISTRY, commission=0.001)
    risk = analyze_portfolio({"AAPL": aapl, "MSFT": msft}, {"AAPL": 0.6, "MSFT": 0.4})

Formulas and rules are documented in each module: ``technical``, ``levels``, ``patterns``, ``compare``,
``portfolio``.
"""

from gpt_trader_core.analysis.compare import (
    RANKABLE,
    ComparisonRow,
    StrategyComparison,
    compare_strategies,
)
from gpt_trader_core.analysis.levels import (
    Level,
    SupportResistance,
    SwingPoint,
    Swings,
    default_swing_pct,
    find_swings,
    support_resistance,
)
from gpt_trader_core.analysis.patterns import PATTERN_KINDS, Pattern, detect_patterns
from gpt_trader_core.analysis.portfolio import (
    PortfolioAnalysis,
    analyze_portfolio,
    historical_cvar,
    historical_var,
)
from gpt_trader_core.analysis.technical import (
    IndicatorSeries,
    IndicatorValues,
    MarketAnalysis,
    MomentumSummary,
    TrendSummary,
    adx,
    analyze,
    indicator_series,
)

__all__ = [
    "PATTERN_KINDS",
    "RANKABLE",
    "ComparisonRow",
    "IndicatorSeries",
    "IndicatorValues",
    "Level",
    "MarketAnalysis",
    "MomentumSummary",
    "Pattern",
    "PortfolioAnalysis",
    "StrategyComparison",
    "SupportResistance",
    "SwingPoint",
    "Swings",
    "TrendSummary",
    "adx",
    "analyze",
    "analyze_portfolio",
    "compare_strategies",
    "default_swing_pct",
    "detect_patterns",
    "find_swings",
    "historical_cvar",
    "historical_var",
    "indicator_series",
    "support_resistance",
]
