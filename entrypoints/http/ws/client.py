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
from collections.abc import Mapping
from typing import Any

from sanic.server.websockets.impl import WebsocketImplProtocol
from websockets.protocol import State

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
    """Queue and writer of one connection; ``fmt`` is ``json`` or ``msgpack``."""

    def __init__(self, ws: WebsocketImplProtocol, fmt: str, *, send_queue: int, rate: float) -> None:
        self.ws = ws
        self.fmt = fmt
        self.limit = send_queue
        self.queue: deque[Frame | bytes] = deque()
        self.text = fmt == "json"
        self._busy = False
        self.wake = asyncio.Event()
        self.budget = RateBudget(rate)
        self.principal: Any = None
        self.closing: tuple[int, str] | None = None
        self.sent = 0
        self.conflated = 0
        # While a subscription catches up (awaits a replay), its live frames wait here, in order;
        # afterwards frames at or below the channel's floor (already sent in the replay) are skipped.
        self.held: dict[str, list[tuple[Frame, bool]]] = {}
        self.floors: dict[str, int] = {}
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write(), name="ws-writer")

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer

    def control(self, payload: Mapping[str, Any]) -> None:
        """A message for this client only (hello, pong, error, subscribed …), in order with the data."""
        data = encode(payload, self.fmt)
        if not self._write_now(data):
            self.queue.append(data)
            self.wake.set()

    def _write_now(self, data: bytes, framed: Frame | None = None) -> bool:
        """The fast path: nothing queued, nothing being written and the socket's buffer nearly empty:
        frame and write at once, without waking the writer task (what keeps 1,000 clients cheap)."""
        ws = self.ws
        io = ws.io_proto
        transport = io.transport if io is not None else None
        if (
            self.queue
            or self._busy
            or transport is None
            or ws.conn_mutex.locked()
            or ws.ws_proto.state is not State.OPEN
            or transport.is_closing()
            or transport.get_write_buffer_size() > FAST_PATH_BUFFER
        ):
            return False
        if framed is not None and not ws.ws_proto.extensions:
            transport.write(framed.framed(self.fmt))  # the frame every plain connection shares
            self.sent += 1
            return True
        if self.text:
            ws.ws_proto.send_text(data)
        else:
            ws.ws_proto.send_binary(data)
        for chunk in ws.ws_proto.data_to_send():
            if chunk:
                transport.write(chunk)
        self.sent += 1
        return True

    def offer(self, frame: Frame, conflate: bool) -> None:
        """Queue a data frame; never waits (called by the hub's fan-out)."""
        if self.closing is not None:
            return
        if self.held or self.floors:
            held = self.held.get(frame.channel)
            if held is not None:
                held.append((frame, conflate))
                return
            floor = self.floors.get(frame.channel)
            if floor is not None and frame.seq <= floor:
                return
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
        if not self._write_now(frame.encoded(self.fmt), frame):
            self.queue.append(frame)
            self.wake.set()

    def hold(self, channel: str) -> None:
        """Keep ``channel``'s live frames back until ``release`` (its replay goes first)."""
        self.held[channel] = []

    def release(self, channel: str, floor: int | None) -> None:
        """Send the held frames numbered above ``floor`` and skip any later one at or below it
        (``floor`` None: the subscription was refused, drop them)."""
        held = self.held.pop(channel, [])
        if floor is None:
            self.floors.pop(channel, None)
            return
        self.floors[channel] = floor
        for frame, conflate in held:
            self.offer(frame, conflate)

    def close_soon(self, code: int, reason: str) -> None:
        """Close without waiting for the queue: the close frame goes out even past a stalled send."""
        if self.closing is None:
            self.closing = (code, reason)
            log.info("websocket closed by the server (%d): %s", code, reason)
            self.queue.clear()
            self.ws.fail_connection(code, reason)
            self.wake.set()

    async def _write(self) -> None:
        try:
            while self.closing is None:
                if not self.queue:
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
            if ws.ws_proto.state is not State.OPEN:
                raise ConnectionError("the connection is closing")
            if self.text:
                ws.ws_proto.send_text(data)
            else:
                ws.ws_proto.send_binary(data)
            await ws.send_data(ws.ws_proto.data_to_send())  # type: ignore[no-untyped-call]
