"""``strategy_optimization``: data → search space → optimisation ∥ walk-forward validation → report.

Steps:

- ``data``: load the bars (fails early on a bad symbol or range).
- ``space``: the search space: :data:`DEFAULT_SPACES` for a built-in strategy, with the ``space`` input's
  entries replacing or adding parameters (``name=start:stop:step`` inclusive, ``name=a,b,c`` or
  ``name=value`` fixed, entries separated by ``;``); a parameter named nowhere is searched over the
  strategy's declared range.
- ``optimize``: the ``Optimizer`` use case (``method`` grid, random or bayes; every trial persisted as a
  study, resumable with ``gpt-trader optimize --resume``); it stops after the running batch when the
  execution is cancelled.
- ``walk_forward`` (in parallel with ``optimize``): ``windows`` rolling (or ``anchored``) windows, each
  optimised on its training bars and traded on the next test bars; the chained out-of-sample result is
  the honest estimate of strategy-plus-optimiser. Each window's search goes to the executor in short
  chunks, as ``optimize``'s does: a cancelled execution leaves no walk-forward job running on a worker.

Report: ``data``, ``space`` (candidates per parameter, grid size), ``optimization`` (study id, best
parameters and value, the top 5 trials), ``walk_forward`` (out-of-sample statistics, in-sample vs
out-of-sample objective, efficiency, parameter stability, the windows) and ``verdict``:

- ``robust``: out-of-sample mean objective > 0 and walk-forward efficiency >= 0.5 (the out-of-sample
  annualised return keeps at least half of the in-sample one);
- ``degraded``: out-of-sample mean objective > 0, efficiency below 0.5 (or undefined);
- ``fails out of sample``: out-of-sample mean objective <= 0 (or undefined).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.optimization.objective import Objective
from gpt_trader_core.optimization.runner import OptimizationResult
from gpt_trader_core.optimization.space import SearchSpace
from gpt_trader_core.optimization.walk_forward import WalkForwardResult
from gpt_trader_core.services.optimization import OptimizeRequest
from gpt_trader_core.strategy.base import Param
from gpt_trader_core.workflows.common import (
    DATA_PARAMS,
    WorkflowServices,
    backtest_config,
    bars_summary,
    cost_params,
    data_step,
    date_range,
    headline,
)
from gpt_trader_core.workflows.definition import Step, WorkflowContext, WorkflowDefinition

NAME = "strategy_optimization"
METHODS = ("grid", "random", "bayes")

#: Default search spaces of the built-ins: a few dozen combinations each, inside the declared ranges.
DEFAULT_SPACES: Mapping[str, Mapping[str, tuple[Any, ...]]] = MappingProxyType(
    {
        "sma_cross": {"fast": (5, 10, 15, 20, 25, 30), "slow": (20, 40, 60, 80, 100)},
        "momentum": {"lookback": (10, 20, 40, 60), "threshold": (0.0, 0.02, 0.05)},
        "mean_reversion": {"period": (10, 20, 30, 40), "num_std": (1.5, 2.0, 2.5)},
        "volatility": {"period": (10, 20, 40), "vol_threshold": (0.01, 0.02, 0.03)},
        "breakout": {"lookback": (10, 20, 30, 40, 50, 60)},
    }
)


def _number(value: float) -> int | float:
    value = round(value, 10)
    return int(value) if value.is_integer() else value


def parse_space(text: str) -> dict[str, Any]:
    """``"fast=5:30:5;slow=20,40,60;mode=x"`` → ``{"fast": [5, 10, ..., 30], "slow": ["20", "40", "60"],
    "mode": "x"}``: inclusive numeric ranges, lists, and fixed values (coerced later by the space)."""
    space: dict[str, Any] = {}
    for entry in text.split(";"):
        if not entry.strip():
            continue
        name, sep, spec = entry.partition("=")
        name, spec = name.strip(), spec.strip()
        if not sep or not name or not spec:
            raise InvalidParameterError(
                f"{NAME}: input 'space' expects name=start:stop:step, name=a,b,c or name=value entries separated "
                f"by ';', got {entry.strip()!r}"
            )
        if ":" in spec:
            try:
                start, stop, step = (float(part) for part in spec.split(":"))
            except ValueError:
                raise InvalidParameterError(
                    f"{NAME}: space entry {entry.strip()!r}: a range is start:stop:step with numbers, e.g. fast=5:30:5"
                ) from None
            if not step > 0 or stop < start or not all(math.isfinite(v) for v in (start, stop, step)):
                raise InvalidParameterError(f"{NAME}: space entry {entry.strip()!r} needs step > 0 and stop >= start")
            count = math.floor((stop - start) / step + 1e-9) + 1
            space[name] = [_number(start + i * step) for i in range(count)]
        elif "," in spec:
            space[name] = [part.strip() for part in spec.split(",") if part.strip()]
        else:
            space[name] = spec
    return space


def build_space(services: WorkflowServices, values: Mapping[str, Any]) -> SearchSpace:
    """The search space for the inputs (see the module docstring); ``InvalidParameterError`` when bad."""
    strategy = services.registry.get_spec(values["strategy"]).cls
    overrides = {**DEFAULT_SPACES.get(strategy.name, {}), **parse_space(values["space"])}
    space = SearchSpace.build(strategy, overrides)
    if space.size() == 0:
        raise InvalidParameterError(f"{NAME}: the search space is empty")
    return space


def _request(values: Mapping[str, Any], space: SearchSpace, defaults: BacktestConfig) -> OptimizeRequest:
    start, end = date_range(NAME, values)
    return OptimizeRequest(
        symbol=values["symbol"],
        strategy=values["strategy"],
        space={**{name: list(candidates) for name, candidates in space.values.items()}, **space.fixed},
        start=start,
        end=end,
        timeframe=values["timeframe"],
        objective=values["metric"],
        method=values["method"],
        n_trials=values["trials"] or None,
        seed=values["seed"],
        config=backtest_config(values, defaults),
    )


def verdict(degradation: Mapping[str, float]) -> str:
    """``robust``, ``degraded`` or ``fails out of sample`` (rules in the module docstring)."""
    oos = degradation.get("out_of_sample_mean", math.nan)
    efficiency = degradation.get("walk_forward_efficiency", math.nan)
    if not oos > 0:
        return "fails out of sample"
    return "robust" if efficiency >= 0.5 else "degraded"


def strategy_optimization(services: WorkflowServices) -> WorkflowDefinition:
    """The ``strategy_optimization`` workflow on ``services`` (see the module docstring)."""

    def check(values: Mapping[str, Any]) -> None:
        date_range(NAME, values)
        backtest_config(values, services.backtest_defaults)
        Objective.of(values["metric"])
        build_space(services, values)

    async def space(ctx: WorkflowContext) -> SearchSpace:
        return build_space(services, ctx.params)

    async def optimize(ctx: WorkflowContext) -> OptimizationResult:
        return await services.optimizer.run(
            _request(ctx.params, ctx["space"], services.backtest_defaults), cancel=ctx.cancel
        )

    async def walk_forward(ctx: WorkflowContext) -> WalkForwardResult:
        request = _request(ctx.params, ctx["space"], services.backtest_defaults)
        return await services.optimizer.walk_forward(
            request, n_windows=ctx.params["windows"], anchored=ctx.params["anchored"], cancel=ctx.cancel
        )

    def report(ctx: WorkflowContext) -> dict[str, Any]:
        searched: SearchSpace = ctx["space"]
        result: OptimizationResult = ctx["optimize"]
        wf: WalkForwardResult = ctx["walk_forward"]
        return {
            "data": bars_summary(ctx["data"]),
            "space": {
                "strategy": searched.strategy.name,
                "searched": {name: list(candidates) for name, candidates in searched.values.items()},
                "fixed": dict(searched.fixed),
                "size": searched.size(),
            },
            "optimization": {
                "study_id": result.study_id,
                "method": result.method,
                "objective": result.objective.metric,
                "trials": len(result.trials),
                "total": result.total,
                "elapsed_s": result.elapsed_s,
                "best_params": result.best_params,
                "best_value": result.best.value,
                "best_stats": headline(result.best.stats),
                "top": result.table(5),
            },
            "walk_forward": {
                "windows": len(wf.windows),
                "anchored": wf.anchored,
                "out_of_sample": headline(wf.stats),
                "degradation": dict(wf.degradation),
                "parameter_stability": {name: dict(value) for name, value in wf.parameter_stability.items()},
                "per_window": [
                    {
                        "test_start": w.test_period[0],
                        "test_end": w.test_period[1],
                        "best_params": dict(w.best_params),
                        "in_sample": w.in_sample_value,
                        "out_of_sample": w.out_of_sample_value,
                    }
                    for w in wf.windows
                ],
            },
            "verdict": verdict(wf.degradation),
        }

    return WorkflowDefinition(
        name=NAME,
        description="Optimise a strategy's parameters and validate them walk-forward",
        params=(
            *DATA_PARAMS,
            Param("strategy", str, "sma_cross", description="The strategy to optimise"),
            Param("space", str, "", description="Search space, e.g. fast=5:30:5;slow=20,40,60 (empty: defaults)"),
            Param("method", str, "grid", description="grid, random or bayes", choices=METHODS),
            Param("trials", int, 0, 0, 1_000_000, "Trials for random/bayes (0: up to 100)"),
            Param("metric", str, "sharpe_ratio", description="Objective: a statistic or alias (sharpe, return, ...)"),
            Param("windows", int, 4, 1, 50, "Walk-forward windows"),
            Param("anchored", bool, False, description="Anchored (expanding) training windows"),
            Param("seed", int, 0, 0, 2**31 - 1, "Seed for random/bayes"),
            *cost_params(services.backtest_defaults),
        ),
        steps=(
            data_step(services, NAME),
            Step("space", space, depends_on="data", description="build the search space"),
            Step("optimize", optimize, depends_on="space", description="search the space"),
            Step("walk_forward", walk_forward, depends_on="space", description="walk-forward validation"),
        ),
        report=report,
        check=check,
    )
