"""``multi_strategy_ensemble``: five strategies backtested in parallel, blended by market regime.

Steps: ``data`` → ``regime`` (``detect_regime``, rules, as of the last bar) → ``weights``; in parallel with
the regime, ``backtest_<strategy>`` for each of the five built-ins (default parameters); ``sizing`` (after
the regime) and ``ensemble`` (after the weights and all five backtests) → report.

**Weights** (``weighting=regime``, the default): the weight of each strategy in the current regime, from
:data:`REGIME_WEIGHTS` (each row sums to 1). They follow the heuristic ranking of
``gpt_trader_core.ml.selector``: trend followers (``sma_cross``, ``breakout``, ``momentum``) lead in calm
trends, the volatility filter leads when volatility is high, ``mean_reversion`` leads in quiet sideways
markets:

=====================  =========  ========  ==============  ==========  ========
regime                 sma_cross  momentum  mean_reversion  volatility  breakout
=====================  =========  ========  ==============  ==========  ========
bull/bear_quiet        0.30       0.25      0.05            0.15        0.25
bull/bear_volatile     0.15       0.20      0.10            0.30        0.25
sideways_quiet         0.15       0.10      0.40            0.20        0.15
sideways_volatile      0.10       0.10      0.30            0.35        0.15
crisis                 0.05       0.10      0.25            0.50        0.10
=====================  =========  ========  ==============  ==========  ========

``weighting=equal`` gives each strategy 0.2.

**Ensemble signal**: ``target[t] = Σ_i w_i · p_i[t]`` where ``p_i[t]`` is strategy ``i``'s wanted position
after bar ``t`` (its target forward-filled, flat during its warm-up, clipped to [-1, 1], or [0, 1] in
``long_only`` mode): a fraction of equity in [-1, 1], causal because every component is. It is
backtested like any strategy (``WeightedEnsemble``); the weights are today's, so the historical backtest
shows how *this* blend would have traded, not a regime-switching one.

**Sizing** (``size_position``, volatility target): the most units the ensemble should hold now,
``units = capital · target_vol / (price · asset_vol)`` (``asset_vol`` from ATR(20) on the bars), times the
regime multiplier of ``gpt_trader_core.sizing`` (crisis 0), capped at 20 % of capital per position, in
fractional units. The recommended position is that size times the ensemble's current target (rounded to
6 decimals; round it down to whole units for an instrument that trades in whole units).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.engine import desired_positions
from gpt_trader_core.backtesting.runner import build_result, simulate_signals
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.results import BacktestResult
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.strategy.base import Param, Signals, Strategy
from gpt_trader_core.workflows.common import (
    DATA_PARAMS,
    WorkflowServices,
    backtest_config,
    backtest_summary,
    bars_summary,
    cost_params,
    data_step,
    date_range,
)
from gpt_trader_core.workflows.definition import Step, WorkflowContext, WorkflowDefinition

NAME = "multi_strategy_ensemble"
STRATEGIES: tuple[str, ...] = ("sma_cross", "momentum", "mean_reversion", "volatility", "breakout")

_QUIET_TREND = (0.30, 0.25, 0.05, 0.15, 0.25)
_VOLATILE_TREND = (0.15, 0.20, 0.10, 0.30, 0.25)
#: regime → strategy → weight (rows sum to 1; see the module docstring).
REGIME_WEIGHTS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        regime: MappingProxyType(dict(zip(STRATEGIES, row, strict=True)))
        for regime, row in {
            "bull_quiet": _QUIET_TREND,
            "bear_quiet": _QUIET_TREND,
            "bull_volatile": _VOLATILE_TREND,
            "bear_volatile": _VOLATILE_TREND,
            "sideways_quiet": (0.15, 0.10, 0.40, 0.20, 0.15),
            "sideways_volatile": (0.10, 0.10, 0.30, 0.35, 0.15),
            "crisis": (0.05, 0.10, 0.25, 0.50, 0.10),
        }.items()
    }
)


def ensemble_weights(regime: str, weighting: str) -> dict[str, float]:
    """The blend for ``regime``: :data:`REGIME_WEIGHTS` (``weighting="regime"``) or equal weights."""
    if weighting == "equal":
        return {name: 1.0 / len(STRATEGIES) for name in STRATEGIES}
    if regime not in REGIME_WEIGHTS:
        from gpt_trader_core.regime import REGIMES

        raise InvalidParameterError(f"unknown regime {regime!r}; use one of {', '.join(REGIMES)}")
    return dict(REGIME_WEIGHTS[regime])


class WeightedEnsemble(Strategy):
    """``target = Σ w_i · p_i`` over component strategies (see the module docstring); warm-up: the
    longest component warm-up. Parameters (``values``) are the weights by component name."""

    name = "ensemble"
    description = "Weighted sum of the component strategies' wanted positions"

    def __init__(self, components: Sequence[tuple[Strategy, float]], *, long_only: bool = False) -> None:
        if not components:
            raise InvalidParameterError("an ensemble needs at least one component strategy")
        self.components = tuple(components)
        self.long_only = long_only
        self.values = MappingProxyType({strategy.name: float(weight) for strategy, weight in self.components})

    def min_bars(self) -> int:
        return max(strategy.min_bars() for strategy, _ in self.components)

    def signals(self, bars: Bars) -> Signals:
        target = np.zeros(len(bars))
        warmup = 0
        for strategy, weight in self.components:
            signals = strategy.signals(bars)
            target += weight * desired_positions(signals.target, signals.warmup, self.long_only)
            warmup = max(warmup, signals.warmup)
        return Signals(target, warmup)


def ensemble_job(
    bars: Bars, components: Sequence[tuple[type[Strategy], float]], config: BacktestConfig
) -> tuple[BacktestResult, float]:
    """Executor job: backtest the ensemble of default-parameter ``components``; also its target at the last bar."""
    strategy = WeightedEnsemble([(cls(), weight) for cls, weight in components], long_only=config.mode == "long_only")
    strategy.require_bars(bars)
    signals = strategy.signals(bars)
    simulation = simulate_signals(bars, signals, config)
    return build_result(bars, strategy, config, simulation, signals.warmup), float(signals.target[-1])


def regime_job(bars: Bars) -> dict[str, Any]:
    """Executor job: the regime of the last bar and the regime mix of the last 60 bars (JSON-like)."""
    from gpt_trader_core.regime import REGIMES, detect_regime  # (step code is imported when a step runs)

    analysis = detect_regime(bars)
    recent = analysis.series[-60:]
    return {
        "current": analysis.current,
        "confidence": analysis.confidence,
        "method": analysis.method,
        "changes": len(analysis.changes),
        "recent_mix": {name: recent.count(name) / len(recent) for name in REGIMES if name in recent},
    }


def multi_strategy_ensemble(services: WorkflowServices) -> WorkflowDefinition:
    """The ``multi_strategy_ensemble`` workflow on ``services`` (see the module docstring)."""
    for name in STRATEGIES:
        services.registry.get_spec(name)

    def check(values: Mapping[str, Any]) -> None:
        date_range(NAME, values)
        backtest_config(values, services.backtest_defaults)

    async def regime(ctx: WorkflowContext) -> dict[str, Any]:
        return await services.executor.run(regime_job, ctx["data"])

    async def weights(ctx: WorkflowContext) -> dict[str, float]:
        return ensemble_weights(ctx["regime"]["current"], ctx.params["weighting"])

    def component(name: str) -> Step:
        async def run(ctx: WorkflowContext) -> BacktestResult:
            run = await services.backtester.run_on(
                ctx["data"], name, {}, backtest_config(ctx.params, services.backtest_defaults)
            )
            return run.result

        return Step(f"backtest_{name}", run, depends_on="data", description=f"backtest {name} (default parameters)")

    async def sizing(ctx: WorkflowContext) -> dict[str, Any]:
        from gpt_trader_core.sizing import size_position  # (step code is imported when a step runs)

        bars: Bars = ctx["data"]
        decision = size_position(
            capital=ctx.params["cash"],
            price=float(bars.close[-1]),
            method="volatility_target",
            target_vol=ctx.params["target_vol"],
            bars=bars,
            regime=ctx["regime"]["current"],
            whole_units=False,
        )
        return {
            "method": decision.method,
            "max_units": decision.units,
            "max_notional": decision.notional,
            "fraction_of_capital": decision.fraction_of_capital,
            "explanation": [step.note for step in decision.steps],
        }

    async def ensemble(ctx: WorkflowContext) -> tuple[BacktestResult, float]:
        blend = ctx["weights"]
        components = [(services.registry.get_spec(name).cls, blend[name]) for name in STRATEGIES]
        return await services.executor.run(
            ensemble_job, ctx["data"], components, backtest_config(ctx.params, services.backtest_defaults)
        )

    def report(ctx: WorkflowContext) -> dict[str, Any]:
        result, target_now = ctx["ensemble"]
        size = ctx["sizing"]
        units = round(size["max_units"] * target_now, 6)
        return {
            "data": bars_summary(ctx["data"]),
            "regime": ctx["regime"],
            "weighting": ctx.params["weighting"],
            "weights": ctx["weights"],
            "components": {name: backtest_summary(ctx[f"backtest_{name}"])["stats"] for name in STRATEGIES},
            "ensemble": {"stats": backtest_summary(result)["stats"], "trades": len(result.trades)},
            "sizing": size,
            "position": {
                "target_now": target_now,
                "units": units,
                "side": "long" if units > 0 else "short" if units < 0 else "flat",
                "notional": abs(units) * ctx["data"].close[-1],
            },
        }

    return WorkflowDefinition(
        name=NAME,
        description="Backtest five strategies in parallel, blend them by market regime, size and backtest the blend",
        params=(
            *DATA_PARAMS,
            Param(
                "weighting",
                str,
                "regime",
                description="regime (weights per regime) or equal",
                choices=("regime", "equal"),
            ),
            Param("target_vol", float, 0.15, 0.01, 2.0, "Annualised volatility target of the position (0.15 = 15 %)"),
            *cost_params(services.backtest_defaults),
        ),
        steps=(
            data_step(services, NAME),
            Step("regime", regime, depends_on="data", description="detect the market regime"),
            *(component(name) for name in STRATEGIES),
            Step("weights", weights, depends_on="regime", description="weights of the strategies for the regime"),
            Step("sizing", sizing, depends_on="regime", description="volatility-target position size"),
            Step(
                "ensemble",
                ensemble,
                depends_on=("weights", *(f"backtest_{name}" for name in STRATEGIES)),
                description="backtest the weighted sum of the strategies' positions",
            ),
        ),
        report=report,
        check=check,
    )
