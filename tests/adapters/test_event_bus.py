"""The in-memory event bus: ordering, patterns, sequence numbers, slow consumers."""

from __future__ import annotations

import asyncio

from adapters.bus.memory import InMemoryEventBus


async def test_delivery_by_pattern_in_order_with_sequence_numbers() -> None:
    bus = InMemoryEventBus()
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


async def test_slow_consumers_drop_oldest_and_never_block_publishers() -> None:
    bus = InMemoryEventBus()
    slow = bus.subscribe("*", max_queue=3)
    for i in range(10):
        await asyncio.wait_for(bus.publish("t", "ticked", {"i": i}), 0.1)
    assert slow.dropped == 7
    assert [(await slow.get(1)).data["i"] for _ in range(3)] == [7, 8, 9]  # type: ignore[union-attr]


async def test_iteration_ends_when_closed() -> None:
    bus = InMemoryEventBus()
    sub = bus.subscribe("x")

    async def consume() -> list[int]:
        return [event.data["i"] async for event in sub]

    task = asyncio.create_task(consume())
    await bus.publish("x", "happened", {"i": 1})
    await asyncio.sleep(0)
    await sub.close()
    assert await asyncio.wait_for(task, 1) == [1]
    assert bus.subscribers == 0
