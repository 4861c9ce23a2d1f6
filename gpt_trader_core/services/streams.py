"""The stream use case: bus events → numbered channel messages, a bounded replay buffer per channel,
and fan-out to the listeners of each channel (the WebSocket server's connections).

Each channel's messages are numbered 1, 2, 3 … by this hub (``seq``), whatever bus topics they come
from, so a client that saw message 41 resumes with 42: from the replay buffer while it still holds
42, otherwise with a snapshot (the newest message of each key) followed by what comes next.
``export``/``restore`` carry the numbering and buffers across a restart of the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from gpt_trader_core.domain.events import StreamMessage
from gpt_trader_core.domain.records import Event
from gpt_trader_core.ports import EventBus
from gpt_trader_core.services.channels import Channel, ChannelRegistry

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
    ) -> None:
        self._bus = bus
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
        if self._task is None:
            return
        await self._subscription.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _pump(self) -> None:
        async for event in self._subscription:
            try:
                self.accept(event)
            except Exception:  # one bad event must not end every stream
                log.exception("stream hub: event %s on %s could not be routed", event.type, event.topic)

    # -- the model ---------------------------------------------------------------------------------

    def accept(self, event: Event) -> list[StreamMessage]:
        """Route one bus event onto its channels: number, buffer and hand it to the listeners."""
        out = []
        for name, type_, data, role in self.registry.route(event):
            state = self._state(name)
            state.seq += 1
            message = StreamMessage(name, type_, state.seq, event.time, data, role)
            state.buffer.append(message)
            for listener in list(state.listeners):
                listener(message)
            self.delivered += len(state.listeners)
            out.append(message)
        return out

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

        def stop() -> None:
            if listener in state.listeners:
                state.listeners.remove(listener)

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
        newest: dict[tuple[Any, ...], StreamMessage] = {}
        for message in state.buffer:
            newest[(message.type, *(str(message.data.get(k)) for k in _SNAPSHOT_KEYS))] = message
        return Resume(tuple(sorted(newest.values(), key=lambda m: m.seq)), missed=True, seq=state.seq)

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
                    {"type": m.type, "seq": m.seq, "ts": m.ts.isoformat(), "data": dict(m.data), "role": m.role}
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
                    state.buffer.append(StreamMessage(name, m["type"], int(m["seq"]), ts, m["data"], m["role"]))
            state.seq = max(state.seq, int(item["seq"]))
