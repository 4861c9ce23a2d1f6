"""The transactional outbox of a trading session: its events are stored with the bar that produced
them (``TradingStore.commit_bar(..., events=...)``), then published by this relay, in commit order.

Why: publishing after the commit loses the events of a worker killed between the two (its bar is
stored, its fills were never announced); publishing before it announces bars that may never be
stored. With the outbox the events are as durable as the bar. The relay publishes each with its
identity as the bus's ``origin``, so re-publishing one that was already published is a no-op on the
bus (no second delivery, no second WebSocket ``seq``), and tells the store which ones it published
(``sent``) with the next commit — no extra transaction per bar. A new holder of the session (a
takeover after a SIGKILL, a resume) first publishes whatever is still pending: what the previous
holder committed but did not publish (or published without recording it: the bus skips those).

The session's start and end go the same way (``swap``): each is stored with the session's state
change (its claim, its final status) in one transaction, after the events still pending. An ended
session is resumed by nobody, so what its holder could not publish (it died right after storing the
end, or the bus was down) is published by whichever process finds it (``TradingSessions.recover``,
at start and on every leadership scan): ``publish_pending``.

A bus that cannot be reached delays events, never loses them: the relay stops at the first failed
publish and tries again, from that event on, after the next commit.
"""

from __future__ import annotations

import collections
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from gpt_trader_core.domain.records import SessionRecord
from gpt_trader_core.errors import GptTraderError
from gpt_trader_core.ports import EventBus, OutboxEvent, TradingStore

log = logging.getLogger("gpt_trader.trading")


class OutboxRelay:
    """Numbers one engine run's events, publishes committed ones in order and remembers what it
    published until the store is told (``sent``)."""

    def __init__(self, session_id: str, store: TradingStore, bus: EventBus) -> None:
        self.session_id = session_id
        self.store = store
        self.bus = bus
        # A new source per run: numbers restart at 1, and the bus's watermark is per source.
        self.source = f"session:{session_id}:{uuid.uuid4().hex[:12]}"
        self._number = 0
        self._unsent: collections.deque[OutboxEvent] = collections.deque()
        self.sent: dict[str, int] = {}  # source → highest number published, not yet deleted from the store
        self.bus_down = False

    def event(self, topic: str, type_: str, data: Mapping[str, Any]) -> OutboxEvent:
        """The next event of this run (to be committed with its bar)."""
        self._number += 1
        return OutboxEvent(self.source, self._number, topic, type_, dict(data))

    async def recover(self) -> int:
        """Publish what earlier holders of the session committed and left pending; how many there were."""
        pending = await self.store.pending_events(self.session_id)
        if pending:
            log.info(
                "session %s: publishing %d event(s) its previous holder left pending", self.session_id, len(pending)
            )
        self.committed(pending)
        await self.publish()
        return len(pending)

    async def swap(
        self, session: SessionRecord, expected: SessionRecord, type_: str, data: Mapping[str, Any]
    ) -> OutboxEvent | None:
        """Store ``session`` in place of ``expected`` (``TradingStore.swap_session``'s compare-and-set)
        with the event ``type_`` (the session's start or end) in the same transaction, and delete what
        this relay published; the stored event (not published yet: ``committed`` it, or read it back
        with the pending ones), or None when the session changed meanwhile and nothing was stored."""
        event = self.event(f"session:{self.session_id}", type_, {"session_id": self.session_id, **data})
        sent = dict(self.sent)
        if not await self.store.swap_session(session, expected, [event], sent):
            return None
        self.stored(sent)
        return event

    def committed(self, events: Sequence[OutboxEvent]) -> None:
        """``events`` are stored: publish them (after any still unpublished)."""
        self._unsent.extend(events)

    @property
    def unsent(self) -> int:
        return len(self._unsent)

    async def publish(self) -> None:
        """Publish the committed events in order; stop at the first the bus refuses (tried again later)."""
        while self._unsent:
            event = self._unsent[0]
            try:
                await self.bus.publish(event.topic, event.type, event.data, origin=(event.source, event.number))
            except GptTraderError as exc:  # the bus cannot be reached (EventBusUnavailableError): later
                if not self.bus_down:
                    log.warning("session %s: events wait in the outbox while the bus is down: %s", self.session_id, exc)
                self.bus_down = True
                return
            if self.bus_down:
                log.info("session %s: the event bus is back; publishing the waiting events", self.session_id)
                self.bus_down = False
            self._unsent.popleft()
            self.sent[event.source] = event.number

    def stored(self, sent: Mapping[str, int]) -> None:
        """The store has deleted the events ``sent`` names (a commit carried them)."""
        for source, number in sent.items():
            if self.sent.get(source) == number:
                del self.sent[source]

    async def flush(self) -> None:
        """At the session's end: publish what is left and delete the published events from the store."""
        await self.publish()
        if self.sent:
            sent = dict(self.sent)
            await self.store.mark_sent(self.session_id, sent)
            self.stored(sent)


async def publish_pending(session_id: str, store: TradingStore, bus: EventBus) -> int:
    """Publish, in order, the events a session's outbox still holds, then delete them (an ended session
    its holder could not finish publishing; the bus drops any already published). How many were
    pending; those the bus refused (down) stay for the next time."""
    relay = OutboxRelay(session_id, store, bus)
    pending = await relay.recover()
    await relay.flush()
    return pending
