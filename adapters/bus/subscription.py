"""A bus subscription of this process: a bounded queue that drops its oldest event on overflow, so a slow
consumer loses old events and whoever feeds it (a publisher, a bus reader) never waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gpt_trader_core.domain.records import Event


def matches(pattern: str, topic: str) -> bool:
    """Whether ``topic`` is one of ``pattern``'s (``*`` all, ``prefix*``, or the exact topic)."""
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return topic.startswith(pattern[:-1])
    return topic == pattern


class DropOldestSubscription:
    def __init__(self, pattern: str, max_queue: int, remove: Callable[[DropOldestSubscription], None]) -> None:
        self.pattern = pattern
        self._remove = remove
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(max_queue)
        self.dropped = 0
        self._closed = False

    def offer(self, event: Event) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    def __aiter__(self) -> DropOldestSubscription:
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
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._remove(self)
            if self._queue.full():
                self._queue.get_nowait()
            self._queue.put_nowait(None)
