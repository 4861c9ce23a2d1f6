"""The composition root: one container for every driver; whole adapter sets swap for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dependency_injector import containers, providers

from adapters.cache.aiocache_cache import AiocacheCache
from adapters.executor.local import InlineExecutor
from adapters.market_data.memory import InMemoryMarketData
from adapters.state.memory import InMemoryStateStore
from entrypoints.container import build_container
from entrypoints.settings import load_settings
from gpt_trader_core.services.backtest import BacktestRequest
from tests.conftest import make_bars


async def _memory_store() -> AsyncIterator[InMemoryStateStore]:
    store = InMemoryStateStore()
    await store.open()
    yield store
    await store.close()


async def _memory_cache() -> AsyncIterator[AiocacheCache]:
    cache = AiocacheCache("memory", namespace="test-root")
    yield cache
    await cache.close()


async def _inline() -> AsyncIterator[InlineExecutor]:
    yield InlineExecutor()


class InMemoryAdapters(containers.DeclarativeContainer):
    """Working in-memory adapters (they ship in `adapters/`), swapped in as a whole set."""

    market_data = providers.Singleton(
        InMemoryMarketData, {"TEST": make_bars([100 + (i % 17) * 1.5 for i in range(120)], symbol="TEST")}
    )
    state_store = providers.Resource(_memory_store)
    cache = providers.Resource(_memory_cache)
    executor = providers.Resource(_inline)


async def test_whole_adapter_set_is_overridden_for_tests(tmp_path: Path) -> None:
    settings = load_settings(env={}, cwd=tmp_path, home=tmp_path).settings
    container = build_container(settings)
    container.adapters.override(InMemoryAdapters())
    await container.init_resources()
    try:
        backtester = await container.services.backtester()
        request = BacktestRequest(symbol="TEST", strategy="sma_cross", params={"fast": 3, "slow": 8})
        first = await backtester.run(request, save=True)
        again = await backtester.run(request)
        assert first.record_id is not None and not first.cached and again.cached
        store = await container.adapters.state_store()
        assert isinstance(store, InMemoryStateStore)
        saved = await store.get_backtest(first.record_id)
        assert saved.stats["num_trades"] == first.result.stats["num_trades"]
        assert len(saved.trades) == len(first.result.trades)
        cache = await container.adapters.cache()
        stats = await cache.stats()
        assert stats.hits >= 1 and stats.entries.get("backtest") == 1
    finally:
        await container.shutdown_resources()


async def test_production_adapters_come_from_settings(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    settings = load_settings(
        env={}, cwd=tmp_path, home=tmp_path, overrides=[f"state.url=sqlite:///{db}", "market_data.seed=7"]
    ).settings
    container = build_container(settings, executor="inline")
    await container.init_resources()
    try:
        market_data = container.adapters.market_data()
        assert market_data.name == "synthetic(seed=7)"
        backtester = await container.services.backtester()
        run = await backtester.run(BacktestRequest(symbol="AAPL", strategy="breakout"), save=True)
        assert run.result.synthetic and run.record_id
        store = await container.adapters.state_store()
        listed = await store.list_backtests()
        assert [r.id for r in listed] == [run.record_id]
    finally:
        await container.shutdown_resources()
    assert db.exists()


def test_nothing_is_built_before_it_is_asked_for(tmp_path: Path) -> None:
    settings = load_settings(
        env={}, cwd=tmp_path, home=tmp_path, overrides=[f"state.url=sqlite:///{tmp_path / 'never.db'}"]
    ).settings
    build_container(settings)
    assert not (tmp_path / "never.db").exists()


@pytest.mark.redis
async def test_redis_cache_is_chosen_by_settings(tmp_path: Path, redis_url: str) -> None:
    settings = load_settings(
        env={},
        cwd=tmp_path,
        home=tmp_path,
        overrides=["cache.backend=redis", f"cache.redis_url={redis_url}", "state.url=sqlite::memory:"],
    ).settings
    container = build_container(settings, executor="inline")
    await container.init_resources()
    try:
        cache = await container.adapters.cache()
        await cache.ping()
        assert (await cache.stats()).backend == "redis"
    finally:
        await container.shutdown_resources()


async def test_backtest_defaults_come_from_settings_once_for_every_driver(tmp_path: Path) -> None:
    """The settings' backtest costs reach the commands and the workflows through one provider."""
    settings = load_settings(
        env={}, cwd=tmp_path, home=tmp_path, overrides=["backtest.commission=0.002", "backtest.slippage=0.001"]
    ).settings
    container = build_container(settings)
    container.adapters.override(InMemoryAdapters())
    await container.init_resources()
    try:
        defaults = container.services.backtest_defaults()
        assert (defaults.cash, defaults.commission, defaults.slippage) == (10_000.0, 0.002, 0.001)
        workflows = await container.services.workflows()
        params = {p["name"]: p["default"] for p in workflows.definition("simple_backtest").describe()["params"]}
        assert params["commission"] == 0.002
        done = await workflows.execute("simple_backtest", {"symbol": "TEST", "strategy": "sma_cross"})
        run = done.result["report"]["backtest"]  # type: ignore[index]
        saved = await (await container.services.results()).get(run["record_id"])
        assert saved.config["commission"] == 0.002 and saved.config["slippage"] == 0.001
    finally:
        await container.shutdown_resources()


async def test_cache_bounds_come_from_settings(tmp_path: Path) -> None:
    from entrypoints.settings import InvalidSettingsError

    settings = load_settings(env={}, cwd=tmp_path, home=tmp_path, overrides=["cache.max_entries=2"]).settings
    container = build_container(settings, executor="inline")
    cache = await container.adapters.cache()
    try:
        for i in range(5):
            await cache.set("backtest", f"k{i}", i)
        assert (await cache.stats()).entries == {"backtest": 2}
    finally:
        await container.shutdown_resources()
    with pytest.raises(InvalidSettingsError, match=r"cache\.max_bytes"):
        load_settings(env={}, cwd=tmp_path, home=tmp_path, overrides=["cache.max_bytes=-1"])


async def test_completion_names_every_workflow_the_container_defines(tmp_path: Path) -> None:
    """Shell completion lists ``WORKFLOW_NAMES`` without building the workflow use case: they must agree."""
    from entrypoints.cli.completions import WORKFLOW_NAMES, workflow_names

    settings = load_settings(env={}, cwd=tmp_path, home=tmp_path).settings
    container = build_container(settings)
    container.adapters.override(InMemoryAdapters())
    await container.init_resources()
    try:
        assert await workflow_names(container) == list(WORKFLOW_NAMES)
    finally:
        await container.shutdown_resources()
