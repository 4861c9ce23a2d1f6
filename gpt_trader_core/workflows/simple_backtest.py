"""``simple_backtest``: data → market analysis ∥ strategy selection → backtest → report.

Steps:

- ``data``: load the bars of ``symbol``.
- ``analyze`` (``continue_on_failure``): a technical snapshot as of the last bar
  (``gpt_trader_core.analysis.analyze``): trend, momentum, nearest support and resistance, recent chart
  patterns. It only informs: when it fails (e.g. too few bars) the backtest still runs and the report
  carries the error.
- ``select`` (only when ``strategy`` is ``auto``): ranks the five built-ins for the bars with
  ``gpt_trader_core.ml.predict``: the saved selector ``model`` when one is named, otherwise the
  documented regime heuristic (``gpt_trader_core.ml.selector``).
- ``backtest``: the selection's best strategy with its default parameters, or the ``strategy`` given
  with ``strategy_params``, on the same bars, through the ``Backtester`` use case like every other
  backtest (its cache; saved when ``save`` and the backtester has a store).

Report: ``data`` (the bars), ``analysis`` (or ``{"error": ...}``), ``selection`` (the ranking, or None
when the strategy was given), ``backtest`` (strategy, parameters, who chose it, headline statistics,
saved record id, trades) and ``advice`` (the selection's "stay flat" warning, if any).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.services.backtest import BacktestRun
from gpt_trader_core.strategy.base import Param
from gpt_trader_core.workflows.common import (
    DATA_PARAMS,
    WorkflowServices,
    backtest_config,
    backtest_summary,
    bars_summary,
    cost_params,
    data_step,
    date_range,
    parse_assignments,
)
from gpt_trader_core.workflows.definition import Step, WorkflowContext, WorkflowDefinition

NAME = "simple_backtest"
AUTO = "auto"


def analysis_job(bars: Bars) -> dict[str, Any]:
    """Executor job: the parts of ``analyze(bars)`` a report shows (JSON-like)."""
    from gpt_trader_core.analysis import analyze  # (step code is imported when a step runs, not to list)

    analysis = analyze(bars)
    data = analysis.to_dict()
    trend = {k: v for k, v in data["trend"].items() if k != "votes"}
    return {
        "time": analysis.time,
        "close": analysis.close,
        "trend": trend,
        "momentum": data["momentum"],
        "nearest_support": analysis.nearest_support,
        "nearest_resistance": analysis.nearest_resistance,
        "recent_patterns": [pattern.kind for pattern in analysis.recent_patterns()],
    }


def heuristic_job(bars: Bars) -> dict[str, Any]:
    """Executor job: ``predict(None, bars)`` (the heuristic ranking) as a dict."""
    from gpt_trader_core.ml import predict

    return predict(None, bars).to_dict()


def simple_backtest(services: WorkflowServices) -> WorkflowDefinition:
    """The ``simple_backtest`` workflow on ``services`` (see the module docstring)."""
    registry = services.registry

    def check(values: Mapping[str, Any]) -> None:
        date_range(NAME, values)
        backtest_config(values, services.backtest_defaults)
        extra = parse_assignments(NAME, "strategy_params", values["strategy_params"])
        if values["strategy"] == AUTO:
            if extra:
                raise InvalidParameterError(
                    f"{NAME}: strategy_params needs an explicit strategy (strategy=auto backtests the defaults)"
                )
        else:
            registry.get_spec(values["strategy"]).cls.resolve(extra)
            if values["model"]:
                raise InvalidParameterError(f"{NAME}: model applies to strategy=auto only; drop one of them")
        if values["model"] and services.selection is None:
            raise InvalidParameterError(f"{NAME}: model needs a model store, and none is configured")

    async def analysis(ctx: WorkflowContext) -> dict[str, Any]:
        return await services.executor.run(analysis_job, ctx["data"])

    async def select(ctx: WorkflowContext) -> dict[str, Any]:
        model = ctx.params["model"]
        if model and services.selection is not None:
            return (await services.selection.recommend(ctx["data"], model)).to_dict()
        return await services.executor.run(heuristic_job, ctx["data"])

    async def backtest(ctx: WorkflowContext) -> BacktestRun:
        recommendation = ctx.get("select")
        if recommendation is None:
            strategy = ctx.params["strategy"]
            params: dict[str, Any] = dict(parse_assignments(NAME, "strategy_params", ctx.params["strategy_params"]))
        else:
            strategy, params = recommendation["best"], {}
        config = backtest_config(ctx.params, services.backtest_defaults)
        return await services.backtester.run_on(ctx["data"], strategy, params, config, save=ctx.params["save"])

    def report(ctx: WorkflowContext) -> dict[str, Any]:
        run: BacktestRun = ctx["backtest"]
        recommendation = ctx.get("select")
        advice = None
        if recommendation is not None and recommendation["stay_flat"]:
            advice = f"stay flat: {recommendation['reason']}"
        return {
            "data": bars_summary(ctx["data"]),
            "analysis": {"error": ctx.error("analyze")} if ctx.failed("analyze") else ctx["analyze"],
            "selection": recommendation,
            "backtest": {
                **backtest_summary(run.result),
                "chosen_by": "input" if recommendation is None else f"selection ({recommendation['source']})",
                "record_id": run.record_id,
                "trades": len(run.result.trades),
            },
            "advice": advice,
        }

    return WorkflowDefinition(
        name=NAME,
        description="Load data, analyse the market, pick a strategy (ML selector or heuristic), backtest it",
        params=(
            *DATA_PARAMS,
            Param("strategy", str, AUTO, description="A registered strategy, or auto: the selection's pick"),
            Param("strategy_params", str, "", description="Parameters of an explicit strategy, e.g. fast=10,slow=30"),
            Param("model", str, "", description="Saved strategy selector to use (empty: the heuristic)"),
            *cost_params(services.backtest_defaults),
            Param("save", bool, True, description="Save the backtest (its id is in the report)"),
        ),
        steps=(
            data_step(services, NAME),
            Step("analyze", analysis, depends_on="data", continue_on_failure=True, description="technical snapshot"),
            Step(
                "select",
                select,
                depends_on="data",
                condition=lambda ctx: ctx.params["strategy"] == AUTO,
                description="rank the strategies (ML selector or heuristic); only for strategy=auto",
            ),
            Step("backtest", backtest, depends_on=("select", "analyze"), description="backtest the chosen strategy"),
        ),
        report=report,
        check=check,
    )
