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
#: Bus topics of work someone starts (and so owns).
_OWNED_TOPICS = ("session:", "execution:")
#: ``_known_owner``'s "not known yet: being read".
_UNKNOWN: Any = object()


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
    ) -> None:
        self._bus = bus
        self._owners = owners
        self._owner_cache: dict[str, tuple[str, float]] = {}  # topic → (subject or "", when looked up)
        self._lookups: dict[str, asyncio.Future[None]] = {}  # topic → its owner being read from the store
        #: channel → its messages held (in order) behind an owner being read: (event, name, type, data, role, owner)
        self._held: dict[str, deque[tuple[Event, str, str, dict[str, Any], str, Any]]] = {}
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
                self._route(event)
            except Exception:  # one bad event must not end every stream
                log.exception("stream hub: event %s on %s could not be routed", event.type, event.topic)
        while self._lookups:  # stopping: what waits for an owner still goes out
            await asyncio.gather(*self._lookups.values(), return_exceptions=True)
        self._release(final=True)

    def _route(self, event: Event) -> None:
        """``accept`` without ever waiting: a message of owned work (portfolio, trades, workflow,
        optimize) whose owner this hub does not know yet is held, with the later messages of ITS
        channel only, while the owner store is asked; every other channel goes on. Each channel's
        messages keep their order (with a shared log their numbers are given at publish time: a
        later one delivered first would make the earlier one look like a duplicate)."""
        self._fed(event)
        routed = self.registry.route(event)
        owner: Any = None
        owned = self._owners is not None and event.topic.startswith(_OWNED_TOPICS)
        if owned and any(name.partition(":")[0] in OWNED for name, *_ in routed):
            owner = self._known_owner(event.topic)
        for name, type_, data, role in routed:
            held = self._held.get(name)
            if held is None and owner is _UNKNOWN and name.partition(":")[0] in OWNED:
                held = self._held[name] = deque()
            if held is not None:
                held.append((event, name, type_, data, role, owner))
            else:
                self._deliver(event, name, type_, data, role, None if owner is _UNKNOWN else owner)

    def _known_owner(self, topic: str) -> Any:
        """The owner this hub knows for ``topic`` (``""``: none recorded), or ``_UNKNOWN`` after
        starting to ask the store (an unrecorded owner is asked again, in the background, at most
        once a second: it is recorded before the work starts, so a late one is exceptional)."""
        cached = self._owner_cache.get(topic)
        if cached is not None:
            subject, when = cached
            if not subject and time.monotonic() - when >= 1.0 and topic not in self._lookups:
                self._lookups[topic] = asyncio.ensure_future(self._look_up(topic))
            return subject
        if topic not in self._lookups:
            self._lookups[topic] = asyncio.ensure_future(self._look_up(topic))
        return _UNKNOWN

    async def _look_up(self, topic: str) -> None:
        try:
            try:
                await self.owner_of(topic, fresh=True)
            except Exception as exc:  # the store is down: admins only this time, asked again later
                log.warning("stream hub: the owner of %s could not be read (%s); admins only for now", topic, exc)
                if not self._owner_cache.get(topic, ("",))[0]:
                    self._remember(topic, "")
        finally:
            self._lookups.pop(topic, None)
            self._release()

    def _release(self, *, final: bool = False) -> None:
        """Deliver the held messages whose owner is known now, each channel in its order (``final``:
        all of them; an owner still unknown shows them to admins only)."""
        for name in list(self._held):
            held = self._held[name]
            while held:
                event, _, type_, data, role, owner = held[0]
                if owner is _UNKNOWN:
                    cached = self._owner_cache.get(event.topic)
                    if cached is None and not final:
                        if event.topic not in self._lookups:  # forgotten meanwhile (a full cache): again
                            self._known_owner(event.topic)
                        break
                    owner = "" if cached is None else cached[0]
                held.popleft()
                try:
                    self._deliver(event, name, type_, data, role, owner)
                except Exception:
                    log.exception("stream hub: event %s on %s could not be routed", event.type, event.topic)
            if not held:
                del self._held[name]

    # -- ownership ---------------------------------------------------------------------------------

    def restrict_to_owners(self, owners: OwnerStore) -> None:
        """From now on, owned work's messages name their owner (call before ``start``; the server does
        when authentication is on — without it every client is the local admin)."""
        self._owners = owners

    def own(self, topic: str, subject: str) -> None:
        """``subject`` started the work behind ``topic``: what whoever starts work tells this process's
        hub as it records the owner (before the work starts), so its messages never wait for the store."""
        if topic.startswith(_OWNED_TOPICS) and subject:
            self._remember(topic, subject)

    def _remember(self, topic: str, subject: str) -> None:
        if topic not in self._owner_cache and len(self._owner_cache) >= self._max_channels * 10:
            self._owner_cache.pop(next(iter(self._owner_cache)))
        self._owner_cache[topic] = (subject, time.monotonic())

    async def owner_of(self, topic: str, *, fresh: bool = False) -> str | None:
        """Who started the work behind ``topic`` (``session:<id>``, ``execution:<id>``): the subject,
        ``""`` when none is recorded, None when the topic has no owner (or no owner store). The owner
        is recorded before the work starts, so one read answers; an unrecorded one (from the cache)
        is asked again at most once a second, or whenever ``fresh``."""
        if self._owners is None or not topic.startswith(_OWNED_TOPICS):
            return None
        cached = self._owner_cache.get(topic)
        if cached is not None and (cached[0] or time.monotonic() - cached[1] < 1.0) and not fresh:
            return cached[0]
        subject = await self._owners.get_owner(topic)
        if subject or cached is None or not cached[0]:  # a recorded owner is never taken back
            self._remember(topic, subject or "")
        return subject or self._owner_cache[topic][0]

    @property
    def shared(self) -> bool:
        """True when the numbering is the shared log's (several server processes), not this hub's."""
        return self.log is not None

    def accept(self, event: Event, owner: str | None = None) -> list[StreamMessage]:
        """Route one bus event onto its channels at once: number, buffer and hand it to the listeners.
        ``owner``: who started the work behind its topic (see ``owner_of``)."""
        self._fed(event)
        out = []
        for name, type_, data, role in self.registry.route(event):
            message = self._deliver(event, name, type_, data, role, owner)
            if message is not None:
                out.append(message)
        return out

    def _fed(self, event: Event) -> None:
        if self.market is not None and event.type == "bar_processed" and event.topic.startswith("session:"):
            self.market.fed(str(event.data.get("symbol", "")))

    def _deliver(
        self, event: Event, name: str, type_: str, data: dict[str, Any], role: str, owner: str | None
    ) -> StreamMessage | None:
        """One message of ``event`` on channel ``name``: numbered, buffered, handed to the listeners."""
        state = self._state(name)
        if self.log is None:
            state.seq += 1
        elif not self._numbered(name, state, event):
            return None
        message = StreamMessage(name, type_, state.seq, event.time, data, role, _owned(name, owner))
        state.buffer.append(message)
        for listener in list(state.listeners):
            listener(message)
        self.delivered += len(state.listeners)
        return message

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
