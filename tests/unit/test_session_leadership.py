"""Issue 18 in the core, on working in-memory adapters: a session survives a bus that is down, a
session stopped from another process ends at its holder's next bar, and a holder whose session was
taken over stores nothing more."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import attrs

import gpt_trader_core as gt
from adapters.broker.factory import SimulatedBrokerFactory
from adapters.bus.memory import InMemoryEventBus
from adapters.feeds.factory import FeedFactory
from adapters.market_data.memory import InMemoryMarketData
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.records import Event, SessionStatus
from gpt_trader_core.domain.specs import FeedSpec
from gpt_trader_core.errors import GptTraderError
from gpt_trader_core.services.sessions import SessionRequest, TradingSessions
from gpt_trader_core.strategy import REGISTRY

BARS = {"AAA": gt.synthetic("AAA", "2018-01-01", "2020-12-31", seed=4)}


class FlakyBus(InMemoryEventBus):
    """The memory bus, unreachable while ``down`` (as the Redis bus raises EventBusUnavailableError)."""

    down = False

    async def publish(
        self, topic: str, type: str, data: Mapping[str, Any], *, origin: tuple[str, int] | None = None
    ) -> Event:
        if self.down:
            raise GptTraderError("cannot publish: Redis unreachable")
        return await super().publish(topic, type, data, origin=origin)


async def sessions_on(store: InMemoryStateStore, bus: InMemoryEventBus | None = None) -> TradingSessions:
    feeds = FeedFactory(InMemoryMarketData(BARS))
    return TradingSessions(store, bus or InMemoryEventBus(), REGISTRY, feeds, SimulatedBrokerFactory())


def request(**feed: Any) -> SessionRequest:
    return SessionRequest(
        "sma_cross", ("AAA",), {"fast": 5, "slow": 20}, feed=FeedSpec("replay", **feed), tier_aware=False
    )


async def test_a_session_trades_on_while_the_bus_is_down_and_stores_every_bar() -> None:
    store = InMemoryStateStore()
    await store.open()
    reference = await (await sessions_on(store)).run(request(), asyncio.Event())
    bus = FlakyBus()
    bus.down = True
    record = await (await sessions_on(store, bus)).run(request(), asyncio.Event())
    assert record.status is SessionStatus.FINISHED and record.last_bar == reference.last_bar
    strip = [(f.bar, f.price, f.quantity) for f in await store.list_fills(reference.id)]
    assert [(f.bar, f.price, f.quantity) for f in await store.list_fills(record.id)] == strip


async def test_a_session_stopped_from_another_process_ends_at_its_holders_next_bar() -> None:
    store = InMemoryStateStore()
    await store.open()
    holder, elsewhere = await sessions_on(store), await sessions_on(store)
    record = await holder.start(request(speed=86_400 * 200))
    while (await store.get_session(record.id)).last_bar < 20:
        await asyncio.sleep(0.01)
    stopped = await elsewhere.stop(record.id)  # not running there: stored stopped and released
    assert stopped.status is SessionStatus.STOPPED and stopped.owner is None
    for _ in range(200):
        if not holder.running():
            break
        await asyncio.sleep(0.01)
    assert holder.running() == []
    final = await store.get_session(record.id)
    assert final.status is SessionStatus.STOPPED and final.owner is None  # the holder stored nothing over it
    assert final.last_bar <= stopped.last_bar + 1


async def test_a_holder_whose_session_was_taken_over_stores_nothing_more() -> None:
    store = InMemoryStateStore()
    await store.open()
    holder = await sessions_on(store)
    record = await holder.start(request(speed=86_400 * 200))
    while (await store.get_session(record.id)).last_bar < 20:
        await asyncio.sleep(0.01)
    current = await store.get_session(record.id)
    assert await store.swap_session(attrs.evolve(current, owner="other-host:1:t:9"), current)  # taken over
    for _ in range(200):
        if not holder.running():
            break
        await asyncio.sleep(0.01)
    assert holder.running() == []
    final = await store.get_session(record.id)
    assert final.owner == "other-host:1:t:9" and final.status is SessionStatus.RUNNING
    assert final.last_bar == current.last_bar  # the refused bar was not stored
