"""The stream hub with owners (auth on): reading who owns a new session or execution never holds up
the other channels, and the owned channels keep their order — also when a shared log (several
workers) numbered the messages at publish time, where a reordering would drop or repeat messages."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from adapters.bus.memory import InMemoryEventBus
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.events import StreamMessage
from gpt_trader_core.domain.records import Event
from gpt_trader_core.services.channels import ChannelRegistry
from gpt_trader_core.services.streams import StreamHub
from tests.unit.test_live_market import MemoryLog

registry = ChannelRegistry()


class SlowOwners(InMemoryStateStore):
    """The owner store of a far database: every read takes ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.reads = 0

    async def get_owner(self, resource: str) -> str | None:
        self.reads += 1
        await asyncio.sleep(self.delay)
        return await super().get_owner(resource)


class NumberingBus(InMemoryEventBus):
    """The memory bus numbering each channel at publish time, as the shared (Redis) bus does."""

    def __init__(self, log: MemoryLog) -> None:
        super().__init__()
        self.log = log
        self.numbers: defaultdict[str, int] = defaultdict(int)

    async def publish(
        self, topic: str, type: str, data: Mapping[str, Any], *, origin: tuple[str, int] | None = None
    ) -> Event:
        channels = {}
        for name in registry.channels_of(topic, type, data):
            self.numbers[name] += 1
            channels[name] = self.numbers[name]
        event = Event(topic=topic, type=type, data=dict(data), channels=channels)
        self.log.add(event)
        for subscription in list(self._subscriptions):
            subscription.offer(event)
        return event


async def _until(got: list[StreamMessage], n: int, timeout: float = 5.0) -> float:
    """Seconds until ``got`` holds ``n`` messages."""
    began = time.monotonic()
    while len(got) < n:
        assert time.monotonic() - began < timeout, got
        await asyncio.sleep(0.002)
    return time.monotonic() - began


def _fill(session: str, n: int) -> tuple[str, str, dict[str, Any]]:
    return f"session:{session}", "fill_recorded", {"session_id": session, "fill_id": f"{session}-{n}", "symbol": "AAPL"}


async def test_a_market_event_after_a_new_sessions_first_events_is_not_held_up_by_its_owner() -> None:
    bus = InMemoryEventBus()
    owners = SlowOwners(delay=0.6)
    await owners.open()
    hub = StreamHub(bus, owners=owners)
    await hub.start()
    market: list[StreamMessage] = []
    trades: list[StreamMessage] = []
    hub.listen(registry.parse("market:AAPL"), market.append)
    hub.listen(registry.parse("trades:live"), trades.append)
    try:
        # A session nobody recorded an owner for (the slow store must be asked about it) starts and fills …
        await bus.publish("session:new", "session_started", {"session_id": "new", "resume_at": 0, "symbols": ["X"]})
        await bus.publish(*_fill("new", 1))
        # … and right after, the live feed's bar.
        await bus.publish("feed:AAPL", "bar_published", {"feed": "synthetic", "symbol": "AAPL", "close": 1.0})
        assert await _until(market, 1) < 0.3  # before: ~1 s (every channel waited for the owner)
        assert trades == []  # the fill waits for its owner …
        await _until(trades, 1)
        assert trades[0].owner == "" and trades[0].seq == 1  # … none recorded: admins only
        assert owners.reads == 1
    finally:
        await hub.stop()


async def test_an_owner_told_at_start_is_never_read_from_the_store() -> None:
    bus = InMemoryEventBus()
    owners = SlowOwners(delay=0.6)
    await owners.open()
    await owners.set_owner("session:s1", "alice")
    hub = StreamHub(bus, owners=owners)
    hub.own("session:s1", "alice")  # what the starter does as it records the owner
    await hub.start()
    trades: list[StreamMessage] = []
    hub.listen(registry.parse("trades:live"), trades.append)
    try:
        await bus.publish(*_fill("s1", 1))
        assert await _until(trades, 1) < 0.3
        assert trades[0].owner == "alice" and owners.reads == 0
    finally:
        await hub.stop()


async def test_owned_channels_keep_their_order_while_an_owner_is_read() -> None:
    bus = InMemoryEventBus()
    owners = SlowOwners(delay=0.2)
    await owners.open()
    await owners.set_owner("session:s2", "bob")
    hub = StreamHub(bus, owners=owners)
    hub.own("session:s1", "alice")
    await hub.start()
    trades: list[StreamMessage] = []
    market: list[StreamMessage] = []
    hub.listen(registry.parse("trades:live"), trades.append)
    hub.listen(registry.parse("market:AAPL"), market.append)
    try:
        await bus.publish(*_fill("s2", 1))  # bob's owner is read from the store …
        await bus.publish(*_fill("s1", 1))  # … so alice's fill waits behind it on trades:live
        await bus.publish("session:s1", "bar_processed", {"session_id": "s1", "symbol": "AAPL", "bar": 0})
        await bus.publish(*_fill("s2", 2))
        assert await _until(market, 1) < 0.15 and trades == []
        await _until(trades, 3)
        assert [(m.seq, m.data["fill_id"], m.owner) for m in trades] == [
            (1, "s2-1", "bob"),
            (2, "s1-1", "alice"),
            (3, "s2-2", "bob"),
        ]
    finally:
        await hub.stop()


async def test_on_a_shared_log_no_message_is_dropped_or_repeated_while_an_owner_is_read() -> None:
    log = MemoryLog()
    bus = NumberingBus(log)
    owners = SlowOwners(delay=0.1)
    await owners.open()
    await owners.set_owner("session:late", "bob")
    hub = StreamHub(bus, owners=owners, log=log)
    hub.own("session:early", "alice")
    await hub.start()
    trades: list[StreamMessage] = []
    hub.listen(registry.parse("trades:live"), trades.append)
    try:
        for n in range(1, 6):
            await bus.publish(*_fill("early", n))
            await bus.publish(*_fill("late", n))
        await _until(trades, 10)
        await asyncio.sleep(0.05)
        assert [m.seq for m in trades] == list(range(1, 11))  # no gap, no duplicate, in the log's order
        assert [m.owner for m in trades] == ["alice", "bob"] * 5
        assert owners.reads == 1
    finally:
        await hub.stop()


async def test_stopping_delivers_what_waits_for_an_owner() -> None:
    bus = InMemoryEventBus()
    owners = SlowOwners(delay=0.2)
    await owners.open()
    hub = StreamHub(bus, owners=owners)
    await hub.start()
    trades: list[StreamMessage] = []
    hub.listen(registry.parse("trades:live"), trades.append)
    await bus.publish(*_fill("s", 1))
    await asyncio.sleep(0.01)
    await hub.stop()
    assert [m.data["fill_id"] for m in trades] == ["s-1"]


class RecordingBus(InMemoryEventBus):
    """The memory bus noting, in ``order``, each event as it is published."""

    def __init__(self, order: list[str]) -> None:
        super().__init__()
        self.order = order

    async def publish(
        self, topic: str, type: str, data: Mapping[str, Any], *, origin: tuple[str, int] | None = None
    ) -> Event:
        self.order.append(f"{type} on {topic}")
        return await super().publish(topic, type, data, origin=origin)


def _recorder(order: list[str], owners: InMemoryStateStore) -> Any:
    async def before_start(topic: str) -> None:
        await asyncio.sleep(0.05)  # a far owner store: the work must not start meanwhile
        await owners.set_owner(topic, "alice")
        order.append(f"owner of {topic}")

    return before_start


async def test_a_session_starts_only_once_its_owner_is_recorded() -> None:
    from tests.unit.test_trading_outbox import request, sessions_on

    order: list[str] = []
    store = InMemoryStateStore()
    await store.open()
    sessions = sessions_on(store, RecordingBus(order))
    record = await sessions.start(request(speed=86_400 * 400), before_start=_recorder(order, store))
    while sessions.running():
        await asyncio.sleep(0.01)
    assert order[0] == f"owner of session:{record.id}" and len(order) > 10
    assert await store.get_owner(f"session:{record.id}") == "alice"


async def test_a_job_starts_only_once_its_owner_is_recorded() -> None:
    from gpt_trader_core.services.jobs import JobProgress, Jobs

    order: list[str] = []
    store = InMemoryStateStore()
    await store.open()
    jobs = Jobs(store, RecordingBus(order))

    async def work(progress: JobProgress) -> dict[str, int]:
        progress.report(0.5, "half")
        return {}

    execution = await jobs.start("optimize", "demo", {}, work, before_start=_recorder(order, store))
    while not (await jobs.get(execution.id)).status.finished:
        await asyncio.sleep(0.01)
    assert order[0] == f"owner of execution:{execution.id}" and len(order) >= 3, order
