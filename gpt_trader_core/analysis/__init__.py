"""Market analysis: technical snapshot, levels and chart patterns, strategy comparison, portfolio risk.

    from gpt_trader_core.analysis import analyze, compare_strategies, analyze_portfolio
    snapshot = analyze(bars)                  # indicators, trend, momentum, support/resistance, patterns
    table = compare_strategies(bars, ["sma_cross", ("momentum", {"lookback": 50})], registry=REGISTRY, commission=0.001)
    risk = analyze_portfolio({"AAPL": aapl, "MSFT": msft}, {"AAPL": 0.6, "MSFT": 0.4})

Formulas and rules are documented in each module: ``technical``, ``levels``, ``patterns``, ``compare``,
``portfolio``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpt_trader_core.domain.lazy import lazy_exports

if TYPE_CHECKING:
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

# resolved on first use: the portfolio view needs VaR/CVaR, not the comparison (backtests) or patterns
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "RANKABLE": "gpt_trader_core.analysis.compare",
        "ComparisonRow": "gpt_trader_core.analysis.compare",
        "StrategyComparison": "gpt_trader_core.analysis.compare",
        "compare_strategies": "gpt_trader_core.analysis.compare",
        "Level": "gpt_trader_core.analysis.levels",
        "SupportResistance": "gpt_trader_core.analysis.levels",
        "SwingPoint": "gpt_trader_core.analysis.levels",
        "Swings": "gpt_trader_core.analysis.levels",
        "default_swing_pct": "gpt_trader_core.analysis.levels",
        "find_swings": "gpt_trader_core.analysis.levels",
        "support_resistance": "gpt_trader_core.analysis.levels",
        "PATTERN_KINDS": "gpt_trader_core.analysis.patterns",
        "Pattern": "gpt_trader_core.analysis.patterns",
        "detect_patterns": "gpt_trader_core.analysis.patterns",
        "PortfolioAnalysis": "gpt_trader_core.analysis.portfolio",
        "analyze_portfolio": "gpt_trader_core.analysis.portfolio",
        "historical_cvar": "gpt_trader_core.analysis.portfolio",
        "historical_var": "gpt_trader_core.analysis.portfolio",
        "IndicatorSeries": "gpt_trader_core.analysis.technical",
        "IndicatorValues": "gpt_trader_core.analysis.technical",
        "MarketAnalysis": "gpt_trader_core.analysis.technical",
        "MomentumSummary": "gpt_trader_core.analysis.technical",
        "TrendSummary": "gpt_trader_core.analysis.technical",
        "adx": "gpt_trader_core.analysis.technical",
        "analyze": "gpt_trader_core.analysis.technical",
        "indicator_series": "gpt_trader_core.analysis.technical",
    },
)
