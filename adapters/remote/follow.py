"""One channel of a server's WebSocket (``/ws/v1``), in order and without gaps: how ``--remote`` follows
the long work it started there (``workflow:EXECUTION_ID``, ``optimize:STUDY_ID``).

``ChannelStream`` authenticates the handshake with the client's credentials (API key or stored login),
subscribes with ``last_seq`` (0 the first time: the server replays the channel from its first message,
so a stream that connects after the work began misses nothing; ``None``: from the next message, the
number the server confirms the subscription with — for a shared channel such as ``system:events``,
whose past is other work's), and after a dropped connection
reconnects and subscribes again with the last number it saw — the server replays what came meanwhile
(or a snapshot when too much did), and a message already seen is never handed out twice. When the
stream cannot be had at all (refused handshake, nothing listening, every reconnection failed) ``get``
raises ``StreamUnavailableError``: the caller then follows the work by polling its REST status.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.remote.client import RemoteClient
from adapters.remote.errors import RemoteError

#: Seconds to wait before each reconnection attempt after a dropped (or refused) connection; once they
#: are used up without a subscription the stream is unavailable.
RECONNECT_DELAYS = (0.05, 0.25, 0.5, 1.0, 2.0)
#: Seconds for the WebSocket handshake.
OPEN_TIMEOUT = 5.0
#: Errors of the server that no reconnection can cure: give up at once.
_FINAL_CODES = frozenset({"forbidden", "unknown_channel", "unauthenticated", "bad_message", "unknown_action"})


class StreamUnavailableError(RemoteError):
    """The server's WebSocket cannot be used (say why); the work is still followed over REST."""


class ChannelStream:
    """The data messages (``{"channel", "type", "seq", "ts", "data"}``) of one channel, in ``seq`` order,
    each once. ``reconnects`` counts the connections after the first (tests and benchmarks read it)."""

    def __init__(
        self,
        client: RemoteClient,
        channel: str,
        *,
        last_seq: int | None = 0,
        delays: Sequence[float] = RECONNECT_DELAYS,
        open_timeout: float = OPEN_TIMEOUT,
    ) -> None:
        self._client = client
        self.channel = channel
        self.last_seq = last_seq
        self.reconnects = 0
        self._delays = tuple(delays)
        self._open_timeout = open_timeout
        self._queue: asyncio.Queue[Mapping[str, Any] | BaseException] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._ever_subscribed = False
        self._subscribed = asyncio.Event()

    async def open(self) -> None:
        """Connect and subscribe now (``get`` otherwise does on first use): returns once the server has
        confirmed the subscription — what is published from then on will be handed out — or raises
        ``StreamUnavailableError``."""
        reader = self._start()
        confirmed = asyncio.ensure_future(self._subscribed.wait())
        try:
            await asyncio.wait({confirmed, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            confirmed.cancel()
        if not self._subscribed.is_set():  # the reader gave up: its answer is queued
            await self.get()

    def _start(self) -> asyncio.Task[None]:
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(), name=f"remote-stream-{self.channel}")
        return self._reader

    async def get(self, timeout: float | None = None) -> Mapping[str, Any] | None:
        """The next message (``None``: nothing within ``timeout`` seconds); ``StreamUnavailableError``
        once the stream is gone for good."""
        self._start()
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if isinstance(item, BaseException):
            self._queue.put_nowait(item)  # asked again: the same answer
            raise item
        return item

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    # ---- the connection ----

    async def _read(self) -> None:
        from websockets.exceptions import InvalidStatus, WebSocketException

        attempt = 0
        while True:
            try:
                await self._connection()
                why = "the server closed the connection"
            except StreamUnavailableError as refused:
                self._queue.put_nowait(refused)
                return
            except InvalidStatus as exc:  # the handshake was answered with HTTP (no WebSocket there, or refused)
                status = exc.response.status_code
                if not self._ever_subscribed or status in (401, 403, 404):
                    self._queue.put_nowait(self._unavailable(f"the handshake was answered with HTTP {status}"))
                    return
                why = f"the handshake was answered with HTTP {status}"
            except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
                why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if self._subscribed_now:
                attempt = 0  # this connection worked: the attempts start again
            if attempt >= len(self._delays):
                self._queue.put_nowait(self._unavailable(why))
                return
            await asyncio.sleep(self._delays[attempt])
            attempt += 1
            self.reconnects += 1

    async def _connection(self) -> None:
        """One connection: subscribe from ``last_seq``, then queue what comes until it ends."""
        from websockets.asyncio.client import connect

        self._subscribed_now = False
        headers = await asyncio.to_thread(self._client.auth_headers)
        async with connect(
            self._client.ws_url, additional_headers=headers, open_timeout=self._open_timeout, max_size=None
        ) as ws:
            subscribe: dict[str, Any] = {"action": "subscribe", "channels": [self.channel]}
            if self.last_seq is not None:
                subscribe["last_seq"] = {self.channel: self.last_seq}
            await ws.send(json.dumps(subscribe))
            async for raw in ws:
                self._handle(json.loads(raw))

    def _handle(self, message: Mapping[str, Any]) -> None:
        kind = message.get("type")
        if kind == "subscribed":
            if self.last_seq is None:  # from the next message: the number the channel stands at now
                self.last_seq = int((message.get("seq") or {}).get(self.channel) or 0)
            self._subscribed_now = self._ever_subscribed = True
            self._subscribed.set()
        elif kind == "error":
            code, text = str(message.get("code")), str(message.get("message"))
            if code in _FINAL_CODES:
                raise StreamUnavailableError(f"{self._client.url} refused to stream {self.channel}: {text}")
        elif kind == "snapshot" and message.get("channel") == self.channel:
            # More was missed than the server keeps: the newest message of each kind, then what follows.
            for item in (message.get("data") or {}).get("messages") or ():
                self._offer(item)
            self.last_seq = max(self.last_seq or 0, int(message.get("seq") or 0))
        elif message.get("channel") == self.channel and "seq" in message:
            self._offer(message)

    def _offer(self, message: Mapping[str, Any]) -> None:
        seq = int(message["seq"])
        # A replayed message already handed out is not handed out twice.
        if self.last_seq is None or seq > self.last_seq:
            self.last_seq = seq
            self._queue.put_nowait(message)

    def _unavailable(self, why: str) -> StreamUnavailableError:
        return StreamUnavailableError(f"the WebSocket stream of {self._client.ws_url} is unavailable ({why})")

    _subscribed_now = False


def when(message: Mapping[str, Any]) -> Any:
    """A message's ``ts`` as the naive UTC datetime the server's bus stamped (``None`` when it has none)."""
    import datetime as dt

    stamp = str(message.get("ts") or "")
    if not stamp:
        return None
    return dt.datetime.fromisoformat(stamp.rstrip("Z")).replace(tzinfo=None)
