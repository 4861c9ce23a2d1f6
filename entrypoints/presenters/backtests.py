"""Backtest results (run now or saved) and their pages; the optimisation summary the CLI prints too."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from entrypoints.serialization import fast_plain, result_to_dict, to_plain
from gpt_trader_core.domain.records import BacktestRecord
from gpt_trader_core.optimization.runner import OptimizationResult
from gpt_trader_core.services.backtest import BacktestRun
from gpt_trader_core.services.portfolio_view import downsample


@attrs.frozen
class EquityCurve:
    """The equity curve downsampled to at most ``points`` evenly spaced bars (first and last kept)."""

    timestamps: tuple[str, ...]
    equity: tuple[float, ...]
    drawdown: tuple[float, ...]


@attrs.frozen
class BacktestView:
    """A finished backtest: statistics, trades, a downsampled equity curve; ``id`` when saved."""

    id: str | None
    cached: bool
    strategy: str
    params: Mapping[str, Any]
    symbol: str
    timeframe: str
    source: str
    synthetic: bool
    stats: Mapping[str, Any]
    trades: tuple[Mapping[str, Any], ...]
    equity: EquityCurve
    #: The whole result when asked for (``detail: full``): every bar's equity, drawdown and position, the
    #: config, monthly/yearly returns, exit reasons — what ``gpt-trader --remote`` rebuilds a result from.
    result: Mapping[str, Any] | None = None


@attrs.frozen
class BacktestRecordView:
    """A saved backtest (``trades`` only when shown alone)."""

    id: str
    created_at: dt.datetime
    strategy: str
    params: Mapping[str, Any]
    symbol: str
    timeframe: str
    source: str
    synthetic: bool
    start: dt.datetime
    end: dt.datetime
    stats: Mapping[str, Any]
    trades: tuple[Mapping[str, Any], ...]


@attrs.frozen
class BacktestPage:
    items: tuple[BacktestRecordView, ...]
    next_cursor: str | None


@attrs.frozen
class OptimizationSummary:
    """A finished optimisation study, ranked best first (``gpt-trader optimize --format json``)."""

    study_id: str | None
    strategy: str
    symbol: str
    synthetic: bool
    method: str
    objective: str
    maximize: bool
    trials: int
    total: int
    resumed: int
    evaluated: int
    elapsed_s: float
    best_params: Mapping[str, Any]
    best_value: float
    notes: tuple[str, ...]
    ranking: tuple[Mapping[str, Any], ...]
    #: When asked: the two-parameter heatmap as ``GptCharts.heatmap`` draws it (null for one searched parameter).
    heatmap: Mapping[str, Any] | None = None


def backtest_view(run: BacktestRun, points: int = 200, *, full: bool = False) -> BacktestView:
    """The view of a finished backtest; every value in it is already JSON-ready (see ``backtest_json``).

    The summary needs only the stats, trades and the downsampled curve: the rest of ``result_to_dict``
    (config, monthly/yearly returns, every bar's equity) is computed for ``full`` only."""
    result = run.result
    whole = None
    if full:
        data = result_to_dict(result, trades=True, equity=True, record_id=run.record_id)
        data["equity"]["position"] = fast_plain(result.position)
        whole = {**data, "rejected_orders": result.rejected_orders}
        params, stats, trades = data["params"], data["stats"], data["trades"]
    else:
        params, stats, trades = fast_plain(result.params), fast_plain(result.stats), fast_plain(result.trades)
    keep = downsample(result.equity, points)
    stamps = np.datetime_as_string(result.timestamps[keep], unit="s").tolist()
    return BacktestView(
        run.record_id,
        run.cached,
        result.strategy,
        params,
        result.symbol,
        result.timeframe,
        result.source,
        result.synthetic,
        stats,
        tuple(trades),
        EquityCurve(tuple(stamps), tuple(fast_plain(result.equity[keep])), tuple(fast_plain(result.drawdown[keep]))),
        whole,
    )


def backtest_json(view: BacktestView) -> str:
    """``presenters.dumps(view)``, the same text, without the converter walking values that
    ``backtest_view`` made JSON-ready already (thousands of them for a long backtest)."""
    curve = view.equity
    return json.dumps(
        {
            "id": view.id,
            "cached": view.cached,
            "strategy": view.strategy,
            "params": view.params,
            "symbol": view.symbol,
            "timeframe": view.timeframe,
            "source": view.source,
            "synthetic": view.synthetic,
            "stats": view.stats,
            "trades": view.trades,
            "equity": {"timestamps": curve.timestamps, "equity": curve.equity, "drawdown": curve.drawdown},
            "result": view.result,
        },
        allow_nan=False,
        ensure_ascii=False,
    )


def record_view(record: BacktestRecord, *, trades: bool = False) -> BacktestRecordView:
    return BacktestRecordView(
        record.id,
        record.created_at,
        record.strategy,
        to_plain(dict(record.params)),
        record.symbol,
        record.timeframe,
        record.source,
        record.synthetic,
        record.start,
        record.end,
        to_plain(dict(record.stats)),
        tuple(to_plain(t) for t in record.trades) if trades else (),
    )


def optimization_summary(result: OptimizationResult, top: int = 10, *, heatmap: bool = False) -> OptimizationSummary:
    """The summary; ``heatmap``: with the objective over the first two searched parameters (the dashboard)."""
    grid = None
    if heatmap and sum(len(v) > 1 for v in result.space.values.values()) >= 2:
        from entrypoints.reports.html import chart_data

        grid = chart_data(result.chart(top=1))
    return OptimizationSummary(
        result.study_id,
        result.strategy,
        result.symbol,
        result.synthetic,
        result.method,
        result.objective.metric,
        result.objective.maximize,
        len(result.trials) + result.dropped,  # a result keeps only the best trials in memory
        result.total,
        result.resumed,
        result.evaluated,
        result.elapsed_s,
        dict(result.best_params),
        result.best.value,
        tuple(result.notes),
        tuple(result.table(top)),
        grid,
    )
