"""``EventBus.publish(..., origin=(source, number))``: what an outbox relay re-publishes after its
writer died is neither delivered nor numbered twice — on the memory bus, and on Redis across bus
instances (processes) and for the WebSocket channels' numbers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from tests.adapters.test_event_bus import bus, delete_namespace, delivered

__all__ = ["bus"]  # the fixture: every bus


async def drain(subscription: Any) -> list[Any]:
    out = []
    while (event := await subscription.get(0.2)) is not None:
        out.append(event)
    return out


async def test_a_republished_origin_is_not_delivered_or_numbered_again(bus: Any) -> None:
    subscription = bus.subscribe("session:*")
    first = [await bus.publish("session:s", "fill", {"n": n}, origin=("run-a", n)) for n in (1, 2)]
    again = await bus.publish("session:s", "fill", {"n": 1}, origin=("run-a", 1))  # a relay after a kill
    older = await bus.publish("session:s", "fill", {"n": 2}, origin=("run-a", 2))
    later = await bus.publish("session:s", "fill", {"n": 3}, origin=("run-a", 3))
    other = await bus.publish("session:s", "fill", {"n": 1}, origin=("run-b", 1))  # another source: its own count
    plain = await bus.publish("session:s", "started", {})  # no origin: always published
    await delivered(bus)
    assert [e.seq for e in first] == [1, 2] and again.seq == 0 and older.seq == 0
    assert (later.seq, other.seq, plain.seq) == (3, 4, 5)
    got = await drain(subscription)
    assert [(e.seq, e.type, e.data) for e in got] == [
        (1, "fill", {"n": 1}),
        (2, "fill", {"n": 2}),
        (3, "fill", {"n": 3}),
        (4, "fill", {"n": 1}),
        (5, "started", {}),
    ]


def _router(topic: str, type_: str, data: Mapping[str, Any]) -> list[str]:
    return ["trades:live"] if type_ == "fill" else []


@pytest.fixture
async def two_redis_buses(redis_url: str) -> AsyncIterator[tuple[Any, Any]]:
    from adapters.bus.redis import RedisEventBus

    namespace = f"gpt-trader-test:{uuid.uuid4().hex}"
    a = RedisEventBus(redis_url, namespace=namespace, router=_router)
    b = RedisEventBus(redis_url, namespace=namespace, router=_router)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()
        await delete_namespace(redis_url, namespace)


@pytest.mark.redis
async def test_on_redis_another_process_republishing_gets_no_second_channel_number(
    two_redis_buses: tuple[Any, Any],
) -> None:
    dead, relay = two_redis_buses
    watcher = relay.subscribe("*")
    await dead.publish("session:s", "fill", {"n": 1}, origin=("run-a", 1))
    await dead.publish("session:s", "fill", {"n": 2}, origin=("run-a", 2))
    # the dead worker's events 1..3 were committed; it published 1 and 2 before SIGKILL
    results = [await relay.publish("session:s", "fill", {"n": n}, origin=("run-a", n)) for n in (1, 2, 3)]
    assert [r.seq for r in results] == [0, 0, 3]
    assert results[2].channels == {"trades:live": 3}
    assert await relay.channel_seq("trades:live") == 3
    history = await relay.channel_history("trades:live", 0, 100)
    assert [(e.data["n"], e.channels["trades:live"]) for e in history] == [(1, 1), (2, 2), (3, 3)]
    await relay.delivered()
    assert [(e.data["n"], e.seq) for e in await drain(watcher)] == [(1, 1), (2, 2), (3, 3)]  # each once
