"""An in-process event bus: asyncio queues per subscription, drop-oldest on overflow."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from gpt_trader_core.domain.records import Event


def matches(pattern: str, topic: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return topic.startswith(pattern[:-1])
    return topic == pattern


class _Subscription:
    def __init__(self, bus: InMemoryEventBus, pattern: str, max_queue: int) -> None:
        self._bus = bus
        self.pattern = pattern
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(max_queue)
        self.dropped = 0
        self._closed = False

    def offer(self, event: Event) -> None:
        if self._queue.full():  # a slow consumer loses the oldest event, publishers never wait
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> Event:
        if self._closed and self._queue.empty():
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after ``timeout`` seconds (for polling consumers)."""
        try:
            event = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        return event

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._bus._remove(self)
            if self._queue.full():
                self._queue.get_nowait()
            self._queue.put_nowait(None)


class InMemoryEventBus:
    """Delivers each published event to the matching subscriptions of this process."""

    def __init__(self) -> None:
        self._subscriptions: list[_Subscription] = []
        self._seq: defaultdict[str, int] = defaultdict(int)
        self.published = 0

    async def publish(self, topic: str, type: str, data: Mapping[str, Any]) -> Event:
        self._seq[topic] += 1
        event = Event(topic=topic, type=type, data=dict(data), seq=self._seq[topic])
        self.published += 1
        for subscription in list(self._subscriptions):
            if matches(subscription.pattern, topic):
                subscription.offer(event)
        return event

    def subscribe(self, pattern: str = "*", *, max_queue: int = 1000) -> _Subscription:
        subscription = _Subscription(self, pattern, max_queue)
        self._subscriptions.append(subscription)
        return subscription

    def _remove(self, subscription: _Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    async def close(self) -> None:
        for subscription in list(self._subscriptions):
            await subscription.close()
