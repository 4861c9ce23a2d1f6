"""The event bus contract, on the in-memory bus and on the Redis Streams bus (real Redis):
ordering, patterns, sequence numbers, slow consumers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.bus.memory import InMemoryEventBus


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """The memory bus, or a Redis bus on a namespace of its own (its keys deleted afterwards)."""
    if request.param == "memory":
        yield InMemoryEventBus()
        return
    from adapters.bus.redis import RedisEventBus

    url, namespace = request.getfixturevalue("redis_url"), f"gpt-trader-test:{uuid.uuid4().hex}"
    redis_bus = RedisEventBus(url, namespace=namespace)
    try:
        yield redis_bus
    finally:
        await redis_bus.close()
        await delete_namespace(url, namespace)


async def delete_namespace(url: str, namespace: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def delivered(bus: Any) -> None:
    """Delivery on Redis is asynchronous (a reader task): wait for it before looking at queues."""
    if hasattr(bus, "delivered"):
        await bus.delivered()


async def test_delivery_by_pattern_in_order_with_sequence_numbers(bus: Any) -> None:
    everything, sessions, exact = bus.subscribe("*"), bus.subscribe("session:*"), bus.subscribe("system")
    await bus.publish("session:a", "order_filled", {"n": 1})
    await bus.publish("system", "alert_raised", {"n": 2})
    await bus.publish("session:a", "order_filled", {"n": 3})
    got = [await everything.get(1) for _ in range(3)]
    assert [e.data["n"] for e in got if e] == [1, 2, 3]
    assert [e.seq for e in got if e] == [1, 1, 2]
    assert [(await sessions.get(1)).data["n"] for _ in range(2)] == [1, 3]  # type: ignore[union-attr]
    assert (await exact.get(1)).type == "alert_raised"  # type: ignore[union-attr]
    assert await exact.get(0.01) is None


async def test_slow_consumers_drop_oldest_and_never_block_publishers(bus: Any) -> None:
    slow = bus.subscribe("*", max_queue=3)
    # Nobody reads `slow`: a publisher that waited for room would never finish. The bound is generous because
    # the first Redis publish also connects and loads the script (it took > 0.1 s once on a loaded CI machine).
    for i in range(10):
        await asyncio.wait_for(bus.publish("t", "ticked", {"i": i}), 5)
    await delivered(bus)
    assert slow.dropped == 7
    assert [(await slow.get(1)).data["i"] for _ in range(3)] == [7, 8, 9]  # type: ignore[union-attr]


async def test_iteration_ends_when_closed(bus: Any) -> None:
    sub = bus.subscribe("x")

    async def consume() -> list[int]:
        return [event.data["i"] async for event in sub]

    task = asyncio.create_task(consume())
    await bus.publish("x", "happened", {"i": 1})
    await delivered(bus)
    await asyncio.sleep(0)
    await sub.close()
    assert await asyncio.wait_for(task, 1) == [1]
    assert bus.subscribers == 0
