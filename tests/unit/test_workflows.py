"""The built-in workflows end to end on the synthetic market with the inline executor, through the
``Workflows`` use case."""

from __future__ import annotations

import math
import pickle
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from adapters.bus.memory import InMemoryEventBus
from adapters.executor.local import InlineExecutor
from adapters.market_data.synthetic import SyntheticMarketData
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.engine import desired_positions
from gpt_trader_core.domain.records import ExecutionStatus
from gpt_trader_core.errors import InvalidParameterError, NotFoundError, UnknownStrategyError
from gpt_trader_core.ml.service import StrategySelection
from gpt_trader_core.regime import REGIMES
from gpt_trader_core.services.backtest import Backtester, MarketHistory
from gpt_trader_core.services.optimization import Optimizer
from gpt_trader_core.strategy import REGISTRY
from gpt_trader_core.workflows import Step, WorkflowDefinition, WorkflowEngine, execution_steps
from gpt_trader_core.workflows.common import WorkflowServices, backtest_job
from gpt_trader_core.workflows.ensemble import REGIME_WEIGHTS, STRATEGIES, WeightedEnsemble, ensemble_job
from gpt_trader_core.workflows.optimization import parse_space, verdict
from gpt_trader_core.workflows.use_case import Workflows

RANGE = {"start": "2019-01-01", "end": "2023-12-31"}


@pytest.fixture
async def store() -> AsyncIterator[InMemoryStateStore]:
    store = InMemoryStateStore()
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def workflows(store: InMemoryStateStore) -> AsyncIterator[Workflows]:
    executor = InlineExecutor()
    history = MarketHistory(SyntheticMarketData(seed=0))
    services = WorkflowServices(
        Backtester(history, REGISTRY, executor, store=store),
        history,
        Optimizer(history, REGISTRY, executor, store),
        executor,
        REGISTRY,
        StrategySelection(store, executor, registry=REGISTRY),
    )
    workflows = Workflows(WorkflowEngine(store, InMemoryEventBus()), services)
    yield workflows
    await workflows.shutdown()


def statuses(execution: Any) -> dict[str, str]:
    return {s["name"]: s["status"] for s in execution_steps(execution)}


def report(execution: Any) -> dict[str, Any]:
    assert execution.status is ExecutionStatus.SUCCEEDED, execution.error
    result: dict[str, Any] = execution.result["report"]
    return result


async def test_the_builtins_are_listed_and_an_unknown_name_lists_them(workflows: Workflows) -> None:
    names = [d.name for d in workflows.definitions()]
    assert names == ["simple_backtest", "multi_strategy_ensemble", "strategy_optimization"]
    with pytest.raises(NotFoundError, match="unknown workflow 'nope'; available: simple_backtest, multi_strategy"):
        await workflows.execute("nope")
    described = workflows.definition("simple_backtest").describe()
    assert [p["name"] for p in described["params"]][:4] == ["symbol", "start", "end", "timeframe"]


async def test_simple_backtest_selects_backtests_and_saves(workflows: Workflows, store: InMemoryStateStore) -> None:
    done = await workflows.execute("simple_backtest", {"symbol": "MSFT", **RANGE})
    out = report(done)
    assert set(statuses(done).values()) == {"succeeded"}
    assert out["data"]["symbol"] == "MSFT" and out["data"]["synthetic"] is True
    assert out["analysis"]["trend"]["direction"] in ("up", "down", "sideways")
    selection = out["selection"]
    assert selection["source"] == "heuristic" and selection["best"] in STRATEGIES
    backtest = out["backtest"]
    assert backtest["strategy"] == selection["best"] and backtest["chosen_by"] == "selection (heuristic)"
    saved = await store.get_backtest(backtest["record_id"])
    assert saved.symbol == "MSFT" and saved.stats["sharpe_ratio"] == backtest["stats"]["sharpe_ratio"]


async def test_simple_backtest_with_a_given_strategy_skips_the_selection(workflows: Workflows) -> None:
    done = await workflows.execute(
        "simple_backtest",
        {"strategy": "sma_cross", "strategy_params": "fast=5,slow=40", "save": "false", "commission": 0.001, **RANGE},
    )
    out = report(done)
    assert statuses(done)["select"] == "skipped" and out["selection"] is None
    assert out["backtest"]["params"] == {"fast": 5, "slow": 40} and out["backtest"]["chosen_by"] == "input"
    assert out["backtest"]["record_id"] is None


async def test_simple_backtest_reports_a_failed_analysis_and_still_backtests(workflows: Workflows) -> None:
    # 25 bars: too few for the analysis (34) but enough for a 10-bar breakout.
    params = {"strategy": "breakout", "strategy_params": "lookback=10", "start": "2024-01-01", "end": "2024-02-05"}
    out = report(await workflows.execute("simple_backtest", params))
    assert "analyze needs at least 34 bars" in out["analysis"]["error"]
    assert out["backtest"]["strategy"] == "breakout"


async def test_simple_backtest_with_an_unknown_model_fails_that_step(workflows: Workflows) -> None:
    done = await workflows.execute("simple_backtest", {"model": "selector-v9", **RANGE})
    assert done.status is ExecutionStatus.FAILED and "model 'selector-v9' not found" in (done.error or "")
    assert statuses(done)["backtest"] == "not_run"


@pytest.mark.parametrize(
    ("name", "params", "error", "message"),
    [
        ("simple_backtest", {"start": "2020-13-01"}, InvalidParameterError, "must be a date YYYY-MM-DD"),
        ("simple_backtest", {"start": "2021-01-01", "end": "2020-01-01"}, InvalidParameterError, "must be before"),
        ("simple_backtest", {"strategy": "nope"}, UnknownStrategyError, "nope"),
        ("simple_backtest", {"strategy_params": "fast=5"}, InvalidParameterError, "needs an explicit strategy"),
        (
            "simple_backtest",
            {"strategy": "sma_cross", "strategy_params": "fast=50,slow=20"},
            InvalidParameterError,
            "smaller",
        ),
        ("simple_backtest", {"timeframe": "2d"}, InvalidParameterError, "must be one of"),
        ("multi_strategy_ensemble", {"weighting": "magic"}, InvalidParameterError, "must be one of"),
        ("multi_strategy_ensemble", {"cash": -5}, InvalidParameterError, "out of range"),
        ("strategy_optimization", {"space": "fast"}, InvalidParameterError, "expects name=start:stop:step"),
        ("strategy_optimization", {"space": "speed=1,2"}, InvalidParameterError, "unknown parameter 'speed'"),
        ("strategy_optimization", {"metric": "happiness"}, InvalidParameterError, "happiness"),
        ("strategy_optimization", {"method": "annealing"}, InvalidParameterError, "must be one of"),
    ],
)
async def test_bad_inputs_are_refused_before_anything_runs(
    workflows: Workflows, store: InMemoryStateStore, name: str, params: dict[str, Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        await workflows.execute(name, params)
    assert await store.list_executions() == []


async def test_ensemble_blends_the_five_strategies_by_regime(workflows: Workflows) -> None:
    done = await workflows.execute("multi_strategy_ensemble", {"symbol": "SPY", **RANGE})
    out = report(done)
    assert set(statuses(done).values()) == {"succeeded"}
    regime = out["regime"]["current"]
    assert regime in REGIMES and out["weights"] == dict(REGIME_WEIGHTS[regime])
    assert set(out["components"]) == set(STRATEGIES)
    assert math.isfinite(out["ensemble"]["stats"]["return_pct"])
    position = out["position"]
    assert -1.0 <= position["target_now"] <= 1.0
    assert abs(position["units"]) <= out["sizing"]["max_units"] > 0
    assert position["side"] == ("long" if position["units"] > 0 else "short" if position["units"] < 0 else "flat")
    assert out["sizing"]["method"] == "volatility_target"
    equal = report(await workflows.execute("multi_strategy_ensemble", {"weighting": "equal", **RANGE}))
    assert equal["weights"] == dict.fromkeys(STRATEGIES, 0.2)


def test_regime_weights_cover_every_regime_and_sum_to_one() -> None:
    assert set(REGIME_WEIGHTS) == set(REGIMES)
    for weights in REGIME_WEIGHTS.values():
        assert tuple(weights) == STRATEGIES and math.isclose(sum(weights.values()), 1.0)


def test_the_ensemble_target_is_the_weighted_sum_of_the_wanted_positions() -> None:
    bars = SyntheticMarketData(seed=1).history("AAPL", "2020-01-01", "2022-12-31")
    components = [(REGISTRY.create("sma_cross"), 0.7), (REGISTRY.create("breakout"), 0.3)]
    signals = WeightedEnsemble(components).signals(bars)
    expected = sum(w * desired_positions(s.signals(bars).target, s.signals(bars).warmup, False) for s, w in components)
    np.testing.assert_allclose(signals.target, expected)
    assert signals.warmup == max(s.signals(bars).warmup for s, _ in components)
    assert np.nanmax(np.abs(signals.target)) <= 1.0


def test_executor_jobs_take_and_return_picklable_values() -> None:
    """Process-pool and Dask executors pickle the jobs' arguments and results."""
    bars = SyntheticMarketData(seed=0).history("AAPL", "2020-01-01", "2021-12-31")
    cls = REGISTRY.get_spec("sma_cross").cls
    args = (bars, cls, {"fast": 5}, BacktestConfig())
    result = backtest_job(*pickle.loads(pickle.dumps(args)))
    assert pickle.loads(pickle.dumps(result)).stats["num_trades"] == result.stats["num_trades"]
    blended, target = ensemble_job(*pickle.loads(pickle.dumps((bars, [(cls, 0.5)], BacktestConfig()))))
    assert pickle.loads(pickle.dumps(blended)).strategy == "ensemble" and -0.5 <= target <= 0.5


async def test_optimization_searches_and_validates_walk_forward(
    workflows: Workflows, store: InMemoryStateStore
) -> None:
    params = {"strategy": "breakout", "space": "lookback=10:40:10", "windows": 3, **RANGE}
    done = await workflows.execute("strategy_optimization", params)
    out = report(done)
    assert out["space"]["searched"] == {"lookback": [10, 20, 30, 40]} and out["space"]["size"] == 4
    optimization = out["optimization"]
    assert optimization["trials"] == 4 and optimization["best_params"]["lookback"] in (10, 20, 30, 40)
    assert optimization["top"][0]["rank"] == 1
    assert (await store.get_study(optimization["study_id"])).status is ExecutionStatus.SUCCEEDED
    assert out["walk_forward"]["windows"] == 3 and len(out["walk_forward"]["per_window"]) == 3
    assert out["verdict"] == verdict(out["walk_forward"]["degradation"])
    default = report(await workflows.execute("strategy_optimization", {**RANGE, "windows": 2}))
    assert default["space"]["searched"] == {"fast": [5, 10, 15, 20, 25, 30], "slow": [20, 40, 60, 80, 100]}


def test_parse_space_and_verdict() -> None:
    assert parse_space("fast=5:20:5; slow=30,60 ;mode=x") == {
        "fast": [5, 10, 15, 20],
        "slow": ["30", "60"],
        "mode": "x",
    }
    assert parse_space("num_std=1.5:2.5:0.5") == {"num_std": [1.5, 2, 2.5]}
    with pytest.raises(InvalidParameterError, match="needs step > 0"):
        parse_space("fast=20:5:5")
    nan = float("nan")
    assert verdict({"out_of_sample_mean": 0.8, "walk_forward_efficiency": 0.7}) == "robust"
    assert verdict({"out_of_sample_mean": 0.8, "walk_forward_efficiency": nan}) == "degraded"
    assert verdict({"out_of_sample_mean": -0.1, "walk_forward_efficiency": 2.0}) == "fails out of sample"


async def test_extra_workflows_join_the_builtins(store: InMemoryStateStore) -> None:
    async def hello(ctx: Any) -> str:
        return "hi"

    extra = WorkflowDefinition("hello", "says hi", (), (Step("hi", hello),), lambda ctx: {"said": ctx["hi"]})
    executor = InlineExecutor()
    history = MarketHistory(SyntheticMarketData())
    optimizer = Optimizer(history, REGISTRY, executor)
    services = WorkflowServices(Backtester(history, REGISTRY, executor), history, optimizer, executor, REGISTRY)
    workflows = Workflows(WorkflowEngine(store, InMemoryEventBus()), services, extra=[extra])
    assert report(await workflows.execute("hello")) == {"said": "hi"}
    with pytest.raises(InvalidParameterError, match="two workflows are named 'hello'"):
        Workflows(WorkflowEngine(store, InMemoryEventBus()), services, extra=[extra, extra])
    listed = await workflows.list(status="succeeded")
    assert [e.name for e in listed] == ["hello"]
    with pytest.raises(InvalidParameterError, match="unknown execution status 'done'"):
        await workflows.list(status="done")
