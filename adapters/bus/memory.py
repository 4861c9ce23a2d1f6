"""An in-process event bus: asyncio queues per subscription, drop-oldest on overflow.

``origin`` dedupe: the highest number published per source, for the last ``max_origins`` sources (a
source is one engine run, so that bounds memory whatever the uptime)."""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from typing import Any

from adapters.bus.subscription import DropOldestSubscription, matches
from gpt_trader_core.domain.records import Event


class InMemoryEventBus:
    """Delivers each published event to the matching subscriptions of this process."""

    def __init__(self, *, max_origins: int = 10_000) -> None:
        self._subscriptions: list[DropOldestSubscription] = []
        self._seq: defaultdict[str, int] = defaultdict(int)
        self._origins: OrderedDict[str, int] = OrderedDict()
        self._max_origins = max_origins
        self.published = 0

    async def publish(
        self, topic: str, type: str, data: Mapping[str, Any], *, origin: tuple[str, int] | None = None
    ) -> Event:
        if origin is not None:
            source, number = origin
            if number <= self._origins.get(source, 0):  # published already: see the EventBus port
                return Event(topic=topic, type=type, data=dict(data), seq=0)
            self._origins[source] = number
            self._origins.move_to_end(source)
            if len(self._origins) > self._max_origins:
                self._origins.popitem(last=False)
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
