"""The backtest slice: configuration, the fill engine, statistics and the runner."""

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.runner import run_backtest
from gpt_trader_core.backtesting.stats import STAT_KEYS

__all__ = ["STAT_KEYS", "BacktestConfig", "run_backtest"]
