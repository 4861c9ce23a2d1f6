"""The backtest slice: configuration, the fill engine, statistics and the runner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpt_trader_core.domain.lazy import lazy_exports

if TYPE_CHECKING:
    from gpt_trader_core.backtesting.config import BacktestConfig
    from gpt_trader_core.backtesting.runner import run_backtest
    from gpt_trader_core.backtesting.stats import STAT_KEYS

__all__ = ["STAT_KEYS", "BacktestConfig", "run_backtest"]

# resolved on first use: `backtesting.config` alone (sessions, presenters) must not import the runner and numpy
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BacktestConfig": "gpt_trader_core.backtesting.config",
        "run_backtest": "gpt_trader_core.backtesting.runner",
        "STAT_KEYS": "gpt_trader_core.backtesting.stats",
    },
)
