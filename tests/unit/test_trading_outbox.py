"""The trading outbox in the core, on working in-memory adapters: a worker killed between a bar's
commit and its publication loses no event — the session's next holder publishes what was left, and
what had been published already is not delivered twice; a bus that is down delays events, in order."""

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
from gpt_trader_core.domain.records import Event, SessionStatus
from gpt_trader_core.domain.specs import FeedSpec
from gpt_trader_core.services.sessions import LocalLeases, SessionRequest, TradingSessions
from gpt_trader_core.strategy import REGISTRY
from tests.unit.test_session_leadership import FlakyBus

BARS = {"AAA": gt.synthetic("AAA", "2018-01-01", "2020-12-31", seed=4)}
DEAD = "nowhere:1"  # the owner the killed worker left on the session


class Owners(LocalLeases):
    def alive(self, owner: str | None) -> bool:
        return owner != DEAD and super().alive(owner)


class Killed(BaseException):
    """SIGKILL, as far as the engine can tell: nothing after it runs (no ``except Exception`` sees it)."""


class KillingBus(InMemoryEventBus):
    """The memory bus whose process dies while publishing the ``kill_at``-th fill (its bar is stored)."""

    def __init__(self, kill_at: int) -> None:
        super().__init__()
        self.kill_at = kill_at
        self.fills = 0

    async def publish(
        self, topic: str, type: str, data: Mapping[str, Any], *, origin: tuple[str, int] | None = None
    ) -> Event:
        if type == "fill_recorded" and origin is not None and self.kill_at:
            self.fills += 1
            if self.fills == self.kill_at:
                self.kill_at = 0  # one death
                raise Killed
        return await super().publish(topic, type, data, origin=origin)


def sessions_on(store: InMemoryStateStore, bus: InMemoryEventBus) -> TradingSessions:
    feeds = FeedFactory(InMemoryMarketData(BARS))
    return TradingSessions(store, bus, REGISTRY, feeds, SimulatedBrokerFactory(), Owners())


def request(**feed: Any) -> SessionRequest:
    return SessionRequest(
        "sma_cross", ("AAA",), {"fast": 5, "slow": 20}, feed=FeedSpec("replay", **feed), tier_aware=False
    )


def drained(subscription: Any) -> list[Event]:
    out = []
    while not subscription._queue.empty():
        event = subscription._queue.get_nowait()
        if event is not None:
            out.append(event)
    return out


async def test_a_worker_killed_between_commit_and_publish_loses_no_event_and_repeats_none() -> None:
    store = InMemoryStateStore()
    await store.open()
    bus = KillingBus(kill_at=3)
    watcher = bus.subscribe("session:*", max_queue=100_000)  # a WebSocket client, say
    with pytest.raises(Killed):
        await sessions_on(store, bus).run(request(), asyncio.Event())
    [record] = await store.list_sessions()
    assert record.status is SessionStatus.RUNNING
    assert len(await store.list_fills(record.id)) == 3  # the third fill is stored, never announced
    assert await store.pending_events(record.id)  # and waits in the outbox
    await store.save_session(attrs.evolve(record, owner=DEAD))  # the worker is gone
    final = await sessions_on(store, bus).resume(record.id)
    assert final.status is SessionStatus.FINISHED
    events = drained(watcher)
    fills = [e.data["fill_id"] for e in events if e.type == "fill_recorded"]
    assert fills == [f.fill_id for f in await store.list_fills(record.id)]  # every fill once, in order
    bars = [e.data["bar"] for e in events if e.type == "bar_processed"]
    assert bars == list(range(final.last_bar + 1))  # every bar once, in order
    equity = [e.data["bar"] for e in events if e.type == "portfolio_updated"]
    assert equity == bars
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # one number each, no gap
    assert await store.pending_events(record.id) == []  # all published, all deleted at the end


async def test_events_wait_in_the_outbox_while_the_bus_is_down_and_go_out_in_order() -> None:
    store = InMemoryStateStore()
    await store.open()
    bus = FlakyBus()
    watcher = bus.subscribe("session:*", max_queue=100_000)
    bus.down = True
    sessions = sessions_on(store, bus)
    record = await sessions.start(request(speed=86_400 * 400))
    while (await store.get_session(record.id)).last_bar < 30:
        await asyncio.sleep(0.01)
    assert drained(watcher) == []
    assert len(await store.pending_events(record.id)) > 30  # kept, not lost
    bus.down = False
    while sessions.running():
        await asyncio.sleep(0.02)
    final = await store.get_session(record.id)
    assert final.status is SessionStatus.FINISHED
    events = drained(watcher)
    bars = [e.data["bar"] for e in events if e.type == "bar_processed"]
    assert bars == list(range(final.last_bar + 1))
    fills = [e.data["fill_id"] for e in events if e.type == "fill_recorded"]
    assert fills == [f.fill_id for f in await store.list_fills(record.id)]
    assert await store.pending_events(record.id) == []


class KillAt(InMemoryEventBus):
    """The memory bus whose process dies as it publishes the first event of type ``type_``."""

    def __init__(self, type_: str) -> None:
        super().__init__()
        self.type_: str | None = type_

    async def publish(
        self, topic: str, type: str, data: Mapping[str, Any], *, origin: tuple[str, int] | None = None
    ) -> Event:
        if type == self.type_:
            self.type_ = None  # one death
            raise Killed
        return await super().publish(topic, type, data, origin=origin)


def _check_stream(events: list[Event], last_bar: int, starts: int, end: str) -> None:
    """The session's stream: its starts first, every bar once in order, then its end once, last."""
    types = [e.type for e in events]
    assert types[:starts] == ["session_started"] * starts and types.count("session_started") == starts
    assert types[-1] == end and sum(t in ("session_finished", "session_stopped") for t in types) == 1
    assert [e.data["bar"] for e in events if e.type == "bar_processed"] == list(range(last_bar + 1))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_a_worker_killed_between_storing_a_sessions_end_and_publishing_it_loses_no_event() -> None:
    store = InMemoryStateStore()
    await store.open()
    bus = KillAt("session_finished")
    watcher = bus.subscribe("session:*", max_queue=100_000)
    with pytest.raises(Killed):
        await sessions_on(store, bus).run(request(), asyncio.Event())
    [record] = await store.list_sessions()
    assert record.status is SessionStatus.FINISHED  # stored, with its end, which was never announced
    assert [e.type for e in await store.pending_events(record.id)][-1] == "session_finished"
    assert "session_finished" not in [e.type for e in drained(watcher)[-3:]]
    # Nobody resumes a finished session: the next process to start (or a leadership scan) publishes it.
    assert await sessions_on(store, bus).publish_ended() >= 1
    assert await sessions_on(store, bus).recover() == []  # again: nothing left, nothing twice
    [end] = drained(watcher)
    assert end.type == "session_finished" and end.data["last_bar"] == record.last_bar
    assert await store.pending_events(record.id) == [] and await store.ended_with_pending() == []


async def test_a_worker_killed_between_storing_a_sessions_start_and_publishing_it_loses_no_event() -> None:
    store = InMemoryStateStore()
    await store.open()
    bus = KillAt("session_started")
    watcher = bus.subscribe("session:*", max_queue=100_000)
    with pytest.raises(Killed):
        await sessions_on(store, bus).run(request(), asyncio.Event())
    [record] = await store.list_sessions()
    assert [e.type for e in await store.pending_events(record.id)] == ["session_started"]
    await store.save_session(attrs.evolve(record, owner=DEAD))  # the worker is gone
    final = await sessions_on(store, bus).resume(record.id)
    assert final.status is SessionStatus.FINISHED
    events = drained(watcher)
    _check_stream(events, final.last_bar, 2, "session_finished")  # the dead run's start, then the new run's
    assert [e.data["resume_at"] for e in events[:2]] == [0, 0]
    assert await store.pending_events(record.id) == []


async def test_a_sessions_start_and_end_wait_in_the_outbox_while_the_bus_is_down() -> None:
    store = InMemoryStateStore()
    await store.open()
    bus = FlakyBus()
    watcher = bus.subscribe("session:*", max_queue=100_000)
    bus.down = True
    sessions = sessions_on(store, bus)
    record = await sessions.run(request(), asyncio.Event())  # start to end with the bus down
    assert record.status is SessionStatus.FINISHED and drained(watcher) == []
    pending = [e.type for e in await store.pending_events(record.id)]
    assert pending[0] == "session_started" and pending[-1] == "session_finished"
    assert await sessions.publish_ended() == len(pending)  # still down: all kept
    assert drained(watcher) == []
    bus.down = False
    assert await sessions.publish_ended() == len(pending)
    _check_stream(drained(watcher), record.last_bar, 1, "session_finished")
    assert await store.pending_events(record.id) == []


async def test_a_session_stopped_from_another_process_announces_its_end_once_after_its_last_bar() -> None:
    store = InMemoryStateStore()
    await store.open()
    bus = InMemoryEventBus()
    watcher = bus.subscribe("session:*", max_queue=100_000)
    holder, elsewhere = sessions_on(store, bus), sessions_on(store, bus)
    record = await holder.start(request(speed=86_400 * 200))
    while (await store.get_session(record.id)).last_bar < 20:
        await asyncio.sleep(0.01)
    stopped = await elsewhere.stop(record.id)  # not running there: stored stopped, with its end
    while holder.running():
        await asyncio.sleep(0.01)
    events = drained(watcher)
    final = await store.get_session(record.id)
    _check_stream(events, final.last_bar, 1, "session_stopped")
    assert events[-1].data["last_bar"] == stopped.last_bar == final.last_bar
    assert await store.pending_events(record.id) == []
