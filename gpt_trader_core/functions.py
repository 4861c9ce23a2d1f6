"""The Python API: small, documented functions for notebooks and scripts.

Everything here is synchronous and pure (no event loop needed), so it works in Jupyter, where an
event loop is already running.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gpt_trader_core.backtesting.config import BacktestConfig, FillAt, Mode
from gpt_trader_core.backtesting.runner import run_backtest
from gpt_trader_core.data.frames import bars_from_frame, is_frame
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.results import BacktestResult
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.optimization.objective import Objective
from gpt_trader_core.optimization.runner import OptimizationResult, Progress
from gpt_trader_core.optimization.runner import optimize as run_optimize
from gpt_trader_core.optimization.walk_forward import WalkForwardResult
from gpt_trader_core.optimization.walk_forward import walk_forward as run_walk_forward
from gpt_trader_core.strategy import REGISTRY
from gpt_trader_core.strategy.base import Strategy
from gpt_trader_core.strategy.registry import StrategySpec

if TYPE_CHECKING:  # loaded on first use: analysis and ml are not needed for gt.backtest
    from gpt_trader_core.analysis import StrategyComparison
    from gpt_trader_core.ml import TrainedSelector


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
    spread: float = 0.0,
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
        spread=spread,
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


_CONFIG_FIELDS = (
    "cash",
    "commission",
    "commission_fixed",
    "slippage",
    "spread",
    "mode",
    "fill",
    "fractional",
    "close_at_end",
    "stop_loss",
    "take_profit",
    "trailing_stop",
)


def _split_options(options: Mapping[str, Any]) -> tuple[BacktestConfig, dict[str, Any]]:
    config = BacktestConfig(**{k: v for k, v in options.items() if k in _CONFIG_FIELDS})
    return config, {k: v for k, v in options.items() if k not in _CONFIG_FIELDS}


def _strategy_class(strategy: str | type[Strategy]) -> type[Strategy]:
    if isinstance(strategy, str):
        return REGISTRY.get_spec(strategy).cls
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        return strategy
    raise InvalidParameterError(f"strategy must be a registered name or a Strategy class, got {strategy!r}")


def _objective(maximize: Any, minimize: Any) -> Objective:
    return Objective.choose(maximize, minimize)


def optimize(
    data: Any,
    strategy: str | type[Strategy],
    *,
    maximize: str | Callable[[Mapping[str, Any]], float] | None = None,
    minimize: str | Callable[[Mapping[str, Any]], float] | None = None,
    method: str = "grid",
    constraint: Callable[[Mapping[str, Any]], bool] | None = None,
    n_trials: int | None = None,
    seed: int = 0,
    progress: Callable[[Progress], None] | None = None,
    symbol: str | None = None,
    **options: Any,
) -> OptimizationResult:
    """Search a strategy's parameters; returns ranked trials, the best parameters and a heatmap.

    Parameters given as sequences/ranges are searched, single values are fixed, undeclared ones use
    the strategy's declared range. ``maximize``/``minimize``: a statistic name (``sharpe_ratio``,
    ``return_pct``, ``calmar_ratio``, ``sqn``, ...; aliases like ``sharpe``) or a callable on the
    stats. ``method``: ``grid``, ``random`` or ``bayes`` (TPE; ``n_trials`` each). Backtest options
    (``cash``, ``commission``, ``mode`` ...) pass through::

        opt = gt.optimize(df, "sma_cross", fast=range(5, 30, 5), slow=range(10, 70, 5),
                          maximize="sharpe_ratio", constraint=lambda p: p["fast"] < p["slow"])
        opt.best_params, opt.table(10), opt.heatmap("fast", "slow")
    """
    config, space = _split_options(options)
    return run_optimize(
        as_bars(data, symbol),
        _strategy_class(strategy),
        space,
        objective=_objective(maximize, minimize),
        method=method,
        constraint=constraint,
        n_trials=n_trials,
        seed=seed,
        config=config,
        progress=progress,
    )


def walk_forward(
    data: Any,
    strategy: str | type[Strategy],
    *,
    maximize: str | Callable[[Mapping[str, Any]], float] | None = None,
    minimize: str | Callable[[Mapping[str, Any]], float] | None = None,
    method: str = "grid",
    n_windows: int = 5,
    train_size: int | None = None,
    test_size: int | None = None,
    anchored: bool = False,
    constraint: Callable[[Mapping[str, Any]], bool] | None = None,
    n_trials: int | None = None,
    seed: int = 0,
    progress: Callable[[Progress], None] | None = None,
    symbol: str | None = None,
    **options: Any,
) -> WalkForwardResult:
    """Walk-forward analysis: optimise on each training window, trade the winner on the next test
    window, stitch the out-of-sample equity; reports parameter stability and in-/out-of-sample
    degradation. Same search arguments as ``optimize``; windows are rolling unless ``anchored``."""
    config, space = _split_options(options)
    return run_walk_forward(
        as_bars(data, symbol),
        _strategy_class(strategy),
        space,
        objective=_objective(maximize, minimize),
        method=method,
        n_windows=n_windows,
        train_size=train_size,
        test_size=test_size,
        anchored=anchored,
        constraint=constraint,
        n_trials=n_trials,
        seed=seed,
        config=config,
        progress=progress,
    )


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


# -- the slices that need the strategy registry: here it is the global one of ``gt.strategies()`` -------


def compare_strategies(
    bars: Any, strategies: Sequence[Any], *, rank_by: str = "sharpe_ratio", **backtest_config: Any
) -> StrategyComparison:
    """Backtest each of ``strategies`` (names of ``gt.strategies()`` or ``(name, params)`` pairs) on
    ``bars`` and rank them by ``rank_by``; see ``gpt_trader_core.analysis.compare_strategies``."""
    from gpt_trader_core.analysis import compare_strategies as compare

    return compare(bars, strategies, registry=REGISTRY, rank_by=rank_by, **backtest_config)


def train_strategy_selector(bars_list: Sequence[Bars], **options: Any) -> TrainedSelector:
    """Train a strategy selector over strategies of ``gt.strategies()``; options and evaluation as in
    ``gpt_trader_core.ml.train_selector``."""
    from gpt_trader_core.ml import train_selector

    return train_selector(bars_list, registry=REGISTRY, **options)
