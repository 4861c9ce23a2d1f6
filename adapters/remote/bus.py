"""A server's event stream behind the ``EventBus`` port: ``gpt-trader run --remote URL``'s live status line.

``subscribe`` maps bus topic patterns onto the server's WebSocket channels (``/ws/v1``, the channel
registry of ``gpt_trader_core.services.channels``) and turns each message back into the ``Event`` it was
on the server's bus; ``publish`` goes to the one kind of channel a client may publish on (``custom:NAME``).
Other topics are the server's own: asking for them is refused in one line, not silently empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from adapters.remote.client import RemoteClient
from adapters.remote.errors import RemoteError, RemoteUnreachableError
from gpt_trader_core.errors import InvalidParameterError

if TYPE_CHECKING:
    from gpt_trader_core.domain.records import Event

#: The WebSocket channels that carry the events of the bus topics ``session:*``.
SESSION_CHANNELS = ("portfolio:updates", "trades:live", "system:events")


def _channels(pattern: str) -> tuple[tuple[str, ...], str | None]:
    """The channels for a topic pattern, and the session id the events must carry (``session:ID``)."""
    family, _, key = pattern.partition(":")
    if family == "session" and key:
        return SESSION_CHANNELS, None if key == "*" else key
    if family == "custom" and key and key != "*":
        return (pattern,), None
    raise InvalidParameterError(
        f"a server's event stream offers the topics session:* (or session:ID) and custom:NAME, not {pattern!r}"
    )


def _bus_type(channel: str, wire: str, data: Mapping[str, Any]) -> str:
    """The bus event type behind a stream message's type (the channel registry's catalogue, read backwards):
    ``equity`` → ``portfolio_updated``, ``fill`` → ``fill_recorded``, ``order`` → ``order_<status>`` … A
    session's lifecycle message does not say which change it was: it stays ``session``."""
    from gpt_trader_core.domain.events import CATALOGUE

    kind = channel.partition(":")[0]
    sources = {s.source for s in CATALOGUE if s.type == wire and s.channel.value == kind and s.topic == "session"}
    if len(sources) == 1:
        return sources.pop()
    if wire == "order" and f"order_{data.get('status')}" in sources:
        return f"order_{data.get('status')}"
    return wire


class RemoteEventBus:
    """The server's bus as far as its WebSocket shows it (see the module docstring)."""

    def __init__(self, client: RemoteClient, max_queue: int = 1000) -> None:
        self._client = client
        self._max_queue = max_queue
        self._open: set[WebSocketSubscription] = set()

    async def publish(self, topic: str, type: str, data: Mapping[str, Any]) -> Event:
        from gpt_trader_core.domain.records import Event

        channels, _ = _channels(topic)
        if not topic.startswith("custom:"):
            raise InvalidParameterError(f"only custom:NAME topics take publications from a client, not {topic!r}")
        headers = await asyncio.to_thread(self._client.auth_headers)
        from websockets.asyncio.client import connect

        try:
            async with connect(self._client.ws_url, additional_headers=headers) as ws:
                await ws.send(
                    json.dumps({"action": "publish", "channel": channels[0], "type": type, "data": dict(data)})
                )
                while True:  # the server confirms (``published``) or refuses (``error``)
                    message = json.loads(await ws.recv())
                    if message.get("type") == "error":
                        raise InvalidParameterError(f"{self._client.url} refused: {message.get('message')}")
                    if message.get("type") == "published":
                        return Event(topic, type, dict(data))
        except OSError as exc:
            raise RemoteUnreachableError(f"cannot reach {self._client.ws_url}: {exc}") from None

    def subscribe(self, pattern: str = "*", *, max_queue: int = 1000) -> WebSocketSubscription:
        channels, session = _channels(pattern)
        subscription = WebSocketSubscription(self._client, channels, session, max_queue, self._open.discard)
        self._open.add(subscription)
        return subscription

    async def close(self) -> None:
        for subscription in list(self._open):
            await subscription.close()


class WebSocketSubscription:
    """One WebSocket connection subscribed to ``channels``; events in order, as the server's bus had them.
    It connects on first use; the connection ending (server stopped) ends the iteration."""

    def __init__(
        self, client: RemoteClient, channels: tuple[str, ...], session: str | None, max_queue: int, done: Any
    ) -> None:
        self._client = client
        self._channels = channels
        self._session = session
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(max_queue)
        self._reader: asyncio.Task[None] | None = None
        self._done = done
        self._error: BaseException | None = None

    def __aiter__(self) -> WebSocketSubscription:
        return self

    async def __anext__(self) -> Event:
        event = await self.get()
        if event is None:
            raise StopAsyncIteration
        return event

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event (``None``: the stream ended, or nothing within ``timeout``)."""
        if self._reader is None:
            self._reader = asyncio.create_task(self._read())
        try:
            event = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if event is None and self._error is not None:
            raise self._error
        return event

    async def _read(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        from gpt_trader_core.domain.records import Event

        try:
            headers = await asyncio.to_thread(self._client.auth_headers)
            async with connect(self._client.ws_url, additional_headers=headers) as ws:
                await ws.send(json.dumps({"action": "subscribe", "channels": list(self._channels)}))
                async for raw in ws:
                    message = json.loads(raw)
                    if message.get("type") == "error":
                        raise RemoteError(f"{self._client.url} refused the event stream: {message.get('message')}")
                    if "channel" not in message or "seq" not in message:
                        continue  # control messages (subscribed, ping)
                    data = dict(message.get("data") or {})
                    if self._session is not None and data.get("session_id") != self._session:
                        continue
                    topic = message["channel"] if message["channel"].startswith("custom:") else "session:"
                    if topic == "session:":
                        topic += str(data.get("session_id") or "")
                    stamp = str(message.get("ts") or "")
                    when = dt.datetime.fromisoformat(stamp.rstrip("Z")).replace(tzinfo=None) if stamp else None
                    kind = _bus_type(message["channel"], str(message["type"]), data)
                    seq = int(message["seq"])
                    event = Event(topic, kind, data, when, seq) if when else Event(topic, kind, data, seq=seq)
                    if self._queue.full():  # a slow reader: the oldest goes, as on the local bus
                        self._queue.get_nowait()
                    self._queue.put_nowait(event)
        except (OSError, WebSocketException) as exc:
            self._error = RemoteUnreachableError(f"the event stream of {self._client.url} ended: {exc}")
        except RemoteError as exc:
            self._error = exc
        finally:
            if self._queue.full():
                self._queue.get_nowait()
            self._queue.put_nowait(None)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._done(self)
