"""The optimiser gives identical results whichever executor runs it and however many workers."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.executor.dask import DaskExecutor
from adapters.executor.local import InlineExecutor, LocalProcessExecutor
from adapters.market_data.synthetic import SyntheticMarketData
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.ports import Executor
from gpt_trader_core.services.backtest import MarketHistory
from gpt_trader_core.services.optimization import Optimizer, OptimizeRequest
from gpt_trader_core.strategy import REGISTRY

REQUESTS = {
    "grid": OptimizeRequest(
        "EQV",
        "sma_cross",
        {"fast": list(range(5, 30, 5)), "slow": list(range(10, 70, 5))},
        config=BacktestConfig(commission=0.001),
    ),
    "random": OptimizeRequest(
        "EQV", "mean_reversion", {"period": list(range(5, 60, 5))}, method="random", n_trials=20, seed=3
    ),
    "bayes": OptimizeRequest(
        "EQV", "breakout", {"lookback": list(range(5, 120, 5))}, method="bayes", n_trials=15, seed=5
    ),
}


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")  # only the tests on a Dask cluster need the dask extra
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},
    ) as cluster:
        yield cluster


async def _run(executor: Executor, method: str) -> list[tuple[dict[str, Any], float | None]]:
    optimizer = Optimizer(MarketHistory(SyntheticMarketData(seed=11)), REGISTRY, executor)
    try:
        result = await optimizer.run(REQUESTS[method])
    finally:
        await executor.close()
    return [(dict(t.params), None if math.isnan(t.value) else t.value) for t in result.trials]


@pytest.mark.parametrize("method", sorted(REQUESTS))
async def test_same_trials_on_every_executor(method: str, dask_cluster: Any) -> None:
    reference = await _run(InlineExecutor(), method)
    assert reference
    for executor in (
        LocalProcessExecutor(1, run_inline_below=0),
        LocalProcessExecutor(2, run_inline_below=0),
        DaskExecutor(dask_cluster.scheduler_address),
    ):
        assert await _run(executor, method) == reference, type(executor).__name__


async def test_backtests_and_walk_forward_run_in_worker_processes() -> None:
    """Strategies, bars and configs pickle: the server's process pool runs the same use cases."""
    from gpt_trader_core.services.backtest import Backtester, BacktestRequest

    executor = LocalProcessExecutor(2, run_inline_below=0)
    history = MarketHistory(SyntheticMarketData(seed=11))
    try:
        run = await Backtester(history, REGISTRY, executor).run(BacktestRequest("EQV", "sma_cross"))
        inline = await Backtester(history, REGISTRY, InlineExecutor()).run(BacktestRequest("EQV", "sma_cross"))
        assert run.result.trades == inline.result.trades
        wf = await Optimizer(history, REGISTRY, executor).walk_forward(REQUESTS["grid"], n_windows=3)
        assert len(wf.windows) == 3
    finally:
        await executor.close()
