"""Helper process for the cross-process Redis bus tests.

    python _bus_process.py URL NAMESPACE publish TOPIC COUNT TAG   # publishes COUNT events, then exits
    python _bus_process.py URL NAMESPACE subscribe PATTERN COUNT   # prints READY, then one line per event

An event published here carries ``{"tag": TAG, "i": i}``; a received one is printed as
``TOPIC SEQ TAG I``.
"""

from __future__ import annotations

import asyncio
import sys

from adapters.bus.redis import RedisEventBus


async def publish(bus: RedisEventBus, topic: str, count: int, tag: str) -> None:
    for i in range(count):
        await bus.publish(topic, "ticked", {"tag": tag, "i": i})


async def subscribe(bus: RedisEventBus, pattern: str, count: int) -> None:
    subscription = bus.subscribe(pattern, max_queue=100_000)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    for _ in range(count):
        event = await subscription.get(20)
        if event is None:
            break
        sys.stdout.write(f"{event.topic} {event.seq} {event.data['tag']} {event.data['i']}\n")
    sys.stdout.flush()


async def main(url: str, namespace: str, mode: str, what: str, count: str, *rest: str) -> None:
    bus = RedisEventBus(url, namespace=namespace)
    try:
        if mode == "publish":
            await publish(bus, what, int(count), rest[0])
        else:
            await subscribe(bus, what, int(count))
    finally:
        await bus.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
