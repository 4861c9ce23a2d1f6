"""A CLI command starts only the resources its use cases need (``start_resources(..., on_demand=True)``):
no database opened by a command that reads none, and what did start is stopped at the end."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from cleo.testers.application_tester import ApplicationTester

from entrypoints.cli.application import GptTraderApplication
from entrypoints.container import build_container, start_resources, stop_resources
from entrypoints.settings import load_settings


async def test_on_demand_starts_a_resource_when_a_use_case_needs_it_and_stops_it(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    settings = load_settings(env={}, cwd=tmp_path, home=tmp_path, overrides=[f"state.url=sqlite:///{db}"]).settings
    container = build_container(settings, executor="inline")
    await start_resources(container, on_demand=True)
    assert not container.adapters.state_store.initialized and not container.adapters.cache.initialized
    catalog = await container.services.catalog()  # the strategy catalogue: the cache, no database
    assert [info.name for info in await catalog.list()]
    assert container.adapters.cache.initialized and not container.adapters.state_store.initialized
    assert not db.exists()
    results = await container.services.results()  # saved backtests: the database
    assert await results.list() == []
    assert container.adapters.state_store.initialized and db.exists()
    await stop_resources(container)
    assert not container.adapters.cache.initialized and not container.adapters.state_store.initialized


async def test_eager_start_still_starts_every_resource(tmp_path: Path) -> None:
    """The server's start (the default): a broken adapter shows at start, not at the first request."""
    db = tmp_path / "state.db"
    settings = load_settings(env={}, cwd=tmp_path, home=tmp_path, overrides=[f"state.url=sqlite:///{db}"]).settings
    container = build_container(settings, executor="inline")
    await start_resources(container)
    try:
        assert container.adapters.state_store.initialized and container.adapters.cache.initialized
        assert db.exists()
    finally:
        await stop_resources(container)


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    tester = ApplicationTester(GptTraderApplication())  # the production graph, as the console script builds it
    code = tester.execute(" ".join(args), interactive=False)
    return code, tester.io.fetch_output() + tester.io.fetch_error()


def test_a_command_that_reads_no_state_opens_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "state.db"
    code, output = _run(tmp_path, monkeypatch, "strategies", "--format", "json", "--set", f"state.url=sqlite:///{db}")
    assert code == 0 and '"sma_cross"' in output
    assert not db.exists()
    code, output = _run(
        tmp_path, monkeypatch, "sessions", "list", "--format", "json", "--set", f"state.url=sqlite:///{db}"
    )
    assert code == 0 and output.strip() == "[]", output
    assert db.exists()


@pytest.mark.redis
async def test_on_demand_start_still_closes_the_redis_bus(tmp_path: Path, redis_url: str) -> None:
    """No use case asks for the Redis bus's lifecycle (it closes the bus), so on demand it starts at once."""
    overrides = ["bus.backend=redis", f"bus.redis_url={redis_url}", f"bus.namespace=test-{uuid.uuid4().hex}"]
    settings = load_settings(env={}, cwd=tmp_path, home=tmp_path, overrides=overrides).settings
    container = build_container(settings, executor="inline")
    await start_resources(container, on_demand=True)
    assert container.adapters.event_bus_lifecycle.initialized and not container.adapters.state_store.initialized
    bus = container.adapters.event_bus()
    bus.subscribe("orders")  # starts the bus's reader task
    assert bus.subscribers == 1
    await stop_resources(container)
    assert bus.subscribers == 0 and not container.adapters.event_bus_lifecycle.initialized
