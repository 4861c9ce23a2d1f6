"""Work a workflow's steps start belongs to whoever started the workflow: the paper session that
``risk_managed_live_trading`` starts gets the execution's owner, recorded before the session starts, so
its messages on the shared channels name that owner (the WebSocket layer shows them to the owner and
admins only: tests/e2e/test_ws_workflow_owners.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from adapters.broker.factory import SimulatedBrokerFactory
from adapters.bus.memory import InMemoryEventBus
from adapters.executor.local import InlineExecutor
from adapters.feeds.factory import FeedFactory
from adapters.market_data.synthetic import SyntheticMarketData
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.events import StreamMessage
from gpt_trader_core.domain.records import Event, ExecutionStatus
from gpt_trader_core.services.backtest import Backtester, MarketHistory
from gpt_trader_core.services.channels import ChannelRegistry
from gpt_trader_core.services.optimization import Optimizer
from gpt_trader_core.services.sessions import TradingSessions
from gpt_trader_core.services.streams import StreamHub
from gpt_trader_core.strategy import REGISTRY
from gpt_trader_core.workflows.common import WorkflowServices
from gpt_trader_core.workflows.engine import WorkflowEngine
from gpt_trader_core.workflows.trading import risk_managed_live_trading
from gpt_trader_core.workflows.use_case import Workflows


class OwnerCheckingBus(InMemoryEventBus):
    """Records, for each session event, whether the session's owner was recorded when it was published."""

    def __init__(self, owners: InMemoryStateStore) -> None:
        super().__init__()
        self.owners = owners
        self.owner_at_publish: dict[str, set[str | None]] = {}

    async def publish(
        self, topic: str, type: str, data: Mapping[str, Any], *, origin: tuple[str, int] | None = None
    ) -> Event:
        if topic.startswith("session:"):
            self.owner_at_publish.setdefault(topic, set()).add(await self.owners.get_owner(topic))
        return await super().publish(topic, type, data, origin=origin)


async def _setup(owners: bool) -> tuple[Workflows, InMemoryStateStore, OwnerCheckingBus, TradingSessions]:
    store = InMemoryStateStore()
    await store.open()
    bus = OwnerCheckingBus(store)
    executor = InlineExecutor()
    market = SyntheticMarketData(seed=0)
    history = MarketHistory(market)
    sessions = TradingSessions(store, bus, REGISTRY, FeedFactory(market), SimulatedBrokerFactory())
    shared = WorkflowServices(
        Backtester(history, REGISTRY, executor, store=store), history, Optimizer(history, REGISTRY, executor, store),
        executor, REGISTRY,
    )  # fmt: skip
    engine = WorkflowEngine(store, bus, owners=store if owners else None)
    return Workflows(engine, shared, extra=(risk_managed_live_trading(shared, sessions),)), store, bus, sessions


async def _run_as(workflows: Workflows, store: InMemoryStateStore, subject: str) -> str:
    """Start the trading workflow as the REST handler does (prepare, record the owner, start); the session id."""
    prepared = await workflows.prepare("risk_managed_live_trading", {"bars": 120, "max_drawdown_pct": 80})
    await store.set_owner(f"execution:{prepared.id}", subject)
    await workflows.start_prepared(prepared.id)
    done = await workflows.wait(prepared.id)
    assert done.status is ExecutionStatus.SUCCEEDED, done.error
    return str(done.result["report"]["session"]["session_id"])


async def test_a_session_a_workflow_starts_belongs_to_whoever_started_the_workflow() -> None:
    workflows, store, bus, sessions = await _setup(owners=True)
    hub = StreamHub(bus, owners=store)
    await hub.start()
    fills: list[StreamMessage] = []
    hub.listen(ChannelRegistry().parse("trades:live"), fills.append)
    try:
        alices = await _run_as(workflows, store, "alice")
        bobs = await _run_as(workflows, store, "bob")
        assert await store.get_owner(f"session:{alices}") == "alice"
        assert await store.get_owner(f"session:{bobs}") == "bob"
        # recorded before the session started: its very first event found it
        assert bus.owner_at_publish[f"session:{alices}"] == {"alice"}
        assert bus.owner_at_publish[f"session:{bobs}"] == {"bob"}
        for _ in range(200):
            if {m.data.get("session_id") for m in fills} >= {alices, bobs}:
                break
            await asyncio.sleep(0.01)
        owners = {(m.data["session_id"], m.owner) for m in fills}
        assert owners == {(alices, "alice"), (bobs, "bob")}  # each fill names its session's owner only
    finally:
        await hub.stop()
        await sessions.stop_all()
        await workflows.shutdown()


async def test_without_an_owner_store_nothing_is_recorded() -> None:
    workflows, store, _, sessions = await _setup(owners=False)
    try:
        session = await _run_as(workflows, store, "alice")
        assert await store.get_owner(f"session:{session}") is None
    finally:
        await sessions.stop_all()
        await workflows.shutdown()
