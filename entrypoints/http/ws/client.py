"""One connected client: its bounded send queue, its writer task and its message-rate budget.

The hub hands frames to ``offer`` synchronously (never waits); the writer task alone awaits the
socket, so a slow consumer delays only itself. When the queue is full, frames of a conflating
channel (market data) replace the ones still waiting for that channel (latest wins); a full queue
of an ordered channel closes the connection with 1008 and a reason saying how to resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from sanic.server.websockets.impl import WebsocketImplProtocol
from websockets.protocol import State

from entrypoints.http.ws.deflate import WatchedServerProtocol
from entrypoints.http.ws.frames import Frame, encode

log = logging.getLogger("gpt_trader.websocket")

POLICY = 1008
#: Bytes the socket may hold unsent for a frame still to be written at once, bypassing the queue.
FAST_PATH_BUFFER = 64 * 1024
TOO_SLOW = "too slow: {n} messages waiting on {channel}; reconnect and subscribe with last_seq to resume"


class RateBudget:
    """A token bucket: ``rate`` messages per second, bursts of ``2 * rate``; ``take`` says
    ``ok``, ``over`` (answer with an error) or ``abuse`` (one more second's worth beyond it: close)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(2.0, 2 * rate)
        self.tokens = self.burst
        self.at = time.monotonic()

    def take(self) -> str:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        self.tokens -= 1
        if self.tokens >= 0:
            return "ok"
        return "abuse" if self.tokens < -self.rate else "over"


class Client:
    """Queue and writer of one connection; ``fmt`` is ``json`` or ``msgpack``.

    Frames reach the socket in one of two ways, never both at once (so their order holds): written
    at once by ``offer``/``control`` while the client is ``ready`` (nothing queued, held back, being
    written or closing) and its transport has room, or queued for the writer task. A connection
    without extensions gets the frame bytes every such connection shares (``Frame.framed``), written
    straight to its transport: no per-client framing. The library itself writes only control frames
    (pongs, pings, the close handshake), each whole, so data frames never interleave with them; once
    the closing handshake starts (state no longer OPEN) nothing more is written here.
    """

    # Slots: the fan-out reads a few attributes of every client per message (and idle connections are many).
    __slots__ = (
        "_busy",
        "_writer",
        "budget",
        "closing",
        "conflated",
        "floors",
        "fmt",
        "held",
        "limit",
        "open",
        "plain",
        "principal",
        "proto",
        "queue",
        "ready",
        "sent",
        "shared",
        "text",
        "transport",
        "wake",
        "ws",
    )

    def __init__(self, ws: WebsocketImplProtocol, fmt: str, *, send_queue: int, rate: float) -> None:
        self.ws = ws
        self.proto = ws.ws_proto
        self.fmt = fmt
        self.limit = send_queue
        self.queue: deque[Frame | bytes] = deque()
        self.text = fmt == "json"
        # Sanic connects the protocol before the handler runs; the transport stays for the connection.
        io = ws.io_proto
        self.transport: Any = io.transport if io is not None else None
        # Extensions (permessage-deflate) transform each frame per connection: those go through
        # websockets' protocol; the others share the pre-built frame bytes, written straight to the
        # transport when the protocol tells us it left OPEN (``open``), so no per-message state check.
        proto = self.proto
        self.open = proto.state is State.OPEN
        watched = isinstance(proto, WatchedServerProtocol)
        if isinstance(proto, WatchedServerProtocol):
            proto.on_leave_open = self._left_open
        self.plain = watched and not proto.extensions and self.transport is not None
        self._busy = False
        self.wake = asyncio.Event()
        self.budget = RateBudget(rate)
        self.principal: Any = None
        self.closing: tuple[int, str] | None = None
        self.sent = 0  # frames framed for this connection alone (controls, queued frames, compressed ones)
        self.shared = 0  # frames written as the bytes every plain connection shares (the fast path)
        self.conflated = 0
        # While a subscription catches up (awaits a replay), its live frames wait here, in order;
        # afterwards frames at or below the channel's floor (already sent in the replay) are skipped.
        self.held: dict[str, list[tuple[Frame, bool]]] = {}
        self.floors: dict[str, int] = {}
        # True while frames may be written at once: nothing queued, held, floored, being written or
        # closing. Kept up to date by every change of those (``_settle``), so the fan-out checks one flag.
        self.ready = self.open
        self._writer: asyncio.Task[None] | None = None

    def _settle(self) -> None:
        self.ready = self.open and not (
            self.queue or self._busy or self.held or self.floors or self.closing is not None
        )

    def _left_open(self) -> None:
        """The protocol left OPEN (closing handshake, failure): no data frame may follow its close."""
        self.open = False
        self.ready = False

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write(), name="ws-writer")

    async def stop(self) -> None:
        if isinstance(self.proto, WatchedServerProtocol):
            self.proto.on_leave_open = None  # the protocol and this client refer to each other: let go
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer

    def control(self, payload: Mapping[str, Any]) -> None:
        """A message for this client only (hello, pong, error, subscribed …), in order with the data."""
        self.send_bytes(encode(payload, self.fmt))

    def send_bytes(self, data: bytes) -> None:
        """An encoded message for this client only, in order with the data."""
        if not (self.ready and self._write_now(data)):
            self._enqueue(data)

    def replay(self, frames: list[Frame]) -> None:
        """A resumed subscription's missed frames, before anything offered after them."""
        if frames:
            self.queue.extend(frames)
            self.ready = False
            self.wake.set()

    def forget(self, channel: str) -> None:
        """Unsubscribed: no floor for ``channel`` any more."""
        if self.floors.pop(channel, None) is not None:
            self._settle()

    def _enqueue(self, item: Frame | bytes) -> None:
        self.queue.append(item)
        self.ready = False
        self.wake.set()

    def _room(self) -> Any:
        """The transport when a frame may be written at once: open, and at most ``FAST_PATH_BUFFER``
        bytes waiting in it (beyond that the socket is not keeping up: queue, where the policy applies)."""
        transport = self.transport
        if (
            transport is None
            or self.proto.state is not State.OPEN
            or transport.is_closing()
            or transport.get_write_buffer_size() > FAST_PATH_BUFFER
        ):
            return None
        return transport

    def _write_now(self, data: bytes, framed: Frame | None = None) -> bool:
        """Frame and write at once, without waking the writer task (call only while ``ready``)."""
        transport = self._room()
        if transport is None:
            return False
        if framed is not None and self.plain:
            transport.write(framed.framed(self.fmt))  # the frame every plain connection shares
            self.shared += 1
            return True
        if self.text:
            self.proto.send_text(data)
        else:
            self.proto.send_binary(data)
        for chunk in self.proto.data_to_send():
            if chunk:
                transport.write(chunk)
        self.sent += 1
        return True

    def offer(self, frame: Frame, conflate: bool) -> None:
        """Send or queue a data frame; never waits (``fan_out`` is the same for many clients)."""
        if self.ready and self.plain:  # the common case, kept short: 1,000 clients are 1,000 calls per message
            transport = self.transport
            # ``ready`` covers the protocol's state (``_left_open``); the transport says if it has room.
            if transport.get_write_buffer_size() <= FAST_PATH_BUFFER and not transport.is_closing():
                transport.write(frame.framed(self.fmt))
                self.shared += 1
                return
        self._offer(frame, conflate)

    def _offer(self, frame: Frame, conflate: bool) -> None:
        if self.closing is not None:
            return
        if self.held or self.floors:
            held = self.held.get(frame.channel)
            if held is not None:
                held.append((frame, conflate))
                return
            floor = self.floors.get(frame.channel)
            if floor is not None:
                if frame.seq <= floor:
                    return
                # Live numbers only grow: the first frame above the floor is the last one to compare.
                del self.floors[frame.channel]
                self._settle()
        if len(self.queue) >= self.limit:
            if not conflate:
                self.close_soon(POLICY, TOO_SLOW.format(n=len(self.queue), channel=frame.channel))
                return
            # Latest wins: drop what is still waiting for this channel, keep everything else in order.
            before = len(self.queue)
            self.queue = deque(f for f in self.queue if not (isinstance(f, Frame) and f.channel == frame.channel))
            self.conflated += before - len(self.queue)
            if len(self.queue) >= self.limit:
                self.close_soon(POLICY, TOO_SLOW.format(n=len(self.queue), channel=frame.channel))
                return
        if not (self.ready and self._write_now(frame.encoded(self.fmt), frame)):
            self._enqueue(frame)

    def hold(self, channel: str) -> None:
        """Keep ``channel``'s live frames back until ``release`` (its replay goes first)."""
        self.held[channel] = []
        self.ready = False

    def release(self, channel: str, floor: int | None) -> None:
        """Send the held frames numbered above ``floor`` and skip any later one at or below it
        (``floor`` None: the subscription was refused, drop them)."""
        held = self.held.pop(channel, [])
        if floor is None:
            self.floors.pop(channel, None)
            self._settle()
            return
        self.floors[channel] = floor
        self._settle()
        for frame, conflate in held:
            self._offer(frame, conflate)

    def close_soon(self, code: int, reason: str) -> None:
        """Close without waiting for the queue: the close frame goes out even past a stalled send."""
        if self.closing is None:
            self.closing = (code, reason)
            self.ready = False
            log.info("websocket closed by the server (%d): %s", code, reason)
            self.queue.clear()
            self.ws.fail_connection(code, reason)
            self.wake.set()

    async def _write(self) -> None:
        try:
            while self.closing is None:
                if not self.queue:
                    self._settle()  # drained: offers write at once again
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                item = self.queue.popleft()
                self._busy = True
                try:
                    await self._send(item.encoded(self.fmt) if isinstance(item, Frame) else item)
                finally:
                    self._busy = False
                self.sent += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the peer went away: the handler's receive loop ends the connection
            log.debug("websocket writer stopped: %s", exc)

    async def _send(self, data: bytes) -> None:
        """Sanic's ``send`` for already encoded bytes (text or binary by format); waits for the socket."""
        ws = self.ws
        async with ws.conn_mutex:
            if self.proto.state is not State.OPEN:
                raise ConnectionError("the connection is closing")
            if self.text:
                self.proto.send_text(data)
            else:
                self.proto.send_binary(data)
            await ws.send_data(self.proto.data_to_send())  # type: ignore[no-untyped-call]


def fan_out(clients: Iterable[Client], frame: Frame, conflate: bool) -> None:
    """``Client.offer`` of one frame to each of ``clients``, inlined: a 1,000-client market channel runs
    this loop ten times a second. Writing is most of its cost (the kernel's TCP send, and on loopback the
    receiver's path too); a method call and a format lookup per client cost ~5 % more, so the fast path
    is spelled out here, with the frame bytes of each format fetched once. Same decisions as ``offer``."""
    text: bytes | None = None
    binary: bytes | None = None
    for client in clients:
        if client.ready and client.plain:
            transport = client.transport
            if transport.get_write_buffer_size() <= FAST_PATH_BUFFER and not transport.is_closing():
                if client.text:
                    if text is None:
                        text = frame.framed("json")
                    transport.write(text)
                else:
                    if binary is None:
                        binary = frame.framed("msgpack")
                    transport.write(binary)
                client.shared += 1
                continue
        client._offer(frame, conflate)
