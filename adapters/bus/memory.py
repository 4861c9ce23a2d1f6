"""An in-process event bus: asyncio queues per subscription, drop-oldest on overflow."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from adapters.bus.subscription import DropOldestSubscription, matches
from gpt_trader_core.domain.records import Event


class InMemoryEventBus:
    """Delivers each published event to the matching subscriptions of this process."""

    def __init__(self) -> None:
        self._subscriptions: list[DropOldestSubscription] = []
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

    def subscribe(self, pattern: str = "*", *, max_queue: int = 1000) -> DropOldestSubscription:
        subscription = DropOldestSubscription(pattern, max_queue, self._remove)
        self._subscriptions.append(subscription)
        return subscription

    def _remove(self, subscription: DropOldestSubscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    async def close(self) -> None:
        for subscription in list(self._subscriptions):
            await subscription.close()
