"""Walk-forward on a real process pool: a cancellation frees the worker at once (the analysis goes to
the executor in short chunks, not as one job of minutes), and the result is the in-process one."""

from __future__ import annotations

import asyncio
import io
import pickle
import time
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest

from adapters.bus.memory import InMemoryEventBus
from adapters.executor.local import InlineExecutor, LocalProcessExecutor
from adapters.market_data.synthetic import SyntheticMarketData
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.domain.records import ExecutionStatus
from gpt_trader_core.errors import CancelledError
from gpt_trader_core.optimization.objective import Objective
from gpt_trader_core.optimization.runner import CancelToken, Progress
from gpt_trader_core.optimization.walk_forward import WalkForwardResult, walk_forward
from gpt_trader_core.services.backtest import Backtester, MarketHistory
from gpt_trader_core.services.optimization import Optimizer, OptimizeRequest
from gpt_trader_core.strategy import REGISTRY
from gpt_trader_core.workflows import WorkflowEngine, execution_steps
from gpt_trader_core.workflows.common import WorkflowServices
from gpt_trader_core.workflows.use_case import Workflows
from tests.adapters import _executor_jobs as jobs

#: About 34,000 combinations per window, 8 windows: several seconds of work on one worker.
LONG = OptimizeRequest("AAPL", "sma_cross", {"fast": list(range(2, 201)), "slow": list(range(20, 401, 2))})
#: A worker busy with a job (the walk-forward before the fix) answers nothing for seconds; a free one at once.
FREE_WITHIN_S = 1.0


@pytest.fixture
async def executor() -> AsyncIterator[LocalProcessExecutor]:
    executor = LocalProcessExecutor(1, run_inline_below=0)
    assert await executor.run(jobs.add, 0, 0) == 0  # the worker is up before the clock starts
    yield executor
    await executor.close()


def _optimizer(executor: Any) -> Optimizer:
    return Optimizer(MarketHistory(SyntheticMarketData(seed=0)), REGISTRY, executor)


async def _seconds_until_free(executor: LocalProcessExecutor) -> float:
    started = time.perf_counter()
    assert await asyncio.wait_for(executor.run(jobs.add, 1, 2), 30) == 3
    return time.perf_counter() - started


async def _running_long(task: asyncio.Task[Any], reports: list[Progress]) -> None:
    """Until the walk-forward has evaluated a few chunks, then check that what remains takes seconds."""
    started = time.perf_counter()
    while not any(p.done for p in reports):
        if task.done():
            task.result()
        assert time.perf_counter() - started < 30, "the walk-forward never reported progress"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    last = reports[-1]
    remaining = (time.perf_counter() - started) / last.done * (last.total - last.done)
    assert remaining > 2.0, f"the walk-forward is nearly done ({last.done} of {last.total}): not a test of cancelling"


@pytest.mark.parametrize("how", ["token", "task"])
async def test_a_cancelled_walk_forward_frees_the_worker_at_once(executor: LocalProcessExecutor, how: str) -> None:
    reports: list[Progress] = []
    cancel = CancelToken()
    task = asyncio.create_task(
        _optimizer(executor).walk_forward(LONG, n_windows=8, progress=reports.append, cancel=cancel)
    )
    await _running_long(task, reports)

    if how == "token":  # as the workflow engine's token, or Ctrl-C in the CLI
        cancel.cancel()
        with pytest.raises(CancelledError, match="cancelled"):
            await task
    else:  # the awaiting task cancelled (the engine does both)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await _seconds_until_free(executor) < FREE_WITHIN_S
    done = reports[-1].done
    await asyncio.sleep(0.3)
    assert reports[-1].done == done  # nothing reported after the cancellation


async def test_cancelling_the_workflow_stops_its_walk_forward_step(executor: LocalProcessExecutor) -> None:
    store = InMemoryStateStore()
    await store.open()
    history = MarketHistory(SyntheticMarketData(seed=0))
    optimizer = Optimizer(history, REGISTRY, executor, store)
    services = WorkflowServices(
        Backtester(history, REGISTRY, executor, store=store), history, optimizer, executor, REGISTRY
    )
    workflows = Workflows(WorkflowEngine(store, InMemoryEventBus()), services)
    try:
        params = {"strategy": "sma_cross", "space": "fast=2:200:1;slow=20:400:2", "windows": 8}
        execution = await workflows.execute("strategy_optimization", params, wait=False)
        started = time.perf_counter()
        while True:
            steps = {s["name"]: s["status"] for s in execution_steps(await workflows.status(execution.id))}
            if steps.get("walk_forward") == "running":
                break
            assert time.perf_counter() - started < 30, steps
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # well into the walk-forward's seconds of work

        cancelled = await workflows.cancel(execution.id)
        free_after = await _seconds_until_free(executor)

        assert cancelled.status is ExecutionStatus.CANCELLED
        steps = {s["name"]: s["status"] for s in execution_steps(cancelled)}
        assert steps["walk_forward"] == "cancelled" and steps["optimize"] == "cancelled", steps
        assert free_after < FREE_WITHIN_S
    finally:
        await workflows.shutdown()
        await store.close()


def _canonical(result: WalkForwardResult) -> bytes:
    """The result's pickle without the memo (values and layout only, not which objects are shared:
    values that came back from workers are equal but not the same objects) and without the timing."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(attrs.evolve(result, elapsed_s=0.0))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "request_",
    [
        OptimizeRequest("EQV", "sma_cross", {"fast": list(range(5, 40, 5)), "slow": list(range(20, 120, 10))}),
        OptimizeRequest(
            "EQV", "mean_reversion", {"period": list(range(5, 60, 5))}, method="random", n_trials=20, seed=3
        ),
        OptimizeRequest("EQV", "breakout", {"lookback": list(range(5, 120, 5))}, method="bayes", n_trials=40, seed=5),
    ],
    ids=["grid", "random", "bayes"],
)
async def test_walk_forward_results_are_the_same_in_chunks_on_a_pool_inline_and_in_process(
    request_: OptimizeRequest,
) -> None:
    request = attrs.evolve(request_, config=BacktestConfig(commission=0.002))
    bars = await MarketHistory(SyntheticMarketData(seed=0)).get("EQV", None, None)
    reference = walk_forward(
        bars,
        REGISTRY.get_spec(request.strategy).cls,
        dict(request.space),
        objective=Objective.of(request.objective),
        method=request.method,
        n_windows=4,
        anchored=True,
        n_trials=request.n_trials,
        seed=request.seed,
        config=request.config,
    )
    pool = LocalProcessExecutor(2, run_inline_below=0)
    try:
        for executor in (InlineExecutor(), pool):
            result = await _optimizer(executor).walk_forward(request, n_windows=4, anchored=True)
            assert _canonical(result) == _canonical(reference), type(executor).__name__
    finally:
        await pool.close()
