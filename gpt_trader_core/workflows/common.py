"""What the built-in workflows share: the services they call, the market-data and cost inputs, the data
step, and small JSON-like summaries of bars and backtests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.runner import run_backtest
from gpt_trader_core.domain.bars import TIMEFRAMES, Bars, to_datetime
from gpt_trader_core.domain.results import BacktestResult
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.ml.service import StrategySelection
from gpt_trader_core.ports import Executor
from gpt_trader_core.services.backtest import Backtester, MarketHistory
from gpt_trader_core.services.optimization import Optimizer
from gpt_trader_core.strategy.base import Param, Strategy
from gpt_trader_core.strategy.registry import StrategyRegistry
from gpt_trader_core.workflows.definition import Step, WorkflowContext


@attrs.frozen
class WorkflowServices:
    """The use cases and ports the built-in workflows call. CPU work goes through ``executor`` as
    module-level jobs with picklable arguments (strategy classes and parameter dicts, never instances),
    so any executor (inline, process pool, Dask) runs them.

    ``backtester`` runs (caches, saves) every backtest a workflow reports, exactly as the ``backtest``
    command does; ``registry`` resolves strategy names; ``selection`` (optional) recommends strategies
    with saved models (without it only the heuristic is available); ``backtest_defaults`` are the
    settings' backtest costs (the cost inputs' defaults; slippage and the rest apply as they are).
    """

    backtester: Backtester
    history: MarketHistory
    optimizer: Optimizer
    executor: Executor
    registry: StrategyRegistry
    selection: StrategySelection | None = None
    backtest_defaults: BacktestConfig = attrs.field(factory=BacktestConfig)


#: The market-data inputs every built-in workflow declares.
DATA_PARAMS: tuple[Param, ...] = (
    Param("symbol", str, "AAPL", description="Symbol to load from the market-data source"),
    Param("start", str, "", description="First day, YYYY-MM-DD (empty: the source's first bar)"),
    Param("end", str, "", description="Last day, YYYY-MM-DD (empty: the source's last bar)"),
    Param("timeframe", str, "1d", description="Bar timeframe", choices=tuple(TIMEFRAMES)),
)


def cost_params(defaults: BacktestConfig) -> tuple[Param, ...]:
    """How backtests trade: starting cash (also the capital for sizing), commission rate, long/short mode,
    defaulting to ``defaults`` (the container's ``services.backtest_defaults``, from settings)."""
    return (
        Param("cash", float, defaults.cash, 1.0, 1e12, "Starting cash (and the capital position sizing uses)"),
        Param("commission", float, defaults.commission, 0.0, 0.099, "Commission rate per side (0.001 = 0.1 %)"),
        Param("mode", str, defaults.mode, description="long_short or long_only", choices=("long_short", "long_only")),
    )


def parse_day(workflow: str, name: str, text: str) -> dt.datetime | None:
    """``YYYY-MM-DD`` (or an ISO datetime) as a naive datetime; empty text is ``None``."""
    if not text.strip():
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidParameterError(
            f"{workflow}: input {name!r} must be a date YYYY-MM-DD (or empty), got {text!r}"
        ) from None
    return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)


def date_range(workflow: str, values: Mapping[str, Any]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The ``start``/``end`` inputs as datetimes; ``InvalidParameterError`` unless start < end."""
    start = parse_day(workflow, "start", values["start"])
    end = parse_day(workflow, "end", values["end"])
    if start is not None and end is not None and start >= end:
        raise InvalidParameterError(f"{workflow}: start ({values['start']}) must be before end ({values['end']})")
    return start, end


def backtest_config(values: Mapping[str, Any], defaults: BacktestConfig) -> BacktestConfig:
    """``defaults`` with the workflow's cost inputs (``cost_params``) applied."""
    return attrs.evolve(defaults, cash=values["cash"], commission=values["commission"], mode=values["mode"])


def data_step(services: WorkflowServices, workflow: str) -> Step:
    """Load the bars of ``symbol`` (retried once: sources can fail transiently)."""

    async def load(ctx: WorkflowContext) -> Bars:
        start, end = date_range(workflow, ctx.params)
        return await services.history.get(ctx.params["symbol"], start, end, ctx.params["timeframe"])

    return Step("data", load, retries=1, retry_backoff=0.5, description="load the market data")


def bars_summary(bars: Bars) -> dict[str, Any]:
    return {
        "symbol": bars.symbol,
        "timeframe": bars.timeframe,
        "source": bars.source,
        "synthetic": bars.synthetic,
        "bars": len(bars),
        "first": to_datetime(bars.timestamps[0]),
        "last": to_datetime(bars.timestamps[-1]),
        "last_close": float(bars.close[-1]),
    }


#: The statistics a workflow report shows per backtest (all of them are in saved backtests).
HEADLINE_STATS: tuple[str, ...] = (
    "return_pct",
    "return_ann_pct",
    "buy_hold_return_pct",
    "volatility_ann_pct",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown_pct",
    "num_trades",
    "win_rate_pct",
    "exposure_time_pct",
)


def headline(stats: Mapping[str, Any]) -> dict[str, Any]:
    return {key: stats.get(key) for key in HEADLINE_STATS}


def backtest_summary(result: BacktestResult) -> dict[str, Any]:
    return {"strategy": result.strategy, "params": dict(result.params), "stats": headline(result.stats)}


def backtest_job(
    bars: Bars, strategy: type[Strategy], params: Mapping[str, Any], config: BacktestConfig
) -> BacktestResult:
    """Executor job: backtest ``strategy(**params)`` on ``bars`` (classes and dicts pickle; instances do not)."""
    return run_backtest(bars, strategy(**params), config)


def parse_assignments(workflow: str, name: str, text: str) -> dict[str, str]:
    """``"a=1,b=2"`` (``;`` works too) as ``{"a": "1", "b": "2"}``; empty text is ``{}``."""
    pairs: dict[str, str] = {}
    for item in text.replace(";", ",").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidParameterError(
                f"{workflow}: input {name!r} expects name=value pairs such as fast=10,slow=30; got {item!r}"
            )
        pairs[key.strip()] = value.strip()
    return pairs
