"""The Python API: small, documented functions for notebooks and scripts.

Everything here is synchronous and pure (no event loop needed), so it works in Jupyter, where an
event loop is already running.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from gpt_trader_core.backtesting.config import BacktestConfig, FillAt, Mode
from gpt_trader_core.backtesting.runner import run_backtest
from gpt_trader_core.data.frames import bars_from_frame, is_frame
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.results import BacktestResult
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.strategy import REGISTRY
from gpt_trader_core.strategy.base import Strategy
from gpt_trader_core.strategy.registry import StrategySpec


def as_bars(data: Any, symbol: str | None = None) -> Bars:
    """``Bars`` from ``Bars`` (returned as is) or a pandas DataFrame with OHLC[V] columns."""
    if isinstance(data, Bars):
        return data
    if is_frame(data):
        return bars_from_frame(data, symbol or "DATA")
    raise InvalidDataError(
        f"data must be gt.Bars or a pandas DataFrame with Open/High/Low/Close columns, got {type(data).__name__}"
    )


def _strategy(strategy: str | Strategy | type[Strategy], params: Mapping[str, Any]) -> Strategy:
    if isinstance(strategy, str):
        return REGISTRY.create(strategy, **params)
    if isinstance(strategy, Strategy):
        if params:
            raise InvalidParameterError("pass parameters either to the strategy instance or to backtest(), not both")
        return strategy
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        return strategy(**params)
    raise InvalidParameterError(f"strategy must be a name, a Strategy or a Strategy class, got {strategy!r}")


def backtest(
    data: Any,
    strategy: str | Strategy | type[Strategy],
    *,
    cash: float = 10_000.0,
    commission: float = 0.0,
    commission_fixed: float = 0.0,
    slippage: float = 0.0,
    mode: Mode = "long_short",
    fill: FillAt = "next_open",
    fractional: bool = False,
    close_at_end: bool = False,
    stop_loss: float | None = None,
    take_profit: float | None = None,
    trailing_stop: float | None = None,
    symbol: str | None = None,
    **params: Any,
) -> BacktestResult:
    """Backtest a strategy on ``data`` and return a ``BacktestResult``.

    ``data``: ``gt.Bars`` or a pandas DataFrame (Open/High/Low/Close[/Volume] in any case, datetime
    index). ``strategy``: a registered name (see ``gt.strategies()``), a ``Strategy`` subclass or an
    instance; its parameters go as keyword arguments (``fast=10, slow=20``). The rest configures the
    fills (see ``gt.BacktestConfig``)::

        res = gt.backtest(df, "sma_cross", fast=10, slow=20, cash=10_000, commission=0.002)
        res.stats["sharpe_ratio"], res.trades[:3], res.equity[-1]
    """
    config = BacktestConfig(
        cash=cash,
        commission=commission,
        commission_fixed=commission_fixed,
        slippage=slippage,
        mode=mode,
        fill=fill,
        fractional=fractional,
        close_at_end=close_at_end,
        stop_loss=stop_loss,
        take_profit=take_profit,
        trailing_stop=trailing_stop,
    )
    instance = _strategy(strategy, params)
    return run_backtest(as_bars(data, symbol), instance, config)


def strategies() -> Mapping[str, StrategySpec]:
    """Registered strategies by name, each with its description and parameter specs."""
    return REGISTRY


def register_strategy(cls: type[Strategy] | None = None, *, replace: bool = False) -> Any:
    """Class decorator that makes a ``gt.Strategy`` subclass available by its ``name``::

    @gt.register_strategy
    class Always(gt.Strategy):
        name = "always_long"
        def signals(self, bars):
            return gt.Signals(np.ones(len(bars)), warmup=0)
    """
    return REGISTRY.register(cls, replace=replace)


def synthetic(
    symbol: str,
    start: dt.date | dt.datetime | str = "2015-01-01",
    end: dt.date | dt.datetime | str = "2024-12-31",
    timeframe: str = "1d",
    seed: int = 0,
) -> Bars:
    """Deterministic SYNTHETIC bars for any symbol (regime-switching; not real prices)."""
    from gpt_trader_core.market_sim import generate

    return generate(symbol, start, end, timeframe, seed).bars
