"""Commands for a session's holder, in the core, on two "workers" sharing one in-memory store and a
working in-memory stand-in for the lease backend: a rebalance (plan and execution) and a status's
prices work from the worker that does not run the session; a holder nobody can reach is a clear 409."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import attrs
import pytest

import gpt_trader_core as gt
from adapters.broker.factory import SimulatedBrokerFactory
from adapters.bus.memory import InMemoryEventBus
from adapters.feeds.factory import FeedFactory
from adapters.market_data.memory import InMemoryMarketData
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.specs import FeedSpec
from gpt_trader_core.errors import ConflictError
from gpt_trader_core.ports import SessionCommandHandler
from gpt_trader_core.services.sessions import SessionRequest, TradingSessions
from gpt_trader_core.strategy import REGISTRY

BARS = {s: gt.synthetic(s, "2018-01-01", "2020-12-31", seed=i) for i, s in enumerate(("AAA", "BBB"))}


class Backend:
    """What Redis is to ``RedisLeases``: who holds which session, and each process's inbox."""

    def __init__(self) -> None:
        self.holders: dict[str, str] = {}
        self.inboxes: dict[str, SessionCommandHandler] = {}


@attrs.define
class SharedLeases:
    """``SessionLeases`` of one process on a shared ``Backend`` (a working in-memory twin)."""

    backend: Backend
    me: str
    shared: bool = True
    renew_interval: float = 0.2
    scan_interval: float = 0.1

    async def acquire(self, session_id: str) -> str | None:
        if session_id in self.backend.holders:
            return None
        self.backend.holders[session_id] = f"{self.me}:1"
        return self.backend.holders[session_id]

    async def renew(self, session_id: str, owner: str) -> bool:
        return self.backend.holders.get(session_id) == owner

    async def release(self, session_id: str, owner: str) -> None:
        if self.backend.holders.get(session_id) == owner:
            del self.backend.holders[session_id]

    async def holds(self, session_id: str, owner: str | None) -> bool:
        return owner is not None and self.backend.holders.get(session_id) == owner

    async def holding(self, owners: Mapping[str, str | None]) -> set[str]:
        return {sid for sid, owner in owners.items() if await self.holds(sid, owner)}

    async def serve(self, handler: SessionCommandHandler) -> None:
        self.backend.inboxes[self.me] = handler
        try:
            await asyncio.Event().wait()
        finally:
            del self.backend.inboxes[self.me]

    async def ask(
        self, owner: str, session_id: str, command: str, args: Mapping[str, Any], timeout: float
    ) -> Mapping[str, Any]:
        handler = self.backend.inboxes.get(owner.rpartition(":")[0])
        if handler is None:
            raise ConflictError(f"the process running session {session_id} did not answer {command!r}")
        return await asyncio.wait_for(handler(session_id, command, args), timeout)


def worker(store: InMemoryStateStore, backend: Backend, name: str) -> TradingSessions:
    feeds = FeedFactory(InMemoryMarketData(BARS))
    leases = SharedLeases(backend, name)
    return TradingSessions(store, InMemoryEventBus(), REGISTRY, feeds, SimulatedBrokerFactory(), leases)


def request() -> SessionRequest:
    return SessionRequest(
        "sma_cross",
        ("AAA", "BBB"),
        {"fast": 5, "slow": 20},
        capital=50_000,
        feed=FeedSpec("replay", speed=86_400 * 20),
        tier_aware=False,
    )


async def test_a_rebalance_and_prices_work_from_the_worker_that_does_not_run_the_session() -> None:
    store, backend = InMemoryStateStore(), Backend()
    await store.open()
    leader, other = worker(store, backend, "w1"), worker(store, backend, "w2")
    serving = [asyncio.create_task(leader.lead()), asyncio.create_task(other.lead())]
    try:
        record = await leader.start(request())
        while (await store.get_session(record.id)).last_bar < 3:
            await asyncio.sleep(0.02)
        assert other.running() == [] and other.last_prices(record.id) is None
        prices = await other.prices(record.id)
        assert prices is not None and set(prices) == {"AAA", "BBB"}
        report = await other.status(record.id)
        assert report.running and report.session.status.value == "running"
        preview = await other.rebalance(record.id, {"AAA": 0.3, "BBB": 0.3}, execute=False)
        assert preview.orders
        executed = await other.rebalance(record.id, {"AAA": 0.3, "BBB": 0.3})
        assert executed.orders
        for _ in range(200):
            orders = await store.list_orders(record.id)
            if any(":rebalance:" in o.order.client_order_id for o in orders):
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the rebalance orders never reached the session's engine")
        await leader.stop(record.id)
        with pytest.raises(ConflictError, match="not running"):
            await other.rebalance(record.id, {"AAA": 0.5})
        assert await other.prices(record.id) is None
    finally:
        for task in serving:
            task.cancel()
        await asyncio.gather(*serving, return_exceptions=True)
        await leader.stop_all()


async def test_one_process_cannot_reach_a_session_another_runs_and_says_so() -> None:
    store = InMemoryStateStore()
    await store.open()
    sessions = TradingSessions(
        store, InMemoryEventBus(), REGISTRY, FeedFactory(InMemoryMarketData(BARS)), SimulatedBrokerFactory()
    )
    record = sessions.validate(request())
    await store.save_session(attrs.evolve(record, owner="elsewhere:4242:t"))  # another host: counts as alive
    with pytest.raises(
        ConflictError, match="not running in this process but in elsewhere:4242:t, which it cannot reach"
    ):
        await sessions.rebalance(record.id, {"AAA": 0.5}, execute=False)
    assert await sessions.prices(record.id) is None
