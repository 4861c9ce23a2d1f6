"""gpt-trader's core library. ``import gpt_trader_core as gt``.

Importing is cheap: names load on first use (no numpy, pandas or frameworks at import time).

    import gpt_trader_core as gt
    bars = gt.synthetic("AAPL", "2018-01-01", "2024-12-31")          # SYNTHETIC data
    res = gt.backtest(bars, "sma_cross", fast=10, slow=30, commission=0.001)
    print(res)                 # headline stats;  res.stats, res.trades, res.equity
    gt.strategies()            # names → parameter specs
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "backtest": "gpt_trader_core.functions",
    "strategies": "gpt_trader_core.functions",
    "register_strategy": "gpt_trader_core.functions",
    "synthetic": "gpt_trader_core.functions",
    "as_bars": "gpt_trader_core.functions",
    "optimize": "gpt_trader_core.functions",
    "walk_forward": "gpt_trader_core.functions",
    "Bars": "gpt_trader_core.domain.bars",
    "BacktestResult": "gpt_trader_core.domain.results",
    "Trade": "gpt_trader_core.domain.trading",
    "Order": "gpt_trader_core.domain.trading",
    "Fill": "gpt_trader_core.domain.trading",
    "Position": "gpt_trader_core.domain.trading",
    "BacktestConfig": "gpt_trader_core.backtesting.config",
    "Strategy": "gpt_trader_core.strategy.base",
    "Param": "gpt_trader_core.strategy.base",
    "Signals": "gpt_trader_core.strategy.base",
    "GptTraderError": "gpt_trader_core.errors",
    "InvalidDataError": "gpt_trader_core.errors",
    "InvalidParameterError": "gpt_trader_core.errors",
    "UnknownStrategyError": "gpt_trader_core.errors",
    "DataSourceError": "gpt_trader_core.errors",
    "indicators": "gpt_trader_core.indicators",
    "App": "gpt_trader_core.app",
    "size_position": "gpt_trader_core.sizing",
    "classify_tier": "gpt_trader_core.portfolio",
    "rebalance_plan": "gpt_trader_core.portfolio",
    "check_risk": "gpt_trader_core.risk",
    "RiskLimits": "gpt_trader_core.risk",
    "PortfolioSnapshot": "gpt_trader_core.risk",
    "TierConfig": "gpt_trader_core.portfolio",
    "analyze": "gpt_trader_core.analysis",
    "compare_strategies": "gpt_trader_core.functions",
    "analyze_portfolio": "gpt_trader_core.analysis",
    "detect_regime": "gpt_trader_core.regime",
    "RegimeThresholds": "gpt_trader_core.regime",
    "train_strategy_selector": "gpt_trader_core.functions",
    "recommend_strategy": "gpt_trader_core.ml",
}

#: Public names whose implementation is called differently.
_RENAMED = {"check_risk": "check_order"}

__all__ = [
    "App",
    "BacktestConfig",
    "BacktestResult",
    "Bars",
    "DataSourceError",
    "Fill",
    "GptTraderError",
    "InvalidDataError",
    "InvalidParameterError",
    "Order",
    "Param",
    "PortfolioSnapshot",
    "Position",
    "RegimeThresholds",
    "RiskLimits",
    "Signals",
    "Strategy",
    "TierConfig",
    "Trade",
    "UnknownStrategyError",
    "analyze",
    "analyze_portfolio",
    "as_bars",
    "backtest",
    "check_risk",
    "classify_tier",
    "compare_strategies",
    "detect_regime",
    "indicators",
    "optimize",
    "rebalance_plan",
    "recommend_strategy",
    "register_strategy",
    "size_position",
    "strategies",
    "synthetic",
    "train_strategy_selector",
    "walk_forward",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gpt_trader_core' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    value = loaded if module.endswith("." + name) else getattr(loaded, _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from gpt_trader_core import indicators
    from gpt_trader_core.analysis import analyze, analyze_portfolio
    from gpt_trader_core.app import App
    from gpt_trader_core.backtesting.config import BacktestConfig
    from gpt_trader_core.domain.bars import Bars
    from gpt_trader_core.domain.results import BacktestResult
    from gpt_trader_core.domain.trading import Fill, Order, Position, Trade
    from gpt_trader_core.errors import (
        DataSourceError,
        GptTraderError,
        InvalidDataError,
        InvalidParameterError,
        UnknownStrategyError,
    )
    from gpt_trader_core.functions import (
        as_bars,
        backtest,
        compare_strategies,
        optimize,
        register_strategy,
        strategies,
        synthetic,
        train_strategy_selector,
        walk_forward,
    )
    from gpt_trader_core.ml import recommend_strategy
    from gpt_trader_core.portfolio import TierConfig, classify_tier, rebalance_plan
    from gpt_trader_core.regime import RegimeThresholds, detect_regime
    from gpt_trader_core.risk import PortfolioSnapshot, RiskLimits
    from gpt_trader_core.risk import check_order as check_risk
    from gpt_trader_core.sizing import size_position
    from gpt_trader_core.strategy.base import Param, Signals, Strategy
