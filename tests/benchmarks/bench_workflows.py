"""Benchmark: the workflow engine's overhead per step, and the wall time of the built-in workflows.

Run on demand:  python tests/benchmarks/bench_workflows.py [--runs 5]

Overhead: a workflow of N no-op steps, as a chain (each step depends on the previous one) and as one
parallel layer, on the in-memory store and on SQLite (a temporary file); per step = wall time / N.
Every step costs two stored updates of the execution (started, finished) and four events.
Workflows: each built-in on its default inputs (10 years of daily SYNTHETIC bars), inline executor,
in-memory store.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


async def _noop(ctx: Any) -> None:
    return None


def _definition(n: int, chained: bool) -> Any:
    from gpt_trader_core.workflows import Step, WorkflowDefinition

    steps = [Step(f"s{i}", _noop, depends_on=(f"s{i - 1}",) if chained and i else ()) for i in range(n)]
    return WorkflowDefinition(f"noop_{n}", "no-op steps", (), steps, lambda ctx: {})


async def _overhead(store: Any, n: int, chained: bool, runs: int) -> float:
    """Median over ``runs`` of wall time per step (seconds)."""
    from adapters.bus.memory import InMemoryEventBus
    from gpt_trader_core.workflows import WorkflowEngine

    engine = WorkflowEngine(store, InMemoryEventBus())
    definition = _definition(n, chained)
    await engine.run(definition)  # warm
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        done = await engine.run(definition)
        samples.append((time.perf_counter() - started) / n)
        assert done.status.value == "succeeded", done.error
    return statistics.median(samples)


async def _workflows(runs: int) -> dict[str, float]:
    from adapters.bus.memory import InMemoryEventBus
    from adapters.executor.local import InlineExecutor
    from adapters.market_data.synthetic import SyntheticMarketData
    from adapters.state.memory import InMemoryStateStore
    from gpt_trader_core.services.backtest import Backtester, MarketHistory
    from gpt_trader_core.services.optimization import Optimizer
    from gpt_trader_core.strategy import REGISTRY
    from gpt_trader_core.workflows import WorkflowEngine
    from gpt_trader_core.workflows.common import WorkflowServices
    from gpt_trader_core.workflows.use_case import Workflows

    store = InMemoryStateStore()
    await store.open()
    executor = InlineExecutor()
    history = MarketHistory(SyntheticMarketData(seed=0))
    services = WorkflowServices(
        Backtester(history, REGISTRY, executor, store=store),
        history,
        Optimizer(history, REGISTRY, executor, store),
        executor,
        REGISTRY,
    )
    workflows = Workflows(WorkflowEngine(store, InMemoryEventBus()), services)
    out = {}
    for definition in workflows.definitions():
        samples = []
        for _ in range(runs + 1):  # the first run warms caches and imports
            started = time.perf_counter()
            done = await workflows.execute(definition.name)
            samples.append(time.perf_counter() - started)
            assert done.status.value == "succeeded", done.error
        out[definition.name] = statistics.median(samples[1:])
    return out


async def main(runs: int = 5) -> None:
    from adapters.state.memory import InMemoryStateStore
    from adapters.state.sqlite import SqliteStateStore

    print("engine overhead per step (median of runs, no-op steps)")
    with tempfile.TemporaryDirectory() as tmp:
        stores: dict[str, Any] = {"memory": InMemoryStateStore(), "sqlite": SqliteStateStore(Path(tmp) / "bench.db")}
        for label, store in stores.items():
            await store.open()
            for n in (20, 200):
                for chained in (True, False):
                    per_step = await _overhead(store, n, chained, runs)
                    shape = "chain   " if chained else "parallel"
                    print(f"  {label:<6} {n:>3} steps {shape}  {per_step * 1e6:8.0f} µs/step  ({per_step * n:.3f} s)")
            await store.close()
    print("built-in workflows, default inputs, inline executor (median wall time)")
    for name, seconds in (await _workflows(runs)).items():
        print(f"  {name:<24} {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    asyncio.run(main(int(arguments[arguments.index("--runs") + 1]) if "--runs" in arguments else 5))
