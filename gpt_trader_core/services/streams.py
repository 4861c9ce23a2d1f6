"""The stream use case: bus events → numbered channel messages, a bounded replay buffer per channel,
and fan-out to the listeners of each channel (the WebSocket server's connections).

Each channel's messages are numbered 1, 2, 3 … by this hub (``seq``), whatever bus topics they come
from, so a client that saw message 41 resumes with 42: from the replay buffer while it still holds
42, otherwise with a snapshot (the newest message of each key) followed by what comes next.
``export``/``restore`` carry the numbering and buffers across a restart of the server.

With a shared ``StreamLog`` (the Redis bus) the numbers are NOT this hub's: the bus gives them once,
when the event is published (``Event.channels``), so every server process numbers alike; a resume the
local buffer cannot serve reads the channel's history from the log (``catch_up``), across processes
and restarts. With a ``LiveMarket`` the hub asks it to pump the live feed of a ``market:SYMBOL`` while
the channel has listeners in this process, and tells it which symbols running sessions feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from gpt_trader_core.domain.events import OWNED, ChannelKind, StreamMessage
from gpt_trader_core.domain.records import Event
from gpt_trader_core.ports import EventBus, OwnerStore, StreamLog
from gpt_trader_core.services.channels import Channel, ChannelRegistry
from gpt_trader_core.services.live_market import LiveMarket

log = logging.getLogger("gpt_trader.streams")

Listener = Callable[[StreamMessage], None]
#: Data fields that tell apart the things a snapshot keeps the newest message of.
_SNAPSHOT_KEYS = ("symbol", "client_order_id", "session_id", "name", "id", "step")


@attrs.frozen
class Resume:
    """What a resuming client receives: ``messages`` after its ``last_seq`` when the buffer still
    holds them all; otherwise ``snapshot`` (newest message per key) and ``missed`` is True."""

    messages: tuple[StreamMessage, ...]
    missed: bool = False
    seq: int = 0


class _ChannelState:
    __slots__ = ("buffer", "listeners", "seq")

    def __init__(self, size: int) -> None:
        self.seq = 0
        self.buffer: deque[StreamMessage] = deque(maxlen=size)
        self.listeners: list[Listener] = []


class StreamHub:
    """One per server process. ``start`` subscribes to every bus topic; ``listen`` attaches a
    callback to a channel (called on the event loop, must not block); ``resume`` replays."""

    def __init__(
        self,
        bus: EventBus,
        registry: ChannelRegistry | None = None,
        *,
        replay: int = 1000,
        max_channels: int = 10_000,
        bus_queue: int = 100_000,
        log: StreamLog | None = None,
        market: LiveMarket | None = None,
        owners: OwnerStore | None = None,
        owner_grace: float = 1.0,
    ) -> None:
        self._bus = bus
        self._owners = owners
        self._owner_grace = owner_grace
        self._owner_cache: dict[str, tuple[str, float]] = {}  # topic → (subject or "", when looked up)
        self.log = log
        self.market = market
        self.registry = registry or ChannelRegistry()
        self._replay = replay
        self._max_channels = max_channels
        self._bus_queue = bus_queue
        self._channels: dict[str, _ChannelState] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscription: Any = None
        self.delivered = 0

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None

    async def start(self) -> None:
        if self._task is None:
            self._subscription = self._bus.subscribe("*", max_queue=self._bus_queue)
            self._task = asyncio.create_task(self._pump(), name="stream-hub")

    async def stop(self) -> None:
        """Deliver what the bus already handed over, then stop listening."""
        if self.market is not None:
            await self.market.close()
        if self._task is None:
            return
        await self._subscription.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _pump(self) -> None:
        async for event in self._subscription:
            try:
                owner = await self.owner_of(event.topic) if self._owners is not None else None
                self.accept(event, owner)
            except Exception:  # one bad event must not end every stream
                log.exception("stream hub: event %s on %s could not be routed", event.type, event.topic)

    # -- ownership ---------------------------------------------------------------------------------

    def restrict_to_owners(self, owners: OwnerStore) -> None:
        """From now on, owned work's messages name their owner (call before ``start``; the server does
        when authentication is on — without it every client is the local admin)."""
        self._owners = owners

    async def owner_of(self, topic: str, *, fresh: bool = False) -> str | None:
        """Who started the work behind ``topic`` (``session:<id>``, ``execution:<id>``): the subject,
        ``""`` when none is recorded, None when the topic has no owner (or no owner store). A topic
        seen for the first time waits up to ``owner_grace`` for the starter's record (it is written
        just after the work starts); an unrecorded one is asked again at most once a second."""
        if self._owners is None or not topic.startswith(("session:", "execution:")):
            return None
        cached = self._owner_cache.get(topic)
        now = time.monotonic()
        if cached is not None and (cached[0] or now - cached[1] < 1.0) and not fresh:
            return cached[0]
        deadline = now + (self._owner_grace if cached is None else 0.0)
        while True:
            subject = await self._owners.get_owner(topic)
            if subject is not None or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.02)
        if len(self._owner_cache) >= self._max_channels * 10:
            self._owner_cache.pop(next(iter(self._owner_cache)))
        self._owner_cache[topic] = (subject or "", time.monotonic())
        return subject or ""

    @property
    def shared(self) -> bool:
        """True when the numbering is the shared log's (several server processes), not this hub's."""
        return self.log is not None

    def accept(self, event: Event, owner: str | None = None) -> list[StreamMessage]:
        """Route one bus event onto its channels: number, buffer and hand it to the listeners.
        ``owner``: who started the work behind its topic (see ``owner_of``)."""
        out = []
        if self.market is not None and event.type == "bar_processed" and event.topic.startswith("session:"):
            self.market.fed(str(event.data.get("symbol", "")))
        for name, type_, data, role in self.registry.route(event):
            state = self._state(name)
            if self.log is None:
                state.seq += 1
            elif not self._numbered(name, state, event):
                continue
            message = StreamMessage(name, type_, state.seq, event.time, data, role, _owned(name, owner))
            state.buffer.append(message)
            for listener in list(state.listeners):
                listener(message)
            self.delivered += len(state.listeners)
            out.append(message)
        return out

    def _numbered(self, name: str, state: _ChannelState, event: Event) -> bool:
        """Take the shared number of ``name``'s message; False for one this hub already has."""
        seq = event.channels.get(name)
        if seq is None:  # the publisher's bus routed it to no channel: a different catalogue
            log.warning("stream hub: %s %s came without a number for %s; not sent", event.topic, event.type, name)
            return False
        if seq <= state.seq:
            return False
        if state.seq and seq > state.seq + 1:
            # This process missed messages (its bus reader fell behind): resumes read the log instead.
            log.warning("stream hub: %s jumped from %d to %d; resumes read the shared log", name, state.seq, seq)
            state.buffer.clear()
        state.seq = seq
        return True

    def _state(self, name: str) -> _ChannelState:
        state = self._channels.get(name)
        if state is None:
            if len(self._channels) >= self._max_channels:
                self._evict()
            state = self._channels[name] = _ChannelState(self._replay)
        return state

    def _evict(self) -> None:
        """Forget the oldest channel nobody listens to (bounded memory for many symbols/executions)."""
        for name, state in self._channels.items():
            if not state.listeners:
                del self._channels[name]
                return

    def listen(self, channel: Channel, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every new message of ``channel``; returns the function that stops it."""
        state = self._state(channel.name)
        state.listeners.append(listener)
        if self.market is not None and channel.kind is ChannelKind.MARKET and len(state.listeners) == 1:
            self.market.want(channel.key)

        def stop() -> None:
            if listener in state.listeners:
                state.listeners.remove(listener)
                if self.market is not None and channel.kind is ChannelKind.MARKET and not state.listeners:
                    self.market.unwant(channel.key)

        return stop

    def seq(self, channel: Channel) -> int:
        """The number of the channel's newest message (0: none yet)."""
        state = self._channels.get(channel.name)
        return state.seq if state else 0

    def resume(self, channel: Channel, last_seq: int) -> Resume:
        """The messages after ``last_seq``, or a snapshot when the buffer no longer holds them all."""
        state = self._channels.get(channel.name)
        if state is None or last_seq >= state.seq:
            # Nothing new; a last_seq beyond ours means the numbering restarted without its state.
            missed = last_seq > (state.seq if state else 0)
            return Resume((), missed=missed, seq=state.seq if state else 0)
        first = state.buffer[0].seq if state.buffer else state.seq + 1
        if last_seq + 1 >= first:
            return Resume(tuple(m for m in state.buffer if m.seq > last_seq), seq=state.seq)
        return Resume(_snapshot(state.buffer), missed=True, seq=state.seq)

    async def catch_up(self, channel: Channel, last_seq: int | None) -> Resume:
        """What a subscribing client needs before the live messages: nothing but the channel's number
        (``last_seq`` None), else ``resume``'s answer — from the shared log when the local buffer
        cannot serve it. Raises the log's ``GptTraderError`` when the log is unreachable."""
        state = self._channels.get(channel.name)
        seq = state.seq if state else 0
        if self.log is None:
            return Resume((), seq=seq) if last_seq is None else self.resume(channel, last_seq)
        if last_seq is None:
            return Resume((), seq=seq or await self.log.channel_seq(channel.name))
        if state is not None and state.buffer and last_seq < seq and state.buffer[0].seq <= last_seq + 1:
            return self.resume(channel, last_seq)
        newest = max(seq, await self.log.channel_seq(channel.name))
        if last_seq > newest:  # numbering newer than the log's: the log was emptied
            return Resume((), missed=True, seq=newest)
        if last_seq == newest:
            return Resume((), seq=newest)
        behind = newest - last_seq > self._replay
        after = newest - self._replay if behind else last_seq
        events = await self.log.channel_history(channel.name, after, self._replay)
        owners = {e.topic: await self.owner_of(e.topic) for e in events} if self._owners else {}
        messages = [m for e in events for m in self._messages(channel.name, e, owners.get(e.topic))]
        if not behind and messages and messages[0].seq == last_seq + 1:
            return Resume(tuple(messages), seq=messages[-1].seq)
        return Resume(_snapshot(messages), missed=True, seq=messages[-1].seq if messages else newest)

    def _messages(self, name: str, event: Event, owner: str | None) -> list[StreamMessage]:
        seq = event.channels.get(name)
        if seq is None:
            return []
        return [
            StreamMessage(name, type_, seq, event.time, data, role, _owned(name, owner))
            for channel, type_, data, role in self.registry.route(event)
            if channel == name
        ]

    async def publish(self, channel: Channel, type_: str, data: Mapping[str, Any]) -> None:
        """Publish on a custom channel through the bus (so every server process and listener sees it)."""
        await self._bus.publish(self.registry.custom_topic(channel, type_), type_, data)

    # -- across restarts ---------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """The numbering and replay buffers as JSON-like data (to store at shutdown)."""
        return {
            name: {
                "seq": state.seq,
                "buffer": [
                    {
                        "type": m.type,
                        "seq": m.seq,
                        "ts": m.ts.isoformat(),
                        "data": dict(m.data),
                        "role": m.role,
                        "owner": m.owner,
                    }
                    for m in state.buffer
                ],
            }
            for name, state in self._channels.items()
            if state.seq
        }

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Continue the numbering of an ``export`` (call before ``start``)."""
        for name, item in saved.items():
            state = self._state(name)
            for m in item["buffer"]:
                if int(m["seq"]) > state.seq:  # what this hub already holds is not added twice
                    ts = dt.datetime.fromisoformat(m["ts"])
                    message = StreamMessage(name, m["type"], int(m["seq"]), ts, m["data"], m["role"], m.get("owner"))
                    state.buffer.append(message)
            state.seq = max(state.seq, int(item["seq"]))


def _snapshot(messages: Iterable[StreamMessage]) -> tuple[StreamMessage, ...]:
    """The newest message per key (symbol, order, session …), in number order."""
    newest: dict[tuple[Any, ...], StreamMessage] = {}
    for message in messages:
        newest[(message.type, *(str(message.data.get(k)) for k in _SNAPSHOT_KEYS))] = message
    return tuple(sorted(newest.values(), key=lambda m: m.seq))


def _owned(channel: str, owner: str | None) -> str | None:
    """The message's owner restriction: only on the channels of owned work (see ``OWNED``)."""
    return owner if owner is not None and channel.partition(":")[0] in OWNED else None
